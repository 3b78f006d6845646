package arrsim

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureBodies returns the recorded and example request bodies of one
// kind ("sessions" PUT, "sessions" PATCH or "conversions" PUT).
func fixtureBodies(t testing.TB, kind, method string) [][]byte {
	t.Helper()
	root := filepath.Join(sharedDir(t), "fixtures", "arr")
	files, _ := filepath.Glob(filepath.Join(root, "recordings", "*", "*.json"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r recording
		if json.Unmarshal(b, &r) != nil {
			continue
		}
		for _, e := range r.Entries {
			if e.RequestMethod == method && strings.Contains(e.RequestURI, "/"+kind+"/") && len(e.RequestBody) > 0 && string(e.RequestBody) != "null" {
				out = append(out, e.RequestBody)
			}
		}
	}
	examples := map[string]string{"sessions PUT": "CreateSession", "sessions PATCH": "UpdateSession", "conversions PUT": "CreateConversion"}
	if name, ok := examples[kind+" "+method]; ok {
		b, err := os.ReadFile(filepath.Join(root, "examples", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var ex struct {
			Parameters struct {
				Body json.RawMessage `json:"body"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(b, &ex); err != nil {
			t.Fatal(err)
		}
		out = append(out, ex.Parameters.Body)
	}
	if len(out) == 0 {
		t.Fatalf("no %s %s bodies in the fixtures", method, kind)
	}
	return out
}

func FuzzDecodeSessionCreate(f *testing.F) {
	for _, b := range fixtureBodies(f, "sessions", "PUT") {
		f.Add(b)
	}
	f.Add([]byte(`{"maxLeaseTimeMinutes":1e3,"size":"PREMIUM"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeSessionCreate(body)
		if e != nil {
			if e.Code != "BadRequest" || e.Message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if req.Lease < 0 || req.Lease > maxLeaseMinutes || (req.Size != "Standard" && req.Size != "Premium") {
			t.Fatalf("accepted out-of-range request %+v from %q", req, body)
		}
		again, e := decodeSessionCreate([]byte(`{"maxLeaseTimeMinutes":` + itoa(req.Lease) + `,"size":"` + req.Size + `"}`))
		if e != nil || again != req {
			t.Fatalf("canonical form does not round-trip: %+v %v", again, e)
		}
	})
}

func FuzzDecodeSessionUpdate(f *testing.F) {
	for _, b := range fixtureBodies(f, "sessions", "PATCH") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lease, e := decodeSessionUpdate(body)
		if e == nil && lease < 0 {
			t.Fatalf("negative lease %d accepted from %q", lease, body)
		}
	})
}

func FuzzDecodeConversionCreate(f *testing.F) {
	for _, b := range fixtureBodies(f, "conversions", "PUT") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, e := decodeConversionCreate(body)
		if e != nil {
			return
		}
		in, out := c.Settings.InputLocation, c.Settings.OutputLocation
		for _, p := range []string{in.BlobPrefix, out.BlobPrefix} {
			if p != "" && !strings.HasSuffix(p, "/") {
				t.Fatalf("prefix %q not normalised", p)
			}
		}
		if in.StorageContainerURI == "" || out.StorageContainerURI == "" || in.RelativeInputAssetPath == "" || out.OutputAssetFilename == "" {
			t.Fatalf("required member empty: %+v", c.Settings)
		}
		// Normalisation is idempotent: the echoed settings, sent back with
		// the same SAS, decode to the same conversion.
		var req map[string]any
		raw, _ := json.Marshal(c.Settings)
		_ = json.Unmarshal(raw, &req)
		// The echo has exactly the documented members: never a SAS.
		if k := keys(req["inputLocation"].(map[string]any)); k != "blobPrefix,relativeInputAssetPath,storageContainerUri" {
			t.Fatalf("echoed input members %s", k)
		}
		if k := keys(req["outputLocation"].(map[string]any)); k != "blobPrefix,outputAssetFilename,storageContainerUri" {
			t.Fatalf("echoed output members %s", k)
		}
		if c.ReadSAS != "" {
			req["inputLocation"].(map[string]any)["storageContainerReadListSas"] = c.ReadSAS
		}
		if c.WriteSAS != "" {
			req["outputLocation"].(map[string]any)["storageContainerWriteSas"] = c.WriteSAS
		}
		raw, _ = json.Marshal(map[string]any{"settings": req})
		again, e := decodeConversionCreate(raw)
		if e != nil || again.Settings != c.Settings || strings.TrimPrefix(again.ReadSAS, "?") != strings.TrimPrefix(c.ReadSAS, "?") {
			t.Fatalf("not idempotent: %+v -> %+v (%v)", c, again, e)
		}
	})
}

// FuzzServeHTTP sends arbitrary paths and bodies through the whole handler:
// it must never panic and every answer must carry an MS-CV.
func FuzzServeHTTP(f *testing.F) {
	h := newHarness(f, Options{})
	for _, b := range fixtureBodies(f, "sessions", "PUT") {
		f.Add("PUT", "/sessions/fz", b)
	}
	for _, b := range fixtureBodies(f, "conversions", "PUT") {
		f.Add("PUT", "/conversions/fz", b)
	}
	f.Add("PATCH", "/sessions/fz", []byte(`{"maxLeaseTimeMinutes":30}`))
	f.Add("POST", "/sessions/fz/:stop", []byte(nil))
	f.Add("GET", "/sessions?$skipToken=1", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !validMethod(method) || strings.ContainsAny(path, " #?%") || !strings.HasPrefix(path, "/") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // not a request a client could send
		}
		req := httptest.NewRequest(method, "/accounts/"+testAccount+path+"?api-version=2021-01-01", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+h.token)
		rec := httptest.NewRecorder()
		h.sim.ServeHTTP(rec, req)
		if !msCV.MatchString(firstHeader(rec.Header(), "MS-CV")) || rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("%s %s: %d %v", method, path, rec.Code, rec.Header())
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "PUT", "PATCH", "POST", "DELETE":
		return true
	}
	return false
}
