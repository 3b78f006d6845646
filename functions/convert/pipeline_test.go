package convert

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/functest"
)

// TestSettingsAndDetails drives the function, the watch sweep and the
// convert command's Request against Azurite and the simulator: a settings
// file is recognised (no conversion of its own), validated when its model
// is converted, applied by ARR (visible in info.json), and the result
// details are recorded and announced; invalid settings reject the
// conversion with the field; the deprecated folder-wide file is accepted
// with a note; and a request converts an existing blob again.
func TestSettingsAndDetails(t *testing.T) {
	e := newEnv(t, map[string]string{"ARR_INPUT_PREFIX": "models/", "ARR_OUTPUT_PREFIX": "assets"}, arrsim.Options{ConversionAfter: time.Minute})
	deliver := func(path string, data []byte) string {
		t.Helper()
		etag := e.upload("arr-input", path, data)
		if code := e.deliver(functest.BlobEvent{Container: "arr-input", Path: path, ETag: etag, Size: int64(len(data))}.JSON(t)); code != http.StatusOK {
			t.Fatalf("deliver %s: HTTP %d\n%s", path, code, e.logs)
		}
		return ConversionID("arr-input", path, strings.Trim(etag, `"`))
	}

	// Side files first: their uploads start nothing and record nothing.
	deliver("models/plant.ConversionSettings.json", []byte(`{"scaling":0.01,"recenterToOrigin":true,"sceneGraphMode":"static"}`))
	deliver("models/plant.MaterialOverrides.json", []byte(`[{"name":"steel","unlit":true}]`))
	deliver("models/bad.ConversionSettings.json", []byte(`{"scaling":0.01,"sceneGraph":"static"}`))
	deliver("models/old/conversionSettings.json", []byte(`{"axis":["+x","+z","-y"]}`))
	if n := len(e.records()); n != 0 || len(e.tap.bodies()) != 0 {
		t.Fatalf("side file uploads made %d records and %d ARR calls", n, len(e.tap.bodies()))
	}

	plant := deliver("models/plant.fbx", functest.SampleGLB)
	bad := deliver("models/bad.fbx", functest.SampleGLB)
	old := deliver("models/old/valve.glb", functest.SampleGLB)
	if rec := e.record(plant); rec.Status != arrops.ConversionNotStarted || rec.SettingsFile != "models/plant.ConversionSettings.json" {
		t.Fatalf("plant: %+v", rec)
	}
	rec := e.record(bad)
	if rec.Status != arrops.ConversionRejected || rec.ErrorCode != RejectInvalidSettings ||
		!strings.HasPrefix(rec.ErrorMessage, "models/bad.ConversionSettings.json: sceneGraph: unknown option") {
		t.Fatalf("bad settings: %+v", rec)
	}
	if rec := e.record(old); rec.SettingsFile != "models/old/conversionSettings.json" || !strings.Contains(rec.Note, "deprecated models/old/conversionSettings.json: rename it to valve.ConversionSettings.json") {
		t.Fatalf("legacy settings: %+v", rec)
	}
	if n := len(e.tap.bodies()); n != 2 {
		t.Fatalf("%d ARR create calls, want 2 (the rejected one makes none)", n)
	}

	// ARR ends; the sweep records the details and announces them.
	e.sim.Advance(time.Minute)
	e.now = e.now.Add(70 * time.Second)
	e.sweep()
	rec = e.record(plant)
	d := rec.Details
	if rec.Status != arrops.ConversionSucceeded || d == nil || d.Result != arrops.ResultSucceeded || d.Statistics == nil ||
		d.Statistics.Vertices == 0 || d.Statistics.BoundingBox == nil || string(d.Settings) != `{"recenterToOrigin":true,"scaling":0.01,"sceneGraphMode":"static"}` {
		t.Fatalf("plant after the sweep: %+v details %+v", rec, d)
	}
	for k := range 3 {
		bb := d.Statistics.BoundingBox
		if size := bb.Max[k] - bb.Min[k]; size <= 0 || size > 0.33 {
			t.Errorf("axis %d: %v..%v, want the box scaled by 0.01", k, bb.Min[k], bb.Max[k])
		}
	}
	evs := e.events()
	byID := map[string]arrops.Event{}
	for _, ev := range evs {
		byID[ev.ConversionID] = ev
	}
	if ev := byID[plant]; ev.Type != arrops.EventConversionSucceeded || ev.SettingsFile != rec.SettingsFile || ev.Details == nil ||
		ev.Details.Result != arrops.ResultSucceeded || ev.Details.Statistics.Triangles != d.Statistics.Triangles {
		t.Errorf("plant event %+v", ev)
	}
	if ev := byID[bad]; ev.Type != arrops.EventConversionFailed || ev.ErrorCode != RejectInvalidSettings {
		t.Errorf("bad settings event %+v, want ConversionFailed %s (a rejection is announced)", ev, RejectInvalidSettings)
	}
	if len(evs) != 3 {
		t.Errorf("%d events, want 3 (two conversions ARR ran, one rejection)", len(evs))
	}

	// A request converts the existing blob again: a second conversion of
	// the same blob; a redelivery of the same command is that conversion.
	req := functions.ConvertRequest{Input: "models/plant.fbx", RequestedBy: "pipeline", MessageID: "msg-1", ReplyTo: "pipeline-replies"}
	again, created, err := e.deps.Request(e.ctx, req)
	if err != nil || !created || again.ID == plant || again.Status != arrops.ConversionNotStarted || again.InputETag != rec.InputETag ||
		again.OutputPath != "assets/plant.arrAsset" || again.RequestedBy != "pipeline" || again.SettingsFile != rec.SettingsFile {
		t.Fatalf("request: %+v created %t err %v", again, created, err)
	}
	if dup, created, err := e.deps.Request(e.ctx, req); err != nil || created || dup.ID != again.ID {
		t.Fatalf("redelivered request: %+v created %t err %v", dup, created, err)
	}
	other := req
	other.MessageID, other.Output = "msg-2", "assets/v2/plant-low.arrAsset"
	if v2, created, err := e.deps.Request(e.ctx, other); err != nil || !created || v2.OutputPath != other.Output {
		t.Fatalf("request with output: %+v created %t err %v", v2, created, err)
	}
	for _, tc := range []struct{ input, code string }{
		{"models/missing.fbx", RejectInputNotFound},
		{"models/bad.fbx", RejectInvalidSettings},
		{"drafts/plant.fbx", RejectOutsideInput},
		{"models/plant.ConversionSettings.json", RejectSideFile},
	} {
		c, created, err := e.deps.Request(e.ctx, functions.ConvertRequest{Input: tc.input, MessageID: "msg-" + tc.input})
		if err != nil || !created || c.Status != arrops.ConversionRejected || c.ErrorCode != tc.code {
			t.Errorf("request %s: %+v created %t err %v, want Rejected %s", tc.input, c, created, err, tc.code)
		}
	}
	if n := len(e.tap.bodies()); n != 4 {
		t.Errorf("%d ARR create calls, want 4", n)
	}
}

// TestReadConversionDetails reads output files from Azurite as the app does:
// ARR's documented examples, a failure without result.json (ARR's error
// stays the record's), and files that are not ARR's.
func TestReadConversionDetails(t *testing.T) {
	e := newEnv(t, nil, arrsim.Options{})
	e.upload("arr-output", "docs/buggy.result.json", readFixture(t, "buggy.result.json"))
	e.upload("arr-output", "docs/buggy.info.json", readFixture(t, "buggy.info.json"))
	e.upload("arr-output", "junk/pump.result.json", []byte("<html>"))
	tests := []struct {
		name, output string
		status       arrops.ConversionStatus
		want         func(*arrops.ConversionDetails) bool
	}{
		{"ARR's examples", "docs/buggy.arrAsset", arrops.ConversionSucceeded, func(d *arrops.ConversionDetails) bool {
			return d.Result == arrops.ResultSucceededWithWarnings && len(d.Warnings) == 1 && d.Statistics.Triangles == 308306 &&
				string(d.Settings) == `{"recenterToOrigin":true}` && d.Note == ""
		}},
		{"failure without result.json", "gone/valve.arrAsset", arrops.ConversionFailed, func(d *arrops.ConversionDetails) bool {
			return d.Result == "" && d.Note == "no valve.result.json in the output: ARR failed before converting (see the error code); no valve.info.json in the output"
		}},
		{"not ARR's format", "junk/pump.arrAsset", arrops.ConversionSucceeded, func(d *arrops.ConversionDetails) bool {
			return d.Result == "" && strings.Contains(d.Note, "not a JSON array") && strings.Contains(d.Note, "no pump.info.json")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &arrops.Conversion{ID: "c", OutputContainer: "arr-output", OutputPath: tt.output, Status: tt.status}
			d, err := functions.ReadConversionDetails(e.ctx, e.reader, c)
			if err != nil {
				t.Fatal(err)
			}
			if d == nil || !tt.want(d) {
				t.Errorf("details %+v", d)
			}
		})
	}
}

// readFixture reads one of ARR's example output files from functions/testdata.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
