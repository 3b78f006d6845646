package arrsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/arrops/arrops/internal/syncbuf"
)

// TestOutputFiles checks the result.json and info.json the simulator writes
// beside the .arrAsset: ARR's shapes, the settings file applied and visible,
// warnings for a glTF's missing textures, a failure's error entry, and no
// result.json when the output cannot be written.
func TestOutputFiles(t *testing.T) {
	st := newStorage(t)
	uri := st.container("outputs")
	st.upload("outputs", "Input/plant.fbx", sampleGLB)
	st.upload("outputs", "Input/plant.ConversionSettings.json", []byte(`{"scaling": 0.01, "recenterToOrigin": true}`))
	st.upload("outputs", "Input/valve.fbx", sampleGLB)
	st.upload("outputs", "Input/bad.fbx", sampleGLB)
	st.upload("outputs", "Input/bad.ConversionSettings.json", []byte(`[1,2]`))
	st.upload("outputs", "Input/duck.gltf", []byte(`{"asset":{"version":"2.0"},"buffers":[{"uri":"duck.bin"}],"images":[{"uri":"duck%20color.png"},{"uri":"gone.png"}]}`))
	st.upload("outputs", "Input/duck.bin", []byte{1, 2, 3})
	st.upload("outputs", "Input/duck color.png", []byte{1})
	st.upload("outputs", "Input/nobin.gltf", []byte(`{"buffers":[{"uri":"nobin.bin"}]}`))
	good := st.sas("outputs", rwlc)

	type result = []map[string]any
	tests := []struct {
		rel, status string
		result      string
		warnings    int
		errorTitle  string
		settings    map[string]any
	}{
		{"plant.fbx", convSucceeded, "succeeded", 0, "", map[string]any{"scaling": 0.01, "recenterToOrigin": true}},
		{"valve.fbx", convSucceeded, "succeeded", 0, "", map[string]any{}},
		{"bad.fbx", convFailed, "failed", 0, "Invalid conversion settings", nil},
		{"duck.gltf", convSucceeded, "succeeded with warnings", 1, "", map[string]any{}},
		{"nobin.gltf", convFailed, "failed", 0, "Missing buffer", nil},
		{"missing.fbx", convFailed, "failed", 0, "Input file not found", nil},
	}
	var logs syncbuf.Buffer
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			id := fmt.Sprintf("out-%d", i)
			if r := h.do("PUT", "/conversions/"+id, convBody(uri, tc.rel, good, good, "Output")); r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			m := finish(t, h, id)
			if m["status"] != tc.status {
				t.Fatalf("status %v, want %s", m["status"], tc.status)
			}
			base := "Output/" + strings.TrimSuffix(tc.rel, tc.rel[strings.LastIndex(tc.rel, "."):])
			b, err := st.download("outputs", base+".result.json")
			if err != nil {
				t.Fatalf("result.json: %v", err)
			}
			var res result
			if err := json.Unmarshal(b, &res); err != nil || len(res) < 2 {
				t.Fatalf("result.json %s: %v", b, err)
			}
			if res[0]["conversionId"] == nil || res[len(res)-1]["result"] != tc.result {
				t.Errorf("result.json %s, want conversionId first and result %q last", b, tc.result)
			}
			warnings, errTitle := 0, ""
			for _, e := range res {
				if e["warning"] != nil {
					warnings++
				}
				if e["error"] != nil {
					errTitle, _ = e["title"].(string)
				}
			}
			if warnings != tc.warnings || errTitle != tc.errorTitle {
				t.Errorf("result.json %s: %d warnings, error %q; want %d, %q", b, warnings, errTitle, tc.warnings, tc.errorTitle)
			}
			info, err := st.download("outputs", base+".info.json")
			if tc.settings == nil {
				if err == nil {
					t.Errorf("a failed conversion wrote info.json: %s", info)
				}
				return
			}
			if err != nil {
				t.Fatalf("info.json: %v", err)
			}
			var doc struct {
				Files              map[string]string `json:"files"`
				ConversionSettings map[string]any    `json:"conversionSettings"`
				InputStatistics    map[string]any    `json:"inputStatistics"`
				OutputInfo         map[string]any    `json:"outputInfo"`
				OutputStatistics   struct {
					RecenteringOffset []float64 `json:"recenteringOffset"`
					BoundingBox       struct{ Min, Max []float64 }
				} `json:"outputStatistics"`
			}
			if err := json.Unmarshal(info, &doc); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(doc.ConversionSettings, tc.settings) || doc.Files["input"] != tc.rel ||
				doc.InputStatistics["numVertices"] == nil || doc.OutputInfo["conversionHash"] == nil {
				t.Errorf("info.json %s", info)
			}
			bb := doc.OutputStatistics.BoundingBox
			if len(bb.Min) != 3 || len(bb.Max) != 3 {
				t.Fatalf("bounding box %+v", bb)
			}
			for k := range 3 {
				size := bb.Max[k] - bb.Min[k]
				if tc.rel == "plant.fbx" {
					// scaling 0.01 and recentred: a box of at most 33 cm around the origin
					if size <= 0 || size > 0.33 || math.Abs(bb.Max[k]+bb.Min[k]) > 1e-3 || len(doc.OutputStatistics.RecenteringOffset) != 3 {
						t.Errorf("axis %d: box %v..%v offset %v, want the settings applied", k, bb.Min[k], bb.Max[k], doc.OutputStatistics.RecenteringOffset)
					}
				} else if size < 1 {
					t.Errorf("axis %d: unscaled box %v..%v is under 1 m", k, bb.Min[k], bb.Max[k])
				}
			}
		})
	}

	// A write SAS that cannot write: the conversion fails before any output,
	// so there is no result.json (as with ARR).
	readOnly := st.sas("outputs", rwlc)
	readOnly = strings.Replace(readOnly, "sig=", "sig=AAAA", 1)
	if r := h.do("PUT", "/conversions/denied", convBody(uri, "valve.fbx", good, readOnly, "Denied")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if m := finish(t, h, "denied"); m["status"] != convFailed {
		t.Fatalf("denied output: %v", m)
	}
	if b, err := st.download("outputs", "Denied/valve.result.json"); err == nil {
		t.Errorf("result.json written without write access: %s", b)
	}
	if strings.Contains(logs.String(), "sig=") {
		t.Errorf("a SAS reached the log")
	}
}
