package arr_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

// TestClassify pins arrops' one classification of ARR failures (the table
// in the README's error contract) over real HTTP: every status reaches the
// caller as a *ResponseError whose arrops code is the documented one and
// whose message keeps ARR's code, message and MS-CV.
func TestClassify(t *testing.T) {
	tests := []struct {
		status    int
		code      string
		want      string
		permanent bool
	}{
		{400, "BadRequest", arrops.EINVALID, true},
		{422, "UnprocessableEntity", arrops.EINVALID, true},
		{405, "", arrops.EINVALID, true},
		{401, "", arrops.EUNAUTHORIZED, true},
		{403, "Forbidden", arrops.EUNAUTHORIZED, true},
		{403, "DelegatedResourceAccessError", arrops.EUNAUTHORIZED, true},
		{400, "DelegatedResourceAccessError", arrops.EUNAUTHORIZED, true},
		{404, "NotFound", arrops.ENOTFOUND, true},
		{408, "", arrops.EINTERNAL, false},
		{409, "Conflict", arrops.ECONFLICT, true},
		{429, "", arrops.EINTERNAL, false},
		{500, "InternalServerError", arrops.EINTERNAL, false},
		{502, "", arrops.EINTERNAL, false},
		{503, "ServiceUnavailable", arrops.EINTERNAL, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.code), func(t *testing.T) {
			if got := arr.Classify(tt.status, tt.code); got != tt.want {
				t.Fatalf("Classify(%d, %q) = %q, want %q", tt.status, tt.code, got, tt.want)
			}
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.code == "" {
					w.WriteHeader(tt.status)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"error":{"code":%q,"message":"the service says no"}}`, tt.code)
			})
			c := newClient(t, s.URL, accountKey, func(o *arr.ClientOptions) { o.Retry = policy.RetryOptions{MaxRetries: -1} })
			_, err := c.GetSession(context.Background(), "s1", nil)
			if got := arrops.ErrorCode(err); got != tt.want || arrops.Permanent(err) != tt.permanent {
				t.Fatalf("ErrorCode(%v) = %q (permanent %v), want %q", err, got, arrops.Permanent(err), tt.want)
			}
			msg := arrops.ErrorMessage(err)
			if !strings.Contains(msg, fmt.Sprintf("%d ", tt.status)) || !strings.Contains(msg, "MS-CV cv-test.0") ||
				(tt.code != "" && !strings.Contains(msg, tt.code+": the service says no")) {
				t.Errorf("message %q lacks status, code, message or MS-CV", msg)
			}
		})
	}
}

// TestClassifySTS: any refusal by STS is a credential problem, whatever the
// status (a wrong account id may answer 404).
func TestClassifySTS(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
			c := newClient(t, s.URL, "WRONG-"+accountKey, nil)
			if status != 401 {
				s.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("MS-CV", "cv-test.0")
					w.WriteHeader(status)
				})
			}
			_, err := c.GetSession(context.Background(), "s1", nil)
			if arrops.ErrorCode(err) != arrops.EUNAUTHORIZED {
				t.Fatalf("STS %d: ErrorCode(%v) = %q, want %q", status, err, arrops.ErrorCode(err), arrops.EUNAUTHORIZED)
			}
			if msg := arrops.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("STS %d", status)) {
				t.Errorf("message %q", msg)
			}
		})
	}
}
