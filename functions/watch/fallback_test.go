package watch_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
)

// A Premium start that ends in Error before Ready (the simulator's injected
// capacity error) gets exactly one Standard replacement, however many sweeps
// see the failure, including one that failed after recording the
// replacement's intent (before ARR was asked and before the Error was
// recorded: the next sweep carries the intent on); the requester hears the error, a reply naming the replacement
// and why, and the replacement's own events; a replacement that fails too
// gets none.
func TestFallback(t *testing.T) {
	e := newWatchEnv(t)
	e.deps.Fallback = &functions.Fallback{Size: arrops.SizeStandard}
	e.sim.SetFaults(arrsim.Faults{StartErrorNext: 1, StartErrorCode: "CapacityShortage", StartErrorMessage: "No Premium capacity in this region."})
	if _, err := e.arrc.CreateSession(e.ctx, "big-1", arr.SessionSettings{MaxLeaseTimeMinutes: 90, Size: arr.SessionSize("Premium")}, nil); err != nil {
		t.Fatal(err)
	}
	s := &arrops.Session{ID: "big-1", Size: arrops.SizePremium, Status: arrops.SessionStarting, Origin: arrops.OriginCommand,
		RequestedBy: "viewer", MaxLeaseMinutes: 90, CreatedAt: e.now, ReplyTo: "viewer-replies", CorrelationID: "m-1", Announced: arrops.SessionStarting}
	if _, _, err := e.st.CreateSession(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	e.sim.Advance(2 * time.Second) // past the simulated Ready time: the failure shows
	if got, err := e.arrc.GetSession(e.ctx, "big-1", nil); err != nil || got.Status != "Error" {
		t.Fatalf("ARR: %v %v, want Error", got.Status, err)
	}
	// A sweep that failed after recording the replacement's intent (ARR's
	// create answered 500 through all retries): the Requested record exists,
	// ARR has no replacement, and the original still says Starting.
	a, _ := e.arrc.GetSession(e.ctx, "big-1", nil)
	rec := e.record("big-1")
	e.sim.SetFaults(arrsim.Faults{Error500Next: 4})
	if err := e.deps.Fallback.Start(e.ctx, e.arrc, e.st, e.bus, rec, &a.Session, e.now, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("fallback start with ARR failing: no error")
	}
	if fb := e.record("big-1-fallback"); fb.Status != arrops.SessionRequested || fb.FallbackOf != "big-1" {
		t.Fatalf("replacement after the failed create: %+v, want its Requested intent", fb)
	}
	if _, err := e.arrc.GetSession(e.ctx, "big-1-fallback", nil); arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Fatalf("ARR has the replacement before it was asked: %v", err)
	}
	if s := e.record("big-1"); s.Status != arrops.SessionStarting || s.FallbackID != "big-1-fallback" {
		t.Fatalf("original after the failed create: %+v", s)
	}
	// The next sweeps carry the intent on: one replacement.
	for range 3 {
		e.sweep()
	}
	if n := e.sim.Stats().CreateSession; n != 6 {
		t.Fatalf("ARR creates %d, want 6 (the start, 4 answered 500, the resumed replacement)", n)
	}
	// Every session ARR has has a record.
	listed, err := functions.ListSessions(e.ctx, e.arrc)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range listed {
		e.record(a.ID)
	}
	orig, fb := e.record("big-1"), e.record("big-1-fallback")
	if orig.Status != arrops.SessionError || orig.ErrorCode != "CapacityShortage" || orig.FallbackID != "big-1-fallback" {
		t.Fatalf("original %+v", orig)
	}
	if fb.Size != arrops.SizeStandard || fb.FallbackOf != "big-1" || fb.RequestedBy != "viewer" || fb.MaxLeaseMinutes != 90 || fb.ReplyTo != "viewer-replies" {
		t.Fatalf("replacement %+v", fb)
	}
	var replies, starting, errs int
	for _, m := range e.bus.To("viewer-replies") {
		switch m.Subject {
		case "CommandReply":
			var r arrops.CommandReply
			if err := json.Unmarshal(m.Body, &r); err != nil {
				t.Fatal(err)
			}
			if r.SessionID != "big-1-fallback" || r.Outcome != arrops.OutcomeAccepted || r.Reason == "" {
				t.Fatalf("reply %+v", r)
			}
			replies++
		case string(arrops.EventSessionStarting):
			starting++
		case string(arrops.EventSessionError):
			errs++
		}
	}
	if replies < 1 || starting != 1 || errs != 1 {
		t.Fatalf("to the requester: %d replies, %d SessionStarting, %d SessionError; want >=1 (same message id), 1, 1", replies, starting, errs)
	}
	// The replacement fails too: no replacement of the replacement.
	e.sim.Advance(2 * time.Second)
	if err := e.sim.FailSession("big-1-fallback", "CapacityShortage", "none left"); err != nil {
		t.Fatal(err)
	}
	e.sweep()
	if n := e.sim.Stats().CreateSession; n != 6 {
		t.Fatalf("ARR creates %d after the replacement failed, want still 6", n)
	}
}
