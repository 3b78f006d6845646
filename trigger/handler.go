package trigger

import (
	"fmt"
	"io"
	"net/http"
)

// Headers the host sends with every invocation request.
const (
	HeaderInvocationID = "X-Azure-Functions-InvocationId"
	HeaderHostVersion  = "X-Azure-Functions-HostVersion"
)

// DefaultMaxRequestBytes bounds ReadInvocation when given 0: above the
// largest trigger payload the host can send (a 100 MB Service Bus premium
// message grows by the double JSON encoding).
const DefaultMaxRequestBytes = 256 << 20

// ReadInvocation reads and decodes an invocation request, returning it with
// the host's invocation id (empty if the header is missing). At most
// maxBytes of body are read (0 selects DefaultMaxRequestBytes).
func ReadInvocation(r *http.Request, maxBytes int64) (*Invocation, string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	id := r.Header.Get(HeaderInvocationID)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, id, fmt.Errorf("trigger: read invocation %s: %w", id, err)
	}
	if int64(len(body)) > maxBytes {
		return nil, id, fmt.Errorf("trigger: invocation %s: request body larger than %d bytes", id, maxBytes)
	}
	inv, err := DecodeInvocation(body)
	if err != nil {
		return nil, id, fmt.Errorf("invocation %s: %w", id, err)
	}
	return inv, id, nil
}

// WriteResponse replies 200 with resp as JSON. Only a 2xx reply keeps
// Outputs and Logs, so failures that should be retried are answered with
// http.Error instead, and failures that never succeed are answered here.
func WriteResponse(w http.ResponseWriter, resp Response) error {
	body, err := resp.MarshalJSON()
	if err != nil {
		return fmt.Errorf("trigger: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("trigger: write response: %w", err)
	}
	return nil
}
