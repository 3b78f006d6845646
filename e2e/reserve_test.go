package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// TestReservationReadyAtStartAt: with start times observed (5 sessions of
// the size), a reservation made for T starts ahead of T by their p95 and is
// Ready at T within the follow-up period and the host's queue polling. The
// handler is SIGKILLed after the reservation was accepted: the reservation
// lives in the records and on arr-due, not in the process.
func TestReservationReadyAtStartAt(t *testing.T) {
	const followUp = time.Second
	s := startSystem(t, stack.Options{
		SimArgs:  []string{"-ready-after", "3s"},
		Settings: map[string]string{"WATCH_FOLLOWUP_SECONDS": "1"},
	})
	for i := range 5 {
		s.send(`{"action":"start","size":"Standard","requestedBy":"warm"}`, notify.Message{MessageID: fmt.Sprintf("obs-%d", i)})
	}
	s.eventually(60*time.Second, "5 observed start times", func() error {
		n := 0
		for _, x := range s.sessions() {
			if x.RequestedBy == "warm" && !x.ReadyAt.IsZero() {
				n++
			}
		}
		if n < 5 {
			return fmt.Errorf("%d of 5 Ready", n)
		}
		return nil
	})
	at := time.Now().Add(25 * time.Second).UTC().Truncate(time.Second)
	s.send(`{"action":"reserve","startAt":"`+at.Format(time.RFC3339)+`","size":"Standard","requestedBy":"res"}`,
		notify.Message{MessageID: "res-1", ReplyTo: "res-replies"})
	var reply arrops.CommandReply
	s.eventually(30*time.Second, "the reserve reply", func() error {
		for _, m := range s.receive("res-replies", 8, 200*time.Millisecond) {
			if m.Subject == "CommandReply" {
				return json.Unmarshal(m.Body, &reply)
			}
		}
		return fmt.Errorf("no reply yet")
	})
	if reply.Outcome != arrops.OutcomeAccepted || reply.SessionID != "res-1" {
		t.Fatalf("reply %+v", reply)
	}
	rec := s.session("res-1")
	if rec.Status != arrops.SessionReserved || !rec.StartAt.Equal(at) {
		t.Fatalf("record %+v", rec)
	}
	lead := at.Sub(rec.CreatedAt)
	if _, err := s.stack.KillHandler(); err != nil {
		t.Fatal(err)
	}
	var readyMsgAt time.Time
	s.eventually(90*time.Second, "SessionReady for the reservation", func() error {
		for _, m := range s.receive("res-replies", 8, 200*time.Millisecond) {
			if m.Subject == string(arrops.EventSessionReady) {
				readyMsgAt = time.Now()
				return nil
			}
		}
		return fmt.Errorf("not Ready yet")
	})
	rec = s.session("res-1")
	off := rec.ReadyAt.Sub(at)
	t.Logf("reserved for %s, lead %s (observed p95), Ready recorded %+.1fs from startAt, SessionReady received %+.1fs",
		at.Format(time.TimeOnly), lead.Round(10*time.Millisecond), off.Seconds(), readyMsgAt.Sub(at).Seconds())
	// The due message is seen up to one host polling interval (host.json: 2 s)
	// late; Ready is seen within one follow-up period.
	if tol := followUp + 2*time.Second; off < -tol || off > tol {
		t.Errorf("Ready at %s, %s from startAt %s: outside ±%s", rec.ReadyAt.Format(time.StampMilli), off, at.Format(time.TimeOnly), tol)
	}
	if rec.Origin != arrops.OriginReservation || rec.RequestedBy != "res" {
		t.Errorf("record %+v", rec)
	}
}
