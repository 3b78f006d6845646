package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/arrops/arrops"
)

func queueError(status int, code string) error {
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/devstoreaccount1/arr-events/messages", nil)
	resp := &http.Response{StatusCode: status, Header: http.Header{"X-Ms-Error-Code": {code}},
		Body: io.NopCloser(strings.NewReader("")), Request: req}
	return runtime.NewResponseError(resp)
}

// TestClassify pins the messaging half of the error contract (README) for
// both transports.
func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     string
		noEntity bool
	}{
		{"sb not found", &azservicebus.Error{Code: azservicebus.CodeNotFound}, arrops.ENOTFOUND, true},
		{"sb unauthorized", &azservicebus.Error{Code: azservicebus.CodeUnauthorizedAccess}, arrops.EUNAUTHORIZED, false},
		{"sb connection lost", &azservicebus.Error{Code: azservicebus.CodeConnectionLost}, arrops.EINTERNAL, false},
		{"sb timeout", &azservicebus.Error{Code: azservicebus.CodeTimeout}, arrops.EINTERNAL, false},
		{"sb too large", fmt.Errorf("send: %w", azservicebus.ErrMessageTooLarge), arrops.EINVALID, false},
		{"queue 404", queueError(404, "QueueNotFound"), arrops.ENOTFOUND, true},
		{"queue 403", queueError(403, "AuthorizationPermissionMismatch"), arrops.EUNAUTHORIZED, false},
		{"queue 401", queueError(401, "InvalidAuthenticationInfo"), arrops.EUNAUTHORIZED, false},
		{"queue 413", queueError(413, "RequestBodyTooLarge"), arrops.EINVALID, false},
		{"queue 400", queueError(400, "InvalidXmlDocument"), arrops.EINVALID, false},
		{"queue 429", queueError(429, ""), arrops.EINTERNAL, false},
		{"queue 503", queueError(503, "ServerBusy"), arrops.EINTERNAL, false},
		{"network", errors.New("dial tcp: connection refused"), arrops.EINTERNAL, false},
		{"deadline", context.DeadlineExceeded, arrops.EINTERNAL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("publish m1 to arr-events: %w", classify(tt.err))
			if got := arrops.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode = %q, want %q", got, tt.want)
			}
			if errors.Is(err, ErrNoSuchEntity) != tt.noEntity {
				t.Errorf("errors.Is(ErrNoSuchEntity) = %v", !tt.noEntity)
			}
			if !errors.Is(err, tt.err) && !errors.As(err, new(*azservicebus.Error)) {
				t.Errorf("the SDK error is lost: %v", err)
			}
		})
	}
}
