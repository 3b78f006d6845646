package devhost

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBodyProperties(t *testing.T) {
	tests := []struct {
		name, text string
		want       []member
	}{
		{"scalars", `{"a":"x","n":60,"f":1.50,"b":true,"z":null}`,
			[]member{{"a", `"x"`}, {"n", `"60"`}, {"f", `"1.5"`}, {"b", `"True"`}}},
		{"date reformatted", `{"timestamp":"2024-04-06T15:30:00Z","t2":"2026-11-23T12:40:01.2345678Z"}`,
			[]member{{"timestamp", `"04/06/2024 15:30:00"`}, {"t2", `"11/23/2026 12:40:01"`}}},
		{"offset date to UTC", `{"t":"2026-11-23T14:40:01+02:00"}`, []member{{"t", `"11/23/2026 12:40:01"`}}},
		{"date-only string kept", `{"d":"2024-09-01"}`, []member{{"d", `"2024-09-01"`}}},
		{"arrays and objects dropped", `{"listings":[1],"data":{"a":1},"id":"x"}`, []member{{"id", `"x"`}}},
		{"escapes kept", `{"s":"a\"b<c>&"}`, []member{{"s", `"a\"b<c>&"`}}},
		{"not an object", `"start"`, nil},
		{"plain text", `start arr session please`, nil},
		{"array", `[{"a":1}]`, nil},
		{"trailing garbage", `{"a":"x"} junk`, nil},
		{"truncated", `{"a":"x"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bodyProperties(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("bodyProperties(%s) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestMergeBodyPropertiesShadowing(t *testing.T) {
	meta := object{{"DequeueCount", "1"}, {"Id", `"queue-id"`}, {"sys", object{}}}
	mergeBodyProperties(&meta, []member{{"id", `"event-id"`}, {"sessionId", `"s"`}, {"topic", `"t"`}}, append(queueBuiltins, "SessionId"))
	want := object{{"DequeueCount", "1"}, {"Id", `"event-id"`}, {"sys", object{}}, {"SessionId", `"s"`}, {"topic", `"t"`}}
	if !reflect.DeepEqual(meta, want) {
		t.Fatalf("got %v, want %v", meta, want)
	}
}

func TestMatchRoute(t *testing.T) {
	tests := []struct {
		template, path string
		ok             bool
		params         object
	}{
		{"/api/report", "/api/report", true, object{}},
		{"/api/report", "/API/Report/", true, object{}},
		{"/api/report", "/api/report/x", false, nil},
		{"/api/report/{site}", "/api/report/site%2042", true, object{{"site", "site 42"}}},
		{"/api/report/{site}", "/api/report", false, nil},
		{"/api/report/{site?}", "/api/report", true, object{}},
		{"/api/items/{id:int}", "/api/items/7", true, object{{"id", "7"}}},
		{"/api/files/{*path}", "/api/files/a/b/c", true, object{{"path", "a/b/c"}}},
		{"/api/other", "/api/report", false, nil},
	}
	for _, tt := range tests {
		params, ok := matchRoute(tt.template, tt.path)
		if ok != tt.ok || (ok && !reflect.DeepEqual(params, tt.params)) {
			t.Errorf("matchRoute(%q, %q) = %v, %v; want %v, %v", tt.template, tt.path, params, ok, tt.params, tt.ok)
		}
	}
}

func TestQueryObject(t *testing.T) {
	got, _ := marshal(queryObject("b=2&a=1&b=3&c=x%20y&empty=&=v&flag"))
	if want := `{"b":"2,3","a":"1","c":"x y","empty":"","":"v","flag":""}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestHTTPPayloadBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		chunked  bool
		wantBody *string
	}{
		{name: "with body", body: `{"a":1}`, wantBody: ptr(`{"a":1}`)},
		{name: "empty body", body: ""},
		// The host reads Body only when Content-Length is positive.
		{name: "chunked", body: "x", chunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://localhost:7071/api/x?a=1", strings.NewReader(tt.body))
			if tt.chunked {
				r.ContentLength = -1
			}
			b, err := HTTPPayload("X", "req", r, []byte(tt.body), nil, false, time.Now(), NewUUID())
			if err != nil {
				t.Fatal(err)
			}
			var inv struct {
				Data struct {
					Req struct {
						Body       *string
						Identities []struct{ AuthenticationType *string }
					} `json:"req"`
				}
			}
			if err := json.Unmarshal(b, &inv); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Data.Req.Body, tt.wantBody) {
				t.Fatalf("Body = %v, want %v", inv.Data.Req.Body, tt.wantBody)
			}
			if len(inv.Data.Req.Identities) != 1 || inv.Data.Req.Identities[0].AuthenticationType != nil {
				t.Fatalf("anonymous identity wrong: %s", b)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestOutputTexts(t *testing.T) {
	tests := []struct {
		raw     string
		want    []string
		decoded int
	}{
		{`[{"a":1},{"b":2}]`, []string{`{"a":1}`, `{"b":2}`}, 0},
		{`{"a": 1}`, []string{`{"a":1}`}, 0},
		{`"hello world"`, []string{"hello world"}, 0},
		// The host's quirk: a string that is valid base64 is decoded.
		{`"eyJhIjoxfQ=="`, []string{`{"a":1}`}, 1},
		{`null`, nil, 0},
		{``, nil, 0},
		{`[null,"x y"]`, []string{"x y"}, 0},
		{`42`, []string{"42"}, 0},
	}
	for _, tt := range tests {
		got, decoded, err := outputTexts(json.RawMessage(tt.raw))
		if err != nil || !reflect.DeepEqual(got, tt.want) || decoded != tt.decoded {
			t.Errorf("outputTexts(%s) = %q, %d, %v; want %q, %d", tt.raw, got, decoded, err, tt.want, tt.decoded)
		}
	}
}

func TestWriteHTTPOutput(t *testing.T) {
	h := &Host{log: discardLogger()}
	tests := []struct {
		name, raw  string
		status     int
		body, ctyp string
	}{
		{"fixture", string(fixtureOutput(t)), 200, "site,date,bytes\nsite-42,2026-11-23,18234\nsite-43,2026-11-23,5242880\n", "text/csv; charset=utf-8"},
		{"case-insensitive keys, string status", `{"StatusCode":"404","Body":"nope","Headers":{"Content-Type":"text/plain"}}`, 404, "nope", "text/plain"},
		{"object body", `{"statusCode":201,"body":{"id":"s1"}}`, 201, `{"id":"s1"}`, "application/json; charset=utf-8"},
		{"not set", ``, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeHTTPOutput(w, json.RawMessage(tt.raw), h)
			if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Content-Type") != tt.ctyp {
				t.Fatalf("got %d %q %q", w.Code, w.Body.String(), w.Header().Get("Content-Type"))
			}
		})
	}
}

func fixtureOutput(t testing.TB) json.RawMessage {
	var resp Response
	if err := json.Unmarshal(fixture(t, "response-http.json"), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Outputs["res"]
}

func TestServiceBusFromQueue(t *testing.T) {
	tests := []struct {
		name, text       string
		wantID, wantBody string
	}{
		{"envelope", `{"messageId":"m1","body":"{\"action\":\"stop\"}"}`, "m1", `{"action":"stop"}`},
		{"base64 envelope", b64(`{"messageId":"m2","body":"x"}`), "m2", "x"},
		{"bare JSON body", `{"action":"stop"}`, "queue-id", `{"action":"stop"}`},
		{"base64 bare body", b64(`{"action":"stop"}`), "queue-id", `{"action":"stop"}`},
		{"plain text", "stop it", "queue-id", "stop it"},
	}
	for _, tt := range tests {
		m := serviceBusFromQueue(tt.text, "queue-id")
		if m.MessageID != tt.wantID || m.Body != tt.wantBody {
			t.Errorf("%s: got %q %q", tt.name, m.MessageID, m.Body)
		}
	}
}

func FuzzBodyProperties(f *testing.F) {
	for _, name := range []string{"queue-trigger-captured-gewoscout.json", "queue-trigger-blobcreated-eventgrid.json", "servicebus-trigger-start-command.json"} {
		f.Add(fixtureText(f, fixture(f, name), map[bool]string{true: "cmd", false: "msg"}[strings.HasPrefix(name, "servicebus")]))
	}
	f.Add(`{"a":1e400,"b":"2024-13-45T99:99:99Z"}`)
	f.Fuzz(func(t *testing.T, text string) {
		props := bodyProperties(text)
		for _, p := range props {
			s, ok := p.Value.(string)
			var inner string
			if !ok || json.Unmarshal([]byte(s), &inner) != nil {
				t.Fatalf("property %s value %v is not a JSON string literal", p.Key, p.Value)
			}
		}
		if _, err := QueuePayload("f", "msg", QueueMessage{Text: text}, time.Now(), "g"); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzOutputTexts(f *testing.F) {
	var resp Response
	_ = json.Unmarshal(fixture(f, "response-queue-output.json"), &resp)
	f.Add([]byte(resp.Outputs["outQueue"]))
	f.Add([]byte(`"eyJhIjoxfQ=="`))
	f.Add([]byte(`[1,{"a":[]},null]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		texts, decoded, err := outputTexts(raw)
		if err != nil {
			t.Fatalf("valid JSON %q: %v", raw, err)
		}
		if decoded > len(texts) {
			t.Fatalf("decoded %d of %d texts", decoded, len(texts))
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"0 */5 * * * *", "*/10 * * * * *", "00:05:00", "30 15 9 * * MON-FRI", "*/5 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			return
		}
		at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		if n := s.Next(at); !n.IsZero() && !n.After(at) {
			t.Fatalf("Next(%s) = %s is not after", at, n)
		}
	})
}

func TestDecodeStatus(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"host format", `{"Last":"2026-11-23T09:55:00.0093311+00:00","Next":"2026-11-23T10:00:00+00:00","LastUpdated":"2026-11-23T09:55:00.0093311+00:00"}`, true},
		{"never ran", `{"Last":"0001-01-01T00:00:00","Next":"2026-11-23T10:00:00+00:00","LastUpdated":"0001-01-01T00:00:00"}`, true},
		{"no next", `{"Last":"2026-11-23T09:55:00Z"}`, false},
		{"garbage", `not json`, false},
		{"bad time", `{"Next":"yesterday"}`, false},
	}
	for _, tt := range tests {
		st, err := decodeStatus([]byte(tt.in))
		if err != nil || (st != nil) != tt.ok {
			t.Errorf("%s: decodeStatus = %+v, %v", tt.name, st, err)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"Last":"2026-11-23T09:55:00.0093311+00:00","Next":"2026-11-23T10:00:00+00:00","LastUpdated":"2026-11-23T09:55:00.0093311+00:00"}`))
	f.Add([]byte(`{"Last":"0001-01-01T00:00:00","Next":"2026-11-23T10:00:00+00:00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStatus(b)
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.Next.IsZero() {
			t.Fatal("status without Next accepted")
		}
	})
}
