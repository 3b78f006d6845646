package arr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedBodies returns the recorded and example response bodies, classified.
func seedBodies(f *testing.F) (sessions, conversions, errs, tokens, times []string) {
	fx := fixturesDir(f)
	files, _ := filepath.Glob(filepath.Join(fx, "recordings", "*", "*.json"))
	add := func(raw json.RawMessage) {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		s := string(raw)
		switch {
		case m["AccessToken"] != nil:
			if tok, ok := m["AccessToken"].(string); ok {
				tokens = append(tokens, tok)
			}
		case m["error"] != nil && m["id"] == nil:
			errs = append(errs, s)
		case m["sessions"] != nil:
			for _, x := range m["sessions"].([]any) {
				b, _ := json.Marshal(x)
				sessions = append(sessions, string(b))
			}
		case m["conversions"] != nil:
			for _, x := range m["conversions"].([]any) {
				b, _ := json.Marshal(x)
				conversions = append(conversions, string(b))
			}
		case m["settings"] != nil:
			conversions = append(conversions, s)
		case m["id"] != nil:
			sessions = append(sessions, s)
		}
		if ct, ok := m["creationTime"].(string); ok {
			times = append(times, ct)
		}
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var rec recording
		if json.Unmarshal(b, &rec) == nil {
			for _, e := range rec.Entries {
				add(e.ResponseBody)
			}
		}
	}
	exs, _ := filepath.Glob(filepath.Join(fx, "examples", "*.json"))
	for _, file := range exs {
		b, _ := os.ReadFile(file)
		var ex example
		if json.Unmarshal(b, &ex) == nil {
			for _, r := range ex.Responses {
				add(r.Body)
			}
		}
	}
	if len(sessions) == 0 || len(conversions) == 0 || len(errs) == 0 || len(tokens) == 0 || len(times) == 0 {
		f.Fatal("fixtures gave no seeds")
	}
	return
}

// dedup keeps the seed corpus small: the recordings repeat the same bodies.
func dedup(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func FuzzDecodeSession(f *testing.F) {
	s, _, _, _, _ := seedBodies(f)
	for _, b := range dedup(s) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s1 Session
		if json.Unmarshal(data, &s1) != nil {
			return
		}
		_, _ = s1.Host()
		_, _, _ = s1.Ports()
		// Decoding what we encode must be stable.
		b, err := json.Marshal(s1)
		if err != nil {
			t.Fatalf("marshal decoded session: %v", err)
		}
		var s2 Session
		if err := json.Unmarshal(b, &s2); err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		b2, _ := json.Marshal(s2)
		if string(b) != string(b2) {
			t.Fatalf("unstable round trip:\n%s\n%s", b, b2)
		}
	})
}

func FuzzDecodeConversion(f *testing.F) {
	_, c, _, _, _ := seedBodies(f)
	for _, b := range dedup(c) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c1 Conversion
		if json.Unmarshal(data, &c1) != nil {
			return
		}
		_, _ = c1.OutputAssetURI()
		b, err := json.Marshal(c1)
		if err != nil {
			t.Fatalf("marshal decoded conversion: %v", err)
		}
		var c2 Conversion
		if err := json.Unmarshal(b, &c2); err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		b2, _ := json.Marshal(c2)
		if string(b) != string(b2) {
			t.Fatalf("unstable round trip:\n%s\n%s", b, b2)
		}
		_ = ValidateConversionSettings(c1.Settings)
	})
}

func FuzzDecodeError(f *testing.F) {
	_, _, e, _, _ := seedBodies(f)
	for _, b := range dedup(e) {
		f.Add([]byte(b))
	}
	f.Add([]byte(""))
	f.Add([]byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeError(data)
		if err == nil && d == nil && strings.TrimSpace(string(data)) != "" {
			t.Fatalf("non-empty body %q decoded to nothing without an error", data)
		}
		if d != nil {
			var env struct{ Error *ErrorDetails }
			if json.Unmarshal(data, &env) != nil || env.Error == nil || env.Error.Code != d.Code || env.Error.Message != d.Message {
				t.Fatalf("decodeError disagrees with encoding/json on %q", data)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	_, _, _, _, ts := seedBodies(f)
	for _, s := range dedup(ts) {
		f.Add(s)
	}
	f.Add("2021-01-01T11:11:11.1234567")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) not in UTC", s)
		}
		// Whatever parses must survive the RFC 3339 form the client writes.
		again, err := ParseTime(got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v does not round-trip: %v %v", s, got, again, err)
		}
		var j jsonTime
		b, _ := json.Marshal(s)
		if err := json.Unmarshal(b, &j); err != nil || !j.t.Equal(got) {
			t.Fatalf("jsonTime disagrees with ParseTime on %q: %v", s, err)
		}
	})
}

func FuzzJWTExp(f *testing.F) {
	_, _, _, toks, _ := seedBodies(f)
	for _, s := range dedup(toks) {
		f.Add(s)
	}
	f.Add(makeJWT(`{"exp":"1607978983"}`))
	f.Fuzz(func(t *testing.T, tok string) {
		exp, err := jwtExpiry(tok)
		if err != nil {
			return
		}
		if exp.Before(time.Unix(0, 0)) || exp.After(time.Unix(1<<40, 0)) {
			t.Fatalf("implausible exp %v from %q", exp, tok)
		}
	})
}
