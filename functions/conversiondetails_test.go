package functions_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
)

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestParseResultFile reads result.json files: ARR's documented example
// (testdata/buggy.result.json, from "Get information about conversions"),
// a failure with an internal warning, a plain success, one with more
// warnings than a record keeps, and files that are not ARR's format.
func TestParseResultFile(t *testing.T) {
	many := make([]string, arrops.MaxConversionMessages)
	for i := range many {
		many[i] = fmt.Sprintf("4004 Missing texture (texture=t%03d.png)", i)
	}
	tests := []struct {
		name, file, data string
		want             *arrops.ConversionDetails
		err              string
	}{
		{name: "ARR's example", file: "buggy.result.json", want: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings,
			Warnings: []string{"4004 Missing texture (material=buggy_col, texture=buggy_baseColor.png)"}, WarningsTotal: 1}},
		{name: "failure", file: "failed.result.json", want: &arrops.ConversionDetails{Result: arrops.ResultFailed,
			Warnings: []string{"internal 2001 Unknown node attribute"}, WarningsTotal: 1,
			Errors: []string{"5001 Invalid input (file=pump.fbx, reason=unexpected end of file)"}, ErrorsTotal: 1}},
		{name: "success", file: "succeeded.result.json", want: &arrops.ConversionDetails{Result: arrops.ResultSucceeded}},
		{name: "bounded", file: "many-warnings.result.json", want: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings,
			Warnings: many, WarningsTotal: 25}},
		{name: "long message clipped", data: `[{"error":"1","title":"` + strings.Repeat("é", 400) + `"},{"result":"failed"}]`,
			want: &arrops.ConversionDetails{Result: arrops.ResultFailed, Errors: []string{"1 " + strings.Repeat("é", 147) + "…"}, ErrorsTotal: 1}},
		{name: "an object, not ARR's array", data: `{"result":"succeeded"}`, err: "not a JSON array"},
		{name: "no result entry", data: `[{"warning":"1"}]`, err: "no result entry"},
		{name: "not JSON", data: `<html>`, err: "not a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.file != "" {
				data = fixture(t, tt.file)
			}
			got, err := functions.ParseResultFile(data)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			for _, m := range append(got.Warnings, got.Errors...) {
				if len(m) > arrops.MaxConversionMessageLength {
					t.Errorf("message of %d bytes kept", len(m))
				}
			}
		})
	}
}

// TestParseInfoFile reads ARR's documented info.json example: the input's
// vertices, triangles (numFaces) and materials, the output bounding box, and
// the settings ARR applied.
func TestParseInfoFile(t *testing.T) {
	tests := []struct {
		name, data string
		want       arrops.ConversionDetails
		err        bool
	}{
		{name: "ARR's example", want: arrops.ConversionDetails{Settings: json.RawMessage(`{"recenterToOrigin":true}`),
			Statistics: &arrops.ConversionStatistics{Vertices: 245673, Triangles: 308306, Materials: 149,
				BoundingBox: &arrops.BoundingBox{Min: [3]float64{-43.52, -61.775, -79.6416}, Max: [3]float64{43.52, 61.775, 79.6416}}}}},
		{name: "no statistics", data: `{"files":{"input":"a.fbx"}}`},
		{name: "malformed bounding box ignored", data: `{"outputStatistics":{"boundingBox":{"min":[1,2],"max":[3,4,5]}}}`},
		{name: "settings too long", data: `{"conversionSettings":{"metadataKeys":["` + strings.Repeat("k", 3000) + `"]}}`,
			want: arrops.ConversionDetails{Note: "the applied settings (3021 bytes of JSON) are too long to keep; see info.json"}},
		{name: "not an object", data: `[]`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.data == "" {
				data = fixture(t, "buggy.info.json")
			}
			var got arrops.ConversionDetails
			err := functions.ParseInfoFile(data, &got)
			if (err != nil) != tt.err {
				t.Fatalf("err %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// FuzzOutputFiles feeds arbitrary bytes to both output-file decoders: they
// must not panic and must keep what they keep bounded.
func FuzzOutputFiles(f *testing.F) {
	for _, name := range []string{"buggy.result.json", "failed.result.json", "many-warnings.result.json", "buggy.info.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`[{"warning":{"x":1},"details":[1]},{"result":7}]`))
	f.Add([]byte(`{"inputStatistics":{"numVertices":-1e300},"conversionSettings":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := functions.ParseResultFile(b); d != nil {
			if len(d.Warnings) > arrops.MaxConversionMessages || len(d.Errors) > arrops.MaxConversionMessages {
				t.Fatalf("unbounded: %d warnings, %d errors", len(d.Warnings), len(d.Errors))
			}
			_ = err
		}
		var d arrops.ConversionDetails
		if functions.ParseInfoFile(b, &d) == nil && len(d.Settings) > arrops.MaxConversionSettingsJSON {
			t.Fatalf("settings of %d bytes kept", len(d.Settings))
		}
	})
}

// TestConversionEventFits builds the largest conversion event the bounds
// allow (every message at its limit and full of characters JSON escapes,
// the longest blob paths, clipped ARR error text) and checks it against the
// event budget every transport accepts (arrops.MaxEventBytes), as the record
// against one Table property.
func TestConversionEventFits(t *testing.T) {
	worst := strings.Repeat("<&>", 1000)
	var entries []string
	for range arrops.MaxConversionMessages + 5 {
		entries = append(entries, fmt.Sprintf(`{"warning":"%s","title":"%s"}`, worst, worst), fmt.Sprintf(`{"error":"%s"}`, worst))
	}
	d, err := functions.ParseResultFile([]byte("[" + strings.Join(entries, ",") + `,{"result":"` + worst + `"}]`))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, 200)
	for i := range 200 {
		keys = append(keys, fmt.Sprintf(`"%03d<>"`, i))
	}
	info := `{"conversionSettings":{"metadataKeys":[` + strings.Join(keys, ",") + `]},"inputStatistics":{"numVertices":1e18,"numFaces":1e18,"numMaterial":1e18},` +
		`"outputStatistics":{"boundingBox":{"min":[-1.7976931348623157e308,-1.7976931348623157e308,-1.7976931348623157e308],"max":[1.7976931348623157e308,1.7976931348623157e308,1.7976931348623157e308]}}}`
	if err := functions.ParseInfoFile([]byte(info), d); err != nil {
		t.Fatal(err)
	}
	if len(d.Settings) == 0 {
		// Try settings just under the bound instead.
		if err := functions.ParseInfoFile([]byte(`{"conversionSettings":{"metadataKeys":[`+strings.Join(keys[:60], ",")+`]}}`), d); err != nil || len(d.Settings) == 0 {
			t.Fatalf("settings near the bound not kept: %v %s", err, d.Note)
		}
	}
	d.Note = arrops.Clip(worst, arrops.MaxTextBytes)
	path := strings.Repeat("ü", arrops.BlobMaxNameLength/2-4) + ".fbx"
	c := &arrops.Conversion{ID: strings.Repeat("a", arrops.MaxIDLength), Status: arrops.ConversionFailed, InputContainer: "arr-input",
		InputPath: path, OutputURI: "https://account.blob.core.windows.net/arr-output/" + path,
		ErrorCode: arrops.Clip(worst, arrops.MaxTextBytes), ErrorMessage: arrops.Clip(worst, arrops.MaxTextBytes),
		SettingsFile: path, RequestedBy: strings.Repeat("r", arrops.MaxRequestedByChars), Details: d}
	ev, ok := functions.ConversionEvent(c, time.Now())
	if !ok {
		t.Fatal("no event")
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := arrops.CheckMessage("event", body); err != nil {
		t.Fatalf("worst-case conversion event: %v", err)
	}
	details, _ := json.Marshal(d)
	if n := arrops.UTF16Bytes(string(details)); n > arrops.TableMaxStringBytes {
		t.Fatalf("details take %d bytes as a Table property, the limit is %d", n, arrops.TableMaxStringBytes)
	}
	t.Logf("worst-case event %d bytes (limit %d), details %d bytes", len(body), arrops.MaxEventBytes, len(details))
}
