package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/loadresult"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// TestReadyLatency measures ARR Ready -> SessionReady on the requester's
// ReplyTo over 20 sessions with the production schedules (watch every
// minute, follow-ups every 5 s, host.json polling at 2 s), the starts spread
// over 14 s so their Ready instants fall on every phase of the follow-ups.
// ARR's Ready is the simulator's creationTime + its ready-after. The
// baseline (follow-ups off: the minute timer alone) runs only with
// ARROPS_TIMING_BASELINE=1, as it takes about two minutes.
func TestReadyLatency(t *testing.T) {
	// spacing spreads the Ready instants over the sweep period's phases:
	// 20 x 0.7 s covers 14 s, nearly three follow-up periods; the baseline's
	// period is the minute timer's, so its starts are 3 s apart.
	run := func(t *testing.T, followUp string, spacing time.Duration) *loadresult.Latency {
		const readyAfter = 7 * time.Second
		s := startSystem(t, stack.Options{
			Settings: map[string]string{"WATCH_SCHEDULE": "0 */1 * * * *", "SHUTDOWN_SCHEDULE": "0 */5 * * * *", "WATCH_FOLLOWUP_SECONDS": followUp},
			SimArgs:  []string{"-ready-after", readyAfter.String()},
		})
		const n = 20
		replies := "timing-" + followUp
		// Replies are received while the starts go out.
		arrivals := s.arrivals(replies, n, n*spacing+90*time.Second, arrops.EventSessionReady)
		for i := range n {
			id := fmt.Sprintf("lat-%s-%02d", followUp, i)
			s.send(`{"action":"start","sessionId":"`+id+`","size":"Standard","maxLeaseTimeMinutes":60,"requestedBy":"timing"}`,
				notify.Message{MessageID: "m-" + id, ReplyTo: replies})
			time.Sleep(spacing)
		}
		arrc := s.arrClient()
		var lat []time.Duration
		for a := range arrivals {
			ev := a.ev
			as, err := arrc.GetSession(s.ctx, ev.SessionID, nil)
			if err != nil || as.CreationTime == nil {
				t.Fatalf("ARR view of %s: %v", ev.SessionID, err)
			}
			ready := as.CreationTime.Add(readyAfter)
			lat = append(lat, a.got.Sub(ready))
			// ReadyAt, where billing and max age start, is ARR's Ready as
			// the follow-ups saw it: within seconds with them on.
			rec, err := s.store.GetSession(s.ctx, ev.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			if skew := rec.ReadyAt.Sub(ready); followUp != "0" && (skew < -time.Second || skew > 6*time.Second) {
				t.Errorf("%s: ReadyAt %v after ARR's Ready, want within 6 s", ev.SessionID, skew)
			}
			// The report's billed minutes agree with ARR's elapsed minutes.
			if now := time.Now(); as.ElapsedTimeMinutes != nil && followUp != "0" {
				if d := rec.BilledMinutes(now) - float64(*as.ElapsedTimeMinutes); d < -1 || d > 1 {
					t.Errorf("%s: billed %.2f min, ARR elapsed %d min", ev.SessionID, rec.BilledMinutes(now), *as.ElapsedTimeMinutes)
				}
			}
			if os.Getenv("ARROPS_TIMING_LOG") != "" {
				t.Logf("%s ready %s got %s latency %v", ev.SessionID, ready.Format("15:04:05.000"), a.got.Format("15:04:05.000"), a.got.Sub(ready))
			}
		}
		if len(lat) != n {
			t.Fatalf("%d of %d SessionReady replies within the deadline", len(lat), n)
		}
		if os.Getenv("ARROPS_TIMING_LOG") != "" {
			t.Logf("process output:\n%s", s.logs.String())
		}
		l := loadresult.Summarise(lat)
		t.Logf("Ready -> SessionReady (WATCH_FOLLOWUP_SECONDS=%s, %d sessions): p50 %.2f s, p95 %.2f s, max %.2f s", followUp, n, l.P50Ms/1000, l.P95Ms/1000, l.MaxMs/1000)
		return l
	}
	t.Run("followups", func(t *testing.T) {
		l := run(t, "5", 700*time.Millisecond)
		writeTiming(t, func(r *loadresult.Timing) { r.ReadyFollowUps = l })
		// The target is p95 <= 5 s (make bench reports it); the test
		// allows a loaded CI machine some slack, still far below the minute
		// timer's 60 s.
		if l.P95Ms > 8000 {
			t.Errorf("p95 %.0f ms, want <= 8 s (target 5 s)", l.P95Ms)
		}
		if l.MinMs < -1000 {
			t.Errorf("a SessionReady %.0f ms before ARR's Ready", -l.MinMs)
		}
	})
	t.Run("baseline", func(t *testing.T) {
		if os.Getenv("ARROPS_TIMING_BASELINE") == "" {
			t.Skip("set ARROPS_TIMING_BASELINE=1 for the minute-timer baseline (over a minute)")
		}
		l := run(t, "0", 3*time.Second)
		writeTiming(t, func(r *loadresult.Timing) { r.ReadyBaseline = l })
	})
}

// arrival is an event received on a local queue, stamped when it arrived.
type arrival struct {
	ev  arrops.Event
	got time.Time
}

// arrivals receives events of the given types from queue (polling every
// 20 ms) until want of them have arrived or limit has passed, and sends them
// on, each stamped on arrival. It runs while the test sends its requests.
func (s *system) arrivals(queue string, want int, limit time.Duration, types ...arrops.EventType) <-chan arrival {
	s.replyQueue(queue) // the requester's queue exists before it asks
	s.pollFast()
	out := make(chan arrival, 4*want)
	go func() {
		defer close(out)
		deadline := time.Now().Add(limit)
		seen := 0
		for seen < want && time.Now().Before(deadline) && s.ctx.Err() == nil {
			msgs, err := s.bus.Receive(s.ctx, queue, 32, time.Second)
			got := time.Now()
			if err != nil {
				return
			}
			for _, m := range msgs {
				var ev arrops.Event
				if json.Unmarshal(m.Body, &ev) != nil || !slices.Contains(types, ev.Type) {
					continue
				}
				seen++
				out <- arrival{ev, got}
			}
		}
	}()
	return out
}

// writeTiming updates $ARROPS_RESULTS_DIR/timing.json (when set) with one
// scenario's part.
func writeTiming(t testing.TB, set func(*loadresult.Timing)) {
	t.Helper()
	dir := os.Getenv("ARROPS_RESULTS_DIR")
	if dir == "" {
		return
	}
	var r loadresult.Timing
	if b, err := os.ReadFile(filepath.Join(dir, loadresult.TimingFileName)); err == nil {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	set(&r)
	writeResult(t, loadresult.TimingFileName, r)
}
