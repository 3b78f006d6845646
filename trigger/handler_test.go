package trigger

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadInvocationWriteResponse(t *testing.T) {
	body := readFixture(t, "servicebus-trigger-start-command.json")
	tests := []struct {
		name    string
		body    []byte
		max     int64
		wantErr string
	}{
		{"fixture", body, 0, ""},
		{"exact limit", body, int64(len(body)), ""},
		{"too large", body, int64(len(body)) - 1, "larger than"},
		{"bad json", []byte(`{"Data":`), 0, "invocation inv-1: trigger: decode invocation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/commands", bytes.NewReader(tt.body))
			req.Header.Set(HeaderInvocationID, "inv-1")
			inv, id, err := ReadInvocation(req, tt.max)
			if id != "inv-1" {
				t.Errorf("id = %q", id)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := inv.ServiceBusMessage("cmd"); err != nil {
				t.Error(err)
			}
		})
	}

	rec := httptest.NewRecorder()
	resp := Response{Logs: []string{"ok"}}
	resp.SetHTTP("res", HTTPResponse{StatusCode: 202, Body: "accepted"})
	if err := WriteResponse(rec, resp); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("code %d headers %v", rec.Code, rec.Header())
	}
	if want := `{"Outputs":{"res":{"statusCode":202,"body":"accepted"}},"Logs":["ok"],"ReturnValue":null}`; rec.Body.String() != want {
		t.Errorf("body %s\nwant %s", rec.Body, want)
	}
}
