package devhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Headers the host sends with every invocation.
const (
	HostVersion = "4.x"
	UserAgent   = "Azure-Functions-Host/" + HostVersion
	contentType = "application/json; charset=utf-8"
)

// Response is the handler's reply to an invocation.
type Response struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// InvocationError is a failed invocation: a non-2xx reply (Status set), a
// transport error or a timeout.
type InvocationError struct {
	Function     string
	InvocationID string
	Status       int
	Err          error
}

func (e *InvocationError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("invoke %s (%s): handler answered %d", e.Function, e.InvocationID, e.Status)
	}
	return fmt.Sprintf("invoke %s (%s): %v", e.Function, e.InvocationID, e.Err)
}

func (e *InvocationError) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by an InvocationError when functionTimeout elapsed.
var ErrTimeout = errors.New("function timeout")

// Invoker POSTs invocation payloads to the supervised handler.
type Invoker struct {
	sup     *Supervisor
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
}

// NewInvoker returns an invoker; timeout 0 means no functionTimeout.
func NewInvoker(sup *Supervisor, timeout time.Duration, log *slog.Logger) *Invoker {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Invoker{sup: sup, client: &http.Client{Transport: tr}, timeout: timeout, log: log}
}

// Invoke sends payload to POST /<function> and returns the decoded reply. Any
// non-2xx reply or transport failure is an *InvocationError; on timeout the
// handler is killed and restarted, as the host does.
func (iv *Invoker) Invoke(ctx context.Context, function, trigger string, payload []byte) (*Response, error) {
	id := NewUUID()
	start := time.Now()
	resp, status, err := iv.do(ctx, function, id, payload)
	attrs := []any{"function", function, "trigger", trigger, "invocation", id,
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		iv.log.Warn("invocation failed", append(attrs, "status", status, "err", err.Error())...)
		return nil, err
	}
	// A 2xx reply's Logs are handler log lines like its stdout: printed once
	// each, the same way. Those of a failed reply are dropped in do, as the
	// host drops them.
	for _, line := range resp.Logs {
		iv.sup.handlerLog(line)
	}
	iv.log.Info("invocation succeeded", append(attrs, "status", status)...)
	return resp, nil
}

func (iv *Invoker) do(ctx context.Context, function, id string, payload []byte) (*Response, int, error) {
	fail := func(status int, err error) (*Response, int, error) {
		return nil, status, &InvocationError{Function: function, InvocationID: id, Status: status, Err: err}
	}
	callCtx := ctx
	if iv.timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeoutCause(ctx, iv.timeout, ErrTimeout)
		defer cancel()
	}
	base, err := iv.sup.Ready(callCtx)
	if err != nil {
		return fail(0, fmt.Errorf("wait for handler: %w", cause(callCtx, err)))
	}
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, base+"/"+function, bytes.NewReader(payload))
	if err != nil {
		return fail(0, err)
	}
	req.Header.Set("X-Azure-Functions-InvocationId", id)
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Content-Type", contentType)
	res, err := iv.client.Do(req)
	if err != nil {
		if errors.Is(context.Cause(callCtx), ErrTimeout) && ctx.Err() == nil {
			iv.sup.Kill(fmt.Sprintf("function %s exceeded functionTimeout %s", function, iv.timeout))
			return fail(0, ErrTimeout)
		}
		return fail(0, cause(callCtx, err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 100<<20))
	if err != nil {
		return fail(res.StatusCode, fmt.Errorf("read reply: %w", cause(callCtx, err)))
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		// The host calls EnsureSuccessStatusCode: Outputs and Logs are dropped.
		return fail(res.StatusCode, fmt.Errorf("status %d", res.StatusCode))
	}
	var out Response
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			return fail(res.StatusCode, fmt.Errorf("reply is not an invocation result: %w", err))
		}
	}
	return &out, res.StatusCode, nil
}

func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
		return fmt.Errorf("%w (%v)", err, c)
	}
	return err
}

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
