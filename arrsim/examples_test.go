package arrsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type exampleFile struct {
	Parameters map[string]any `json:"parameters"`
	Responses  map[string]struct {
		Headers map[string]any `json:"headers"`
		Body    any            `json:"body"`
	} `json:"responses"`
}

// TestContractExamples provokes every response of the 8 spec examples and
// compares status, headers named in the example, and body shape.
func TestContractExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "fixtures", "arr", "examples", "*.json"))
	if err != nil || len(files) != 8 {
		t.Fatalf("want 8 examples, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		op := strings.TrimSuffix(filepath.Base(f), ".json")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ex exampleFile
		if err := json.Unmarshal(b, &ex); err != nil {
			t.Fatal(err)
		}
		for code, resp := range ex.Responses {
			t.Run(op+"/"+code, func(t *testing.T) {
				if code == "403" && op != "CreateConversion" {
					t.Skip("no RBAC in the simulator: a 403 needs a missing role assignment")
				}
				h := newHarness(t, Options{AccountID: ex.Parameters["account_id"].(string)})
				got := provoke(t, h, op, code, ex.Parameters)
				if fmt.Sprint(got.status) != code {
					t.Fatalf("status %d, want %s; body %s", got.status, code, got.body)
				}
				for k, v := range resp.Headers {
					gv := got.header.Get(k)
					if k == "MS-CV" {
						if !msCV.MatchString(gv) {
							t.Errorf("MS-CV %q", gv)
						}
						continue
					}
					if gv != fmt.Sprint(v) {
						t.Errorf("header %s = %q, example %v", k, gv, v)
					}
				}
				if resp.Body == nil {
					// 403 on a conversion PUT has a body in every recording
					// (the example shows none): the recordings win.
					if len(got.body) != 0 && code != "403" {
						t.Errorf("body %s, example has none", got.body)
					}
					return
				}
				var gotBody any
				if err := json.Unmarshal(got.body, &gotBody); err != nil {
					t.Fatalf("body %q: %v", got.body, err)
				}
				compareExample(t, "$", gotBody, resp.Body)
				if e, ok := resp.Body.(map[string]any)["error"].(map[string]any); ok {
					ge := gotBody.(map[string]any)["error"].(map[string]any)
					if ge["code"] != e["code"] {
						t.Errorf("error code %v, example %v", ge["code"], e["code"])
					}
					if (code == "409" || code == "500") && ge["message"] != e["message"] {
						t.Errorf("error message %v, example %v", ge["message"], e["message"])
					}
				}
			})
		}
	}
}

// compareExample requires every non-null example member with the same type.
// The hand-written examples mix 2021 placeholders and omitted members, so
// nulls and extra simulator members are not compared.
func compareExample(t *testing.T, path string, got, want any) {
	t.Helper()
	if want == nil {
		return
	}
	if kind(got) != kind(want) {
		t.Errorf("%s is %s, example %s", path, kind(got), kind(want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, wv := range w {
			if k == "hostname" || k == "arrInspectorPort" || k == "handshakePort" || k == "output" {
				continue // present only when Ready / Succeeded, which the examples assume
			}
			compareExample(t, path+"."+k, g[k], wv)
		}
	case []any:
		if g := got.([]any); len(g) > 0 && len(w) > 0 {
			compareExample(t, path+"[0]", g[0], w[0])
		}
	}
}

func provoke(t *testing.T, h *harness, op, code string, p map[string]any) result {
	t.Helper()
	q := "?api-version=" + p["api-version"].(string)
	body := ""
	if b, ok := p["body"]; ok {
		raw, _ := json.Marshal(b)
		body = string(raw)
	}
	sessionID, _ := p["session_id"].(string)
	convID, _ := p["conversion_id"].(string)
	if sessionID == "" {
		sessionID = convID // ListSessions names its session parameter conversion_id
	}
	// Conversions need a SAS unless storage is linked; the example bodies
	// have none, so add a placeholder one (nothing reads blobs here).
	withSAS := func(b string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		s := m["settings"].(map[string]any)
		s["inputLocation"].(map[string]any)["storageContainerReadListSas"] = "sv=2021-12-02&sr=c&sp=rl&sig=placeholder"
		s["outputLocation"].(map[string]any)["storageContainerWriteSas"] = "sv=2021-12-02&sr=c&sp=w&sig=placeholder"
		out, _ := json.Marshal(m)
		return string(out)
	}
	var method, path string
	var setup func()
	createSession := func() {
		if r := h.do(http.MethodPut, "/sessions/"+sessionID+q, `{"maxLeaseTimeMinutes":60,"size":"Standard"}`); r.status != 201 {
			t.Fatalf("setup create session: %d %s", r.status, r.body)
		}
		h.sim.Advance(h.sim.opts.ReadyAfter) // the examples show Ready sessions
	}
	exConv := `{"settings":{"inputLocation":{"storageContainerUri":"https://contosostorage01.blob.core.windows.net/arrInput","relativeInputAssetPath":"house.fbx"},"outputLocation":{"storageContainerUri":"https://contosostorage01.blob.core.windows.net/arrOutput"}}}`
	createConv := func() {
		if r := h.do(http.MethodPut, "/conversions/"+convID+q, withSAS(exConv)); r.status != 201 {
			t.Fatalf("setup create conversion: %d %s", r.status, r.body)
		}
	}
	switch op {
	case "CreateSession":
		method, path = http.MethodPut, "/sessions/"+sessionID
	case "GetSession":
		method, path, setup = http.MethodGet, "/sessions/"+sessionID, createSession
	case "UpdateSession":
		method, path, setup = http.MethodPatch, "/sessions/"+sessionID, createSession
	case "StopSession":
		method, path, setup = http.MethodPost, "/sessions/"+sessionID+"/:stop", createSession
	case "ListSessions":
		method, path, setup = http.MethodGet, "/sessions", createSession
	case "CreateConversion":
		method, path, body = http.MethodPut, "/conversions/"+convID, withSAS(body)
	case "GetConversion":
		method, path, setup = http.MethodGet, "/conversions/"+convID, createConv
	case "ListConversions":
		method, path, setup = http.MethodGet, "/conversions", createConv
	default:
		t.Fatalf("unknown example %s", op)
	}
	switch code {
	case "200", "201", "204":
		if setup != nil {
			setup()
		}
		if code == "200" && strings.HasPrefix(op, "Create") {
			h.do(method, path+q, body)
		}
	case "400":
		body = "{"
	case "401":
		if setup != nil {
			setup()
		}
		return h.doURL(method, h.ts.URL+"/accounts/"+h.sim.opts.AccountID+path+q, body, "")
	case "403":
		body = exConv
	case "404":
		// nothing created
	case "409":
		h.do(method, path+q, body)
		if op == "CreateSession" {
			body = `{"maxLeaseTimeMinutes":61,"size":"Standard"}`
		} else {
			body = strings.Replace(body, "house.fbx", "other.fbx", 1)
		}
	case "422":
		setup()
		body = `{"maxLeaseTimeMinutes":10}`
	case "429", "500":
		if setup != nil {
			setup()
		}
		if code == "429" {
			h.sim.SetFaults(Faults{Throttle429Next: 1})
		} else {
			h.sim.SetFaults(Faults{Error500Next: 1})
		}
	}
	return h.do(method, path+q, body)
}
