package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/arrops/arrops"
)

// tableError is the error Table Storage answers with status and code.
func tableError(status int, code string) error {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/devstoreaccount1/sessions", nil)
	body := fmt.Sprintf(`{"odata.error":{"code":%q,"message":{"lang":"en-US","value":"the service says no"}}}`, code)
	resp := &http.Response{StatusCode: status, Header: http.Header{"X-Ms-Error-Code": {code}, "Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}
	return runtime.NewResponseError(resp)
}

// TestClassify pins the storage half of the error contract (README): each
// Table Storage failure gets one arrops code and keeps its *azcore.ResponseError.
func TestClassify(t *testing.T) {
	tests := []struct {
		status     int
		code       string
		want       string
		concurrent bool
	}{
		{400, "PropertyValueTooLarge", arrops.EINVALID, false},
		{400, "InvalidInput", arrops.EINVALID, false},
		{413, "RequestBodyTooLarge", arrops.EINVALID, false},
		{401, "InvalidAuthenticationInfo", arrops.EUNAUTHORIZED, false},
		{403, "AuthorizationPermissionMismatch", arrops.EUNAUTHORIZED, false},
		{404, "ResourceNotFound", arrops.ENOTFOUND, false},
		{404, "TableNotFound", arrops.EINTERNAL, false},
		{409, "EntityAlreadyExists", arrops.ECONFLICT, false},
		{409, "TableBeingDeleted", arrops.EINTERNAL, false},
		{412, "UpdateConditionNotSatisfied", arrops.EINTERNAL, true},
		{408, "", arrops.EINTERNAL, false},
		{429, "", arrops.EINTERNAL, false},
		{500, "InternalError", arrops.EINTERNAL, false},
		{503, "ServerBusy", arrops.EINTERNAL, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.code), func(t *testing.T) {
			err := fmt.Errorf("get session s1: %w", classify(tableError(tt.status, tt.code)))
			if got := arrops.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode = %q, want %q (%v)", got, tt.want, err)
			}
			if errors.Is(err, ErrConcurrentUpdate) != tt.concurrent {
				t.Errorf("errors.Is(ErrConcurrentUpdate) = %v", !tt.concurrent)
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.status {
				t.Errorf("the *azcore.ResponseError is lost: %v", err)
			}
		})
	}
	for _, err := range []error{context.DeadlineExceeded, errors.New("dial tcp: connection refused")} {
		if got := arrops.ErrorCode(classify(err)); got != arrops.EINTERNAL {
			t.Errorf("%v: %q, want %q", err, got, arrops.EINTERNAL)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
