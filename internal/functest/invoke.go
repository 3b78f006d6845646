package functest

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/trigger"
)

// RunTimer invokes f as the host does when its timer (binding) fires, with
// the payload the host would send, and returns what f logged (text format).
// An error from f fails tb: a timer function answers for itself.
func RunTimer(tb testing.TB, ctx context.Context, f functions.Func, binding string, timer trigger.Timer) string {
	tb.Helper()
	body, err := trigger.EncodeTimerInvocation(binding, timer)
	if err != nil {
		tb.Fatal(err)
	}
	inv, err := trigger.DecodeInvocation(body)
	if err != nil {
		tb.Fatal(err)
	}
	var logs bytes.Buffer
	var out trigger.Response
	// Debug too: tests check what is logged, and at which level.
	if err := f(ctx, inv, &out, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))); err != nil {
		tb.Fatal(err)
	}
	return logs.String()
}

// Found returns v, or nil when err says there is no such record
// (ENOTFOUND); any other error fails tb.
func Found[T any](tb testing.TB, v *T, err error) *T {
	tb.Helper()
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
