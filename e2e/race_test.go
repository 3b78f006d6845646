package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/stack"
)

// TestWatchRace races two watch instances over the real system: the one in
// the handler process (fired through devhost) and a second one in this test
// process with its own ARR and table clients, released together after each
// change in ARR. Sessions were started by commands (with a ReplyTo) or
// directly in ARR (adopted by whichever sweep wins), then become Ready, then
// are stopped or fail. Every record ends in ARR's state (no lost update) and
// every transition reaches arr-events, and the requester's reply queue,
// exactly once under its deterministic message id (no duplicate event).
// The in-package TestSweepRace (functions/watch) races harder, with a third
// writer; this one checks the same over the shipped binary.
func TestWatchRace(t *testing.T) {
	s := startSystem(t, stack.Options{SimArgs: []string{"-ready-after", "1s"}, Settings: faultTimersOff})
	f := newFaultRun(s)
	cfg, err := config.Load(func(k string) string { return s.stack.Settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	arrc, arrc2 := s.arrClient(), s.arrClient()
	// Warm the second instance's token, as the handler's is after the starts.
	if _, err := functions.ListSessions(s.ctx, arrc2); err != nil {
		t.Fatal(err)
	}
	second := watch.Deps{Config: cfg, ARR: functions.Value(arrc2), Records: functions.Value[watch.Records](s.store),
		Bus: functions.Value[functions.Publisher](s.bus), Now: func() time.Time { return time.Now().UTC() }}

	var commanded, external []string
	for i := range 8 {
		id := fmt.Sprintf("wr-cmd-%d", i)
		commanded = append(commanded, id)
		f.start(id)
	}
	for _, id := range commanded {
		f.await(id, 30*time.Second, arrops.OutcomeAccepted)
	}
	for i := range 6 {
		id := fmt.Sprintf("wr-ext-%d", i)
		external = append(external, id)
		if _, err := arrc.CreateSession(s.ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 30, Size: "Standard"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := append(append([]string(nil), commanded...), external...)
	f.adopted = len(external)

	race := func(round string) {
		t.Helper()
		var wg sync.WaitGroup
		var st watch.Stats
		var sweepErr error
		var code int
		var body string
		gate := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-gate; code, body = s.fireStatus("watch") }()
		go func() { defer wg.Done(); <-gate; st, sweepErr = watch.Sweep(s.ctx, second) }()
		close(gate)
		wg.Wait()
		if code != 202 || sweepErr != nil {
			t.Fatalf("%s: handler's watch %d %s; test's watch %v", round, code, body, sweepErr)
		}
		// Who won which record varies from run to run; the outcome must not.
		t.Logf("round %s: the test's sweep adopted %d and wrote %d records", round, st.Adopted, st.Writes)
	}
	race("starting") // adopts the external sessions
	s.advanceSim(2 * time.Second)
	race("ready")
	final := map[string]arrops.SessionStatus{}
	for i, id := range all {
		switch i % 3 {
		case 0:
			if _, err := arrc.StopSession(s.ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			final[id] = arrops.SessionStopped
		case 1:
			s.simAdmin("POST", "/_sim/sessions/"+id+"/fail", `{"code":"RaceFailure","message":"failed during the race"}`, nil)
			final[id] = arrops.SessionError
		}
	}
	race("stopped or failed")
	race("unchanged")
	for _, id := range all {
		if final[id] == "" {
			if _, err := arrc.StopSession(s.ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			final[id] = arrops.SessionStopped
		}
	}
	race("rest stopped")

	for _, id := range all {
		rec := s.session(id)
		if rec == nil || rec.Status != final[id] || rec.Announced != final[id] || !rec.AnnounceClaimedAt.IsZero() {
			t.Errorf("record %s: %+v, want %s and announced", id, rec, final[id])
			continue
		}
		if final[id] == arrops.SessionError && rec.ErrorCode != "RaceFailure" {
			t.Errorf("record %s: error code %q lost", id, rec.ErrorCode)
		}
	}

	// Events: everything on arr-events, and the replies' session events.
	got := map[string]int{}
	for {
		msgs := s.receive(config.EventsTopic, 32, 500*time.Millisecond)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			got[m.MessageID]++
		}
	}
	want := map[string]bool{}
	for _, id := range all {
		for _, st := range []arrops.SessionStatus{arrops.SessionStarting, arrops.SessionReady, final[id]} {
			want[functions.MessageID(id, string(arrops.SessionEventType(st)), string(st))] = true
		}
	}
	total := 0
	for id, n := range got {
		total += n
		if n != 1 {
			t.Errorf("arr-events: %s published %d times", id, n)
		}
		if !want[id] {
			t.Errorf("arr-events: unexpected %s", id)
		}
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("arr-events: %s never published", id)
		}
	}
	s.eventually(10*time.Second, "session events on the reply queue", func() error {
		replies := map[string]int{}
		for _, m := range f.replies.eventsSeen() {
			replies[m.MessageID]++
		}
		for _, id := range commanded {
			for _, st := range []arrops.SessionStatus{arrops.SessionStarting, arrops.SessionReady, final[id]} {
				mid := functions.MessageID(id, string(arrops.SessionEventType(st)), string(st), "reply")
				if n := replies[mid]; n > 1 {
					t.Fatalf("reply queue: %s received %d times", mid, n)
				} else if n == 0 {
					return fmt.Errorf("%s not received", mid)
				}
			}
		}
		return nil
	})
	t.Logf("%d sessions, 5 racing rounds: %d events on arr-events, %d distinct", len(all), total, len(got))
	f.finish()
}
