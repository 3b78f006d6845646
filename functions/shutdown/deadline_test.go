package shutdown_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/shutdown"
	"github.com/arrops/arrops/schedule"
)

// withDeadlines arms deadlines on an in-memory due queue with e's clock.
func withDeadlines(e *sdEnv) *schedule.Memory {
	due := &schedule.Memory{Now: func() time.Time { return e.now }}
	e.deps.Deadlines = &functions.Deadlines{Policy: e.deps.Config.Shutdown.Options, Due: functions.Value[schedule.Scheduler](due),
		Records: functions.Value[functions.DeadlineRecords](e.st)}
	return due
}

// deliver runs the deadlines due at e.now (each copies times, to model
// redelivery) and returns what they did.
func (e *sdEnv) deliver(due *schedule.Memory, copies int) (msgs []arrops.DueMessage, st shutdown.Stats) {
	e.t.Helper()
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	for _, m := range due.Due(e.now) {
		if m.Kind != arrops.DueDeadline {
			e.t.Fatalf("unexpected due message %+v", m)
		}
		msgs = append(msgs, m)
		for range copies {
			s, err := shutdown.Deadline(e.ctx, e.deps, m.SessionID, m.At, log)
			if err != nil {
				e.t.Fatalf("deadline %+v at %s: %v", m, e.now, err)
			}
			st.Stopped += s.Stopped
			st.Warned += s.Warned
			st.WouldStop += s.WouldStop
			st.Armed += s.Armed
		}
	}
	return msgs, st
}

func pendingAt(t *testing.T, due *schedule.Memory, want ...time.Time) {
	t.Helper()
	p := due.Pending()
	ok := len(p) == len(want)
	for i := range p {
		ok = ok && p[i].Msg.At.Equal(want[i])
	}
	if !ok {
		t.Fatalf("pending deadlines %+v, want at %v", p, want)
	}
}

func TestDeadlines(t *testing.T) {
	maxAge := map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "60", "SHUTDOWN_WARNING_MINUTES": "10"}
	t.Run("OnTheInstant", func(t *testing.T) { testDeadlineOnTheInstant(t, newSDEnv(t, maxAge)) })
	t.Run("ExtendRearms", func(t *testing.T) { testDeadlineExtend(t, newSDEnv(t, maxAge)) })
	t.Run("SettingsChanged", func(t *testing.T) { testDeadlineSettingsChanged(t, newSDEnv(t, maxAge)) })
	t.Run("DeletedCaughtBySweep", func(t *testing.T) { testDeadlineDeleted(t, newSDEnv(t, maxAge)) })
	t.Run("DryRunOnce", func(t *testing.T) {
		testDeadlineDryRun(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "30", "SHUTDOWN_WARNING_MINUTES": "0", "SHUTDOWN_DRY_RUN": "true"}))
	})
}

// The warning and the stop each happen at their instant (not at a sweep),
// once, however often a deadline is delivered; a deadline of an ended
// session is a no-op.
func testDeadlineOnTheInstant(t *testing.T, e *sdEnv) {
	due := withDeadlines(e)
	e.start("ann", nil, "d-1")
	readyAt := e.now
	if st := e.sweep(); st.Armed != 1 {
		t.Fatalf("first sweep armed %d deadlines, want 1", st.Armed)
	}
	pendingAt(t, due, readyAt.Add(50*time.Minute))
	if s := e.record("d-1"); !s.DeadlineAt.Equal(readyAt.Add(50 * time.Minute)) {
		t.Errorf("DeadlineAt %v", s.DeadlineAt)
	}
	if st := e.sweep(); st.Armed != 0 || len(due.Pending()) != 1 {
		t.Fatalf("an unchanged sweep armed again: %+v", st)
	}

	e.now = readyAt.Add(50*time.Minute - time.Second)
	if msgs, _ := e.deliver(due, 1); len(msgs) != 0 {
		t.Fatalf("a deadline was delivered before its instant: %+v", msgs)
	}
	e.now = readyAt.Add(50 * time.Minute)
	if _, st := e.deliver(due, 3); st.Warned != 1 {
		t.Fatalf("3 deliveries of the warning deadline: %+v, want 1 warning", st)
	}
	if w := e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopWarning); len(w) != 1 || !w[0].StopAt.Equal(readyAt.Add(time.Hour)) {
		t.Fatalf("warnings %+v", w)
	}
	pendingAt(t, due, readyAt.Add(60*time.Minute))

	e.now = readyAt.Add(60 * time.Minute)
	calls := e.stopCalls()
	if _, st := e.deliver(due, 3); st.Stopped != 1 || e.stopCalls()-calls != 1 {
		t.Fatalf("3 deliveries of the stop deadline: %+v, %d ARR stops; want 1", st, e.stopCalls()-calls)
	}
	if s := e.record("d-1"); s.Status != arrops.SessionStopped || !s.StoppedAt.Equal(readyAt.Add(time.Hour)) ||
		!strings.HasPrefix(s.StopReason, "policy maxReadyMinutes: ") {
		t.Fatalf("after the stop deadline: %s %v %q", s.Status, s.StoppedAt, s.StopReason)
	}
	if len(due.Pending()) != 0 {
		t.Fatalf("a stopped session left deadlines: %+v", due.Pending())
	}
	// A deadline for a session that no longer runs, or never existed.
	for _, id := range []string{"d-1", "d-unknown"} {
		if st, err := shutdown.Deadline(e.ctx, e.deps, id, e.now, slog.New(slog.DiscardHandler)); err != nil || st != (shutdown.Stats{}) {
			t.Errorf("deadline of %s: %+v %v, want a no-op", id, st, err)
		}
	}
}

// An extend moves the stop: the deadline is re-armed for the new warning,
// and the old one, still delivered at its instant, does nothing.
func testDeadlineExtend(t *testing.T, e *sdEnv) {
	due := withDeadlines(e)
	e.start("ann", nil, "d-ext")
	readyAt := e.now
	e.sweep()
	pendingAt(t, due, readyAt.Add(50*time.Minute))

	e.now = readyAt.Add(20 * time.Minute)
	// What the extend command records (commands.extend), then re-arms.
	s := e.record("d-ext")
	s.ExtendedUntil, s.WarnedAt = readyAt.Add(2*time.Hour), time.Time{}
	if err := e.st.UpdateSession(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	if n, err := e.deps.Deadlines.Arm(e.ctx, []*arrops.Session{s}, e.now); err != nil || n != 1 {
		t.Fatalf("re-arm after extend: %d %v", n, err)
	}
	pendingAt(t, due, readyAt.Add(50*time.Minute), readyAt.Add(110*time.Minute))

	e.now = readyAt.Add(50 * time.Minute)
	calls := e.stopCalls()
	if msgs, st := e.deliver(due, 2); len(msgs) != 1 || st != (shutdown.Stats{}) {
		t.Fatalf("the stale deadline did %+v", st)
	}
	pendingAt(t, due, readyAt.Add(110*time.Minute))
	e.now = readyAt.Add(110 * time.Minute)
	if _, st := e.deliver(due, 1); st.Warned != 1 {
		t.Fatalf("new warning: %+v", st)
	}
	e.now = readyAt.Add(120 * time.Minute)
	if _, st := e.deliver(due, 1); st.Stopped != 1 || e.stopCalls()-calls != 1 {
		t.Fatalf("stop at the extended limit: %+v", st)
	}
}

// Settings changed after arming (a longer max age): the armed deadline is
// stale and does nothing but arm the new instant.
func testDeadlineSettingsChanged(t *testing.T, e *sdEnv) {
	due := withDeadlines(e)
	e.start("ann", nil, "d-cfg")
	readyAt := e.now
	e.sweep()
	cfg := *e.deps.Config
	cfg.Shutdown.MaxReadyMinutes = 240
	e.deps.Config = &cfg
	e.deps.Deadlines.Policy = cfg.Shutdown.Options

	e.now = readyAt.Add(50 * time.Minute)
	calls := e.stopCalls()
	if _, st := e.deliver(due, 1); st.Warned+st.Stopped != 0 || st.Armed != 1 {
		t.Fatalf("stale deadline after a settings change: %+v", st)
	}
	pendingAt(t, due, readyAt.Add(230*time.Minute))
	if e.stopCalls() != calls || len(e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopWarning)) != 0 {
		t.Fatal("the stale deadline warned or stopped")
	}
}

// A lost deadline message (deleted from the queue): the stop comes from the
// next shutdown sweep, at most one sweep (5 minutes) late.
func testDeadlineDeleted(t *testing.T, e *sdEnv) {
	e.deps.Config.Shutdown.WarningMinutes = 0
	due := withDeadlines(e)
	e.start("ann", nil, "d-lost")
	readyAt := e.now
	e.sweep()
	pendingAt(t, due, readyAt.Add(60*time.Minute))
	if n := due.Delete(func(m arrops.DueMessage) bool { return m.SessionID == "d-lost" }); n != 1 {
		t.Fatalf("deleted %d", n)
	}
	e.now = readyAt.Add(60 * time.Minute)
	if msgs, _ := e.deliver(due, 1); len(msgs) != 0 {
		t.Fatal("a deleted deadline was delivered")
	}
	if s := e.record("d-lost"); s.Status.Terminal() {
		t.Fatal("stopped without a deadline or a sweep")
	}
	e.now = readyAt.Add(62 * time.Minute) // the next sweep, within 5 minutes
	if st := e.sweep(); st.Stopped != 1 {
		t.Fatalf("the sweep did not stop the session whose deadline was lost: %+v", st)
	}
	if s := e.record("d-lost"); s.Status != arrops.SessionStopped || e.now.Sub(readyAt.Add(time.Hour)) > 5*time.Minute {
		t.Fatalf("%s, %v late", s.Status, e.now.Sub(readyAt.Add(time.Hour)))
	}
}

// Dry run: the due stop is recorded as "would stop" once; the deadline is
// not re-armed for a stop that stays due (no loop).
func testDeadlineDryRun(t *testing.T, e *sdEnv) {
	due := withDeadlines(e)
	e.start("ann", nil, "d-dry")
	readyAt := e.now
	e.sweep()
	e.now = readyAt.Add(30 * time.Minute)
	if _, st := e.deliver(due, 2); st.WouldStop != 1 || st.Stopped != 0 {
		t.Fatalf("dry-run deadline: %+v", st)
	}
	if p := due.Pending(); len(p) != 0 {
		t.Fatalf("re-armed a due dry-run stop: %+v", p)
	}
	e.now = readyAt.Add(35 * time.Minute)
	if st := e.sweep(); st.WouldStop != 0 || st.Armed != 0 || len(due.Pending()) != 0 {
		t.Fatalf("sweep after the dry-run deadline: %+v, %d pending", st, len(due.Pending()))
	}
}
