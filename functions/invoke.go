package functions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/trigger"
)

// Func runs one invocation. It writes outputs into out and logs through log,
// whose lines reach the host once each: in the reply's Logs when it is 2xx,
// on stdout otherwise (see trigger.InvocationLog).
type Func func(ctx context.Context, inv *trigger.Invocation, out *trigger.Response, log *slog.Logger) error

// LogsOnStdoutAfter is how long an invocation's lines wait for its reply.
// Past it they go to stdout, and so do its later lines: on functionTimeout
// the host kills the handler, and lines held for the reply would die with it.
const LogsOnStdoutAfter = 10 * time.Second

// Handle adapts f to the custom-handler protocol.
func Handle(name string, f Func, stdout io.Writer, level slog.Leveler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		invLog := trigger.NewInvocationLog(stdout, 0, 0)
		slow := time.AfterFunc(LogsOnStdoutAfter, func() { _ = invLog.Flush() })
		defer slow.Stop()
		log := trigger.NewLogger(invLog, &slog.HandlerOptions{Level: level}).With(
			"function", name, "invocationId", r.Header.Get(trigger.HeaderInvocationID))
		inv, _, err := trigger.ReadInvocation(r, 0)
		if err != nil {
			// The envelope itself is broken: nothing to record it under. Fail the
			// invocation so the host retries and finally poisons the message:
			// it is kept, not dropped.
			log.Error("invalid invocation envelope", "err", err)
			failed(w, http.StatusBadRequest, invLog)
			return
		}
		var out trigger.Response
		ctx := context.WithValue(r.Context(), invocationKey{}, invocation{r.Header.Get(trigger.HeaderInvocationID), log})
		err = safeCall(ctx, f, inv, &out, log)
		if err != nil {
			level := slog.LevelWarn
			if hasCode(err, arrops.EUNAUTHORIZED) {
				// A credential or role failure of a sweep or a store: retrying
				// will not help until the operator acts, so make it loud.
				level = slog.LevelError
			}
			log.Log(ctx, level, "invocation failed; the host will retry", "err", err, "code", arrops.ErrorCode(err), "ms", time.Since(start).Milliseconds())
			failed(w, http.StatusInternalServerError, invLog)
			return
		}
		log.Debug("invocation done", "ms", time.Since(start).Milliseconds())
		lines := invLog.Lines()
		out.Logs = append(out.Logs, lines...)
		if err := trigger.WriteResponse(w, out); err != nil {
			// Neither the reply nor its Logs reached the host: the lines go to
			// stdout (an ended InvocationLog passes writes through).
			for _, line := range lines {
				_, _ = invLog.Write([]byte(line))
			}
			log.Error("write response", "err", err)
		}
	}
}

// failed answers a failed invocation. The host drops the Logs of a non-2xx
// reply, so the invocation's lines go to stdout instead, once.
func failed(w http.ResponseWriter, status int, invLog *trigger.InvocationLog) {
	_ = invLog.Flush() // stdout is the last resort: nowhere left to report to
	writeJSON(w, status, trigger.Response{})
}

// safeCall turns a panic into a transient error so one bad message cannot take
// the handler process (and every in-flight invocation) down.
func safeCall(ctx context.Context, f Func, inv *trigger.Invocation, out *trigger.Response, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = arrops.Errorf(arrops.EINTERNAL, "panic: %v", p)
		}
	}()
	return f(ctx, inv, out, log)
}

// hasCode reports whether any error in err's tree (a sweep joins one error
// per session) has code; arrops.ErrorCode sees only the first.
func hasCode(err error, code string) bool {
	if e, ok := err.(*arrops.Error); ok {
		return e.Code == code
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if hasCode(e, code) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return hasCode(u.Unwrap(), code)
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"Outputs":{},"Logs":["response encoding failed"],"ReturnValue":null}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

type invocationKey struct{}

type invocation struct {
	id  string
	log *slog.Logger
}

// InvocationID returns the host's invocation id of the invocation ctx belongs
// to ("" outside an invocation).
func InvocationID(ctx context.Context) string {
	inv, _ := ctx.Value(invocationKey{}).(invocation)
	return inv.id
}

// Logger returns the invocation's logger (see Func), or
// slog.Default outside an invocation, for code that has only a ctx.
func Logger(ctx context.Context) *slog.Logger {
	if inv, ok := ctx.Value(invocationKey{}).(invocation); ok && inv.log != nil {
		return inv.log
	}
	return slog.Default()
}

// OperatorMustFix ends the recorded reason of a request refused with
// arrops.EUNAUTHORIZED (a credential or role failure): the requester learns
// that waiting will not help, and the operator sees the failure at error level.
const OperatorMustFix = "the app's credential or role assignment is wrong (an operator must fix it; then send the request again)"
