package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// faultTimersOff keeps the watch and shutdown timers from firing during a
// fault test (once a year): an injected "next N calls" fault must hit the
// command under test, not a timer's List call. Tests fire watch themselves.
var faultTimersOff = map[string]string{"WATCH_SCHEDULE": "0 0 0 1 1 *", "SHUTDOWN_SCHEDULE": "0 0 0 1 1 *"}

const faultReplyQueue = "fault-replies"

// faultRun sends commands and checks the invariants of the load scenario on
// what it sent: one record and one ARR session per start, every delivery
// audited, nothing rejected, nothing left running, nothing dead-lettered.
type faultRun struct {
	s       *system
	replies *replyCollector
	mu      sync.Mutex
	starts  []string
	sentAt  map[string]time.Time
	adopted int // sessions started outside arrops, adopted by watch
}

func newFaultRun(s *system) *faultRun {
	return &faultRun{s: s, replies: s.collectReplies(faultReplyQueue, 1), sentAt: map[string]time.Time{}}
}

// send puts a command with ReplyTo on arr-commands.
func (f *faultRun) send(id, body string) {
	f.s.t.Helper()
	f.mu.Lock()
	f.sentAt[id] = time.Now()
	f.mu.Unlock()
	f.s.send(body, notify.Message{MessageID: id, ReplyTo: faultReplyQueue, ContentType: "application/json"})
}

// start sends a start command whose session id derives from id.
func (f *faultRun) start(id string) {
	f.s.t.Helper()
	f.mu.Lock()
	f.starts = append(f.starts, id)
	f.mu.Unlock()
	f.send(id, `{"action":"start","maxLeaseTimeMinutes":30,"requestedBy":"fault-requester"}`)
}

// stop sends the stop command of session id.
func (f *faultRun) stop(id string) {
	f.s.t.Helper()
	f.send(id+"-stop", fmt.Sprintf(`{"action":"stop","sessionId":%q,"requestedBy":"fault-requester"}`, id))
}

// await waits for the reply to command id, checks its outcome and returns
// the time from send to reply.
func (f *faultRun) await(id string, limit time.Duration, want ...arrops.Outcome) time.Duration {
	f.s.t.Helper()
	r, err := f.replies.wait(id, limit)
	if err != nil {
		f.s.t.Fatal(err)
	}
	if !slices.Contains(want, r.Outcome) {
		f.s.t.Fatalf("command %s answered %s %q, want %v", id, r.Outcome, r.Reason, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.at.Sub(f.sentAt[id])
}

// finish stops every started session that is still active and checks the
// invariants.
func (f *faultRun) finish() {
	s, t := f.s, f.s.t
	t.Helper()
	for _, id := range f.starts {
		if rec := s.session(id); rec != nil && !rec.Status.Terminal() {
			f.stop(id)
			f.await(id+"-stop", 30*time.Second, arrops.OutcomeAccepted)
		}
	}
	for _, id := range f.starts {
		rec := s.session(id)
		switch {
		case rec == nil:
			t.Errorf("start %s: no record", id)
		case rec.Origin != arrops.OriginCommand || rec.CorrelationID != id || rec.RequestedBy != "fault-requester":
			t.Errorf("record %s: origin %s correlation %q requester %q: the command's attribution is lost", id, rec.Origin, rec.CorrelationID, rec.RequestedBy)
		case !rec.Status.Terminal():
			t.Errorf("record %s is %s after its stop", id, rec.Status)
		}
	}
	if n := len(s.sessions()); n != len(f.starts)+f.adopted {
		t.Errorf("%d session records, want %d (one per start, one per adopted session)", n, len(f.starts)+f.adopted)
	}
	for id := range f.sentAt {
		for _, a := range s.audit(id) {
			if a.Outcome == arrops.OutcomeRejected {
				t.Errorf("command %s rejected: %s", id, a.Reason)
			}
		}
		if len(s.audit(id)) == 0 {
			t.Errorf("command %s: no audit row", id)
		}
	}
	if running := s.runningSessions(); len(running) > 0 {
		t.Errorf("sessions left running in the simulator: %v", running)
	}
	if n := s.failedMessages(); n != 0 {
		t.Errorf("%d messages dead-lettered or poisoned", n)
	}
	if n := s.queueLength(config.CommandsQueue); n != 0 {
		t.Errorf("%d messages left on %s", n, config.CommandsQueue)
	}
}

// simCallRe matches the simulator's per-call log line (slog text, times in
// milliseconds) as the stack prefixes it.
var simCallRe = regexp.MustCompile(`arrsim\s+\| time=(\S+) level=INFO msg="arrsim call" op=(\S+) method=\S+ path=(\S+) status=(\d+)`)

type simCall struct {
	at     time.Time
	op     string
	path   string
	status string
}

// simCalls returns the simulator's logged calls whose path ends in suffix.
func (s *system) simCalls(suffix string) []simCall {
	s.t.Helper()
	var out []simCall
	for _, m := range simCallRe.FindAllStringSubmatch(s.logs.String(), -1) {
		if !strings.HasSuffix(m[3], suffix) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			s.t.Fatalf("simulator log time %q: %v", m[1], err)
		}
		out = append(out, simCall{at: at, op: m[2], path: m[3], status: m[4]})
	}
	return out
}

// TestFaultsARR injects the simulator's faults one after the other into a
// running system and checks that commands still end in exactly one session
// and record each: a 429 whose Retry-After is waited out (measured on the
// simulator's clock), a 429 whose Retry-After exceeds the client's bound (the
// invocation fails at once and the redelivery succeeds), a burst of 500s, a
// latency spike, and a session that fails to start (record Error with ARR's
// code, SessionError announced).
func TestFaultsARR(t *testing.T) {
	s := startSystem(t, stack.Options{SimArgs: []string{"-ready-after", "1s"}, Settings: faultTimersOff})
	f := newFaultRun(s)

	t.Run("429 Retry-After honoured", func(t *testing.T) {
		const retryAfter = 2 * time.Second
		s.setFaults(`{"throttle429Next":1,"retryAfterSeconds":2}`)
		f.start("ft-429")
		took := f.await("ft-429", 30*time.Second, arrops.OutcomeAccepted)
		calls := s.simCalls("/sessions/ft-429")
		if len(calls) < 2 || calls[0].status != "429" || calls[1].op != calls[0].op || calls[1].status[0] != '2' {
			t.Fatalf("simulator saw %+v, want a 429 then a successful create", calls)
		}
		// Both times are the ends of the calls in milliseconds; the 429's end
		// is at most its write, so the gap understates the wait by under 1 ms.
		waited := calls[1].at.Sub(calls[0].at)
		if waited < retryAfter-time.Millisecond {
			t.Fatalf("retry %s after the 429, want ≥ Retry-After %s", waited, retryAfter)
		}
		t.Logf("429 with Retry-After %s: retry after %s; command answered after %s", retryAfter, waited.Round(time.Millisecond), took.Round(time.Millisecond))
	})

	t.Run("429 Retry-After beyond the bound", func(t *testing.T) {
		// 120 s exceeds the client's MaxRetryDelay (60 s): it does not sleep,
		// the invocation fails and the host redelivers at once.
		s.setFaults(`{"throttle429Next":1,"retryAfterSeconds":120}`)
		f.start("ft-429-long")
		took := f.await("ft-429-long", 30*time.Second, arrops.OutcomeAccepted, arrops.OutcomeNoop)
		if took >= 60*time.Second {
			t.Fatalf("answered after %s: the client slept on a 120 s Retry-After", took)
		}
		rows := s.audit("ft-429-long")
		if len(rows) != 1 || rows[0].DeliveryCount < 2 {
			t.Fatalf("audit rows %s: want one row from the redelivery (delivery count ≥ 2)", auditSummary(rows))
		}
		t.Logf("429 with Retry-After 120 s: failed fast, redelivered, answered after %s (delivery %d)", took.Round(time.Millisecond), rows[0].DeliveryCount)
	})

	t.Run("500 burst", func(t *testing.T) {
		before := s.simStats().Injected500
		s.setFaults(`{"error500Next":6}`)
		ids := []string{"ft-500-a", "ft-500-b", "ft-500-c"}
		for _, id := range ids {
			f.start(id)
		}
		for _, id := range ids {
			f.await(id, 45*time.Second, arrops.OutcomeAccepted, arrops.OutcomeNoop)
		}
		if got := s.simStats().Injected500 - before; got != 6 {
			t.Fatalf("%d injected 500s, want the burst of 6", got)
		}
	})

	t.Run("latency spike", func(t *testing.T) {
		s.setFaults(`{"latency":"1500ms"}`)
		ids := []string{"ft-slow-a", "ft-slow-b"}
		for _, id := range ids {
			f.start(id)
		}
		for _, id := range ids {
			if took := f.await(id, 30*time.Second, arrops.OutcomeAccepted); took < 1500*time.Millisecond {
				t.Fatalf("%s answered after %s, faster than the injected latency", id, took)
			}
		}
		s.setFaults(`{}`)
	})

	t.Run("session start error", func(t *testing.T) {
		s.setFaults(`{"startErrorNext":1,"startErrorCode":"CapacityUnavailable","startErrorMessage":"No capacity in eastus."}`)
		f.start("ft-starterr")
		f.await("ft-starterr", 30*time.Second, arrops.OutcomeAccepted)
		s.setFaults(`{}`)
		// The session fails at the simulated Ready time; watch records it.
		rec := s.waitSession("ft-starterr", 20*time.Second, func(r *arrops.Session) error {
			if r.Status != arrops.SessionError {
				s.fire("watch")
				return fmt.Errorf("status %s", r.Status)
			}
			return nil
		})
		if rec.ErrorCode != "CapacityUnavailable" || rec.ErrorMessage != "No capacity in eastus." {
			t.Fatalf("record error %q %q, want ARR's code and message", rec.ErrorCode, rec.ErrorMessage)
		}
		s.eventually(20*time.Second, "SessionError event", func() error {
			for _, ev := range f.replies.eventsSeen() {
				if ev.MessageID == "ft-starterr.SessionError.Error.reply" {
					return nil
				}
			}
			return fmt.Errorf("no SessionError reply event yet")
		})
	})

	f.finish()
}

// TestFaultsAzuriteRestart restarts Azurite (same ports, data on disk)
// twice: once between two batches of commands — the records written before
// must survive and the system keep working — and once while a batch is in
// flight, held in slow ARR calls so that their table writes, replies and
// message settlements fall into or right after the outage.
//
// Azurite runs with a -location data directory here: with the default
// in-memory persistence a restart loses every table and queue, and only
// "the system works again" could be asserted.
func TestFaultsAzuriteRestart(t *testing.T) {
	s := startSystem(t, stack.Options{SimArgs: []string{"-ready-after", "1s"}, Settings: faultTimersOff,
		AzuriteOptions: azuriteOnDisk(t)})
	f := newFaultRun(s)

	batchA := []string{"fa-a1", "fa-a2", "fa-a3", "fa-a4"}
	for _, id := range batchA {
		f.start(id)
	}
	for _, id := range batchA {
		f.await(id, 30*time.Second, arrops.OutcomeAccepted)
	}
	began := time.Now()
	if err := s.stack.RestartAzurite(s.ctx, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("idle restart: Azurite down and up again in %s", time.Since(began).Round(time.Millisecond))
	for _, id := range batchA {
		if rec := s.session(id); rec == nil || rec.CorrelationID != id {
			t.Fatalf("record %s did not survive the restart: %+v", id, rec)
		}
	}

	// In flight: four starts held for 2 s in ARR's PUT, Azurite restarted
	// meanwhile.
	s.setFaults(`{"latency":"2s"}`)
	created := s.simStats().CreateSession
	batchB := []string{"fa-b1", "fa-b2", "fa-b3", "fa-b4"}
	for _, id := range batchB {
		f.start(id)
	}
	s.eventually(20*time.Second, "batch B inside ARR calls", func() error {
		if n := s.simStats().CreateSession - created; n < int64(len(batchB)) {
			return fmt.Errorf("%d of %d creates reached the simulator", n, len(batchB))
		}
		return nil
	})
	began = time.Now()
	if err := s.stack.RestartAzurite(s.ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart in flight: Azurite down and up again in %s", time.Since(began).Round(time.Millisecond))
	s.setFaults(`{}`)
	for _, id := range batchB {
		took := f.await(id, 60*time.Second, arrops.OutcomeAccepted, arrops.OutcomeNoop)
		t.Logf("%s answered %s after it was sent (delivery attempts: %s)", id, took.Round(time.Millisecond), auditSummary(s.audit(id)))
	}
	s.fire("watch") // a sweep over the restarted storage works too
	f.finish()
}

// azuriteOnDisk keeps Azurite's data in a test directory so a restart keeps it.
func azuriteOnDisk(t *testing.T) (o azurite.Options) {
	o.Location = t.TempDir()
	return o
}

// TestFaultsHandlerKilled SIGKILLs the handler while four start commands are
// inside their ARR calls (held there by injected latency). devhost restarts
// it; the failed invocations' messages are delivered again and each command
// still ends in one session and one record with its requester.
func TestFaultsHandlerKilled(t *testing.T) {
	s := startSystem(t, stack.Options{SimArgs: []string{"-ready-after", "1s"}, Settings: faultTimersOff})
	f := newFaultRun(s)
	s.setFaults(`{"latency":"3s"}`)
	ids := []string{"fk-1", "fk-2", "fk-3", "fk-4"}
	for _, id := range ids {
		f.start(id)
	}
	s.eventually(20*time.Second, "starts inside ARR calls", func() error {
		if n := s.simStats().CreateSession; n < int64(len(ids)) {
			return fmt.Errorf("%d of %d creates reached the simulator", n, len(ids))
		}
		return nil
	})
	killed, err := s.stack.KillHandler()
	if err != nil {
		t.Fatal(err)
	}
	s.setFaults(`{}`)
	s.eventually(30*time.Second, "devhost restarts the handler", func() error {
		pid, err := s.stack.HandlerPID()
		if err != nil {
			return err
		}
		if pid == killed {
			return fmt.Errorf("still pid %d", pid)
		}
		return nil
	})
	for _, id := range ids {
		took := f.await(id, 45*time.Second, arrops.OutcomeAccepted, arrops.OutcomeNoop)
		rows := s.audit(id)
		if len(rows) == 0 || slices.IndexFunc(rows, func(a *arrops.CommandAudit) bool { return a.DeliveryCount >= 2 }) < 0 {
			t.Errorf("%s: audit rows %s, want the redelivery after the kill", id, auditSummary(rows))
		}
		t.Logf("%s answered after %s: %s", id, took.Round(time.Millisecond), auditSummary(rows))
	}
	f.finish()
}
