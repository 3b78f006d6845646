package commands_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/functest"
)

// A reservation is recorded (Reserved, starting ahead of startAt by the
// default lead while nothing was observed) and scheduled; its message starts
// it once, however often delivered; a stop before the start cancels it; a
// startAt in the past is a cold start now; the timer starts a due one whose
// message was lost.
func testReserve(t *testing.T, e *cmdEnv) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	startAt := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	body := `{"action":"reserve","startAt":"` + startAt.Format(time.RFC3339) + `","size":"Standard","maxLeaseTimeMinutes":90,"requestedBy":"viewer"}`
	for i := 1; i <= 2; i++ {
		if code, resp := e.deliver("msg-res-1", body, i, "res-replies"); code != http.StatusOK {
			t.Fatalf("delivery %d: %d %v", i, code, resp.Logs)
		}
	}
	reps := replies(t, e.bus.To("res-replies"), "CommandReply")
	if len(reps) != 2 || reps[0].Outcome != arrops.OutcomeAccepted || reps[0].SessionID != "msg-res-1" || reps[1].Outcome != arrops.OutcomeAccepted {
		t.Fatalf("replies %+v", reps)
	}
	rec := e.session("msg-res-1")
	lead := 5 * time.Minute
	if rec.Status != arrops.SessionReserved || rec.Origin != arrops.OriginReservation || !rec.StartAt.Equal(startAt) ||
		!rec.CreatedAt.Equal(startAt.Add(-lead)) || rec.MaxLeaseMinutes != 90 || rec.ReplyTo != "res-replies" {
		t.Fatalf("record %+v", rec)
	}
	pending := e.due.Pending()
	var msgs []arrops.DueMessage
	for _, p := range pending {
		msgs = append(msgs, p.Msg)
	}
	if len(msgs) == 0 || msgs[0].Kind != arrops.DueReservation || msgs[0].SessionID != "msg-res-1" || !msgs[0].At.Equal(startAt.Add(-lead)) {
		t.Fatalf("due messages %+v", msgs)
	}
	if n := e.sim.Stats().CreateSession; n != 0 {
		t.Fatalf("ARR asked %d times before the start", n)
	}
	// The reservation message, delivered three times: one start.
	for range 3 {
		if _, err := e.reserve.Start(e.ctx, "msg-res-1", time.Now(), log); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Stats().CreateSession; n != 1 {
		t.Fatalf("ARR creates %d, want 1", n)
	}
	rec = e.session("msg-res-1")
	if rec.Status != arrops.SessionStarting || rec.RequestedBy != "viewer" {
		t.Fatalf("after start: %+v", rec)
	}
	if n := functest.Subjects(e.bus.To("res-replies"))[string(arrops.EventSessionStarting)]; n != 1 {
		t.Fatalf("%d SessionStarting to the requester, want 1", n)
	}

	// Cancelled before its start.
	body2 := `{"action":"reserve","sessionId":"res-2","startAt":"` + startAt.Format(time.RFC3339) + `"}`
	if code, _ := e.deliver("msg-res-2", body2, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	for i := 1; i <= 2; i++ {
		if code, _ := e.deliver("msg-stop-2", `{"action":"stop","sessionId":"res-2","requestedBy":"viewer"}`, i, "stop-replies"); code != http.StatusOK {
			t.Fatal(code)
		}
	}
	for _, r := range replies(t, e.bus.To("stop-replies"), "CommandReply") {
		if r.Outcome != arrops.OutcomeAccepted {
			t.Fatalf("cancel reply %+v", r)
		}
	}
	if _, err := e.reserve.Start(e.ctx, "res-2", time.Now(), log); err != nil {
		t.Fatal(err)
	}
	rec = e.session("res-2")
	if rec.Status != arrops.SessionStopped || rec.StopReason == "" || e.sim.Stats().CreateSession != 1 {
		t.Fatalf("cancelled: %+v, creates %d", rec, e.sim.Stats().CreateSession)
	}
	if n := len(e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopped)); n != 1 {
		t.Fatalf("%d SessionStopped events for the cancel, want 1", n)
	}

	// In the past: a cold start now.
	past := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if code, _ := e.deliver("msg-res-3", `{"action":"reserve","startAt":"`+past+`"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if rec := e.session("msg-res-3"); rec.Status != arrops.SessionStarting || e.sim.Stats().CreateSession != 2 {
		t.Fatalf("past startAt: %+v", rec)
	}

	// The message is lost: the timer's StartDue starts it once its start came.
	soon := time.Now().UTC().Add(lead + time.Minute).Truncate(time.Second)
	if code, _ := e.deliver("msg-res-4", `{"action":"reserve","startAt":"`+soon.Format(time.RFC3339)+`"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if n, err := e.reserve.StartDue(e.ctx, time.Now(), log); err != nil || n != 0 {
		t.Fatalf("before its start: %d %v", n, err)
	}
	if n, err := e.reserve.StartDue(e.ctx, time.Now().Add(2*time.Minute), log); err != nil || n != 1 {
		t.Fatalf("after its start: %d %v, want 1", n, err)
	}
	if rec := e.session("msg-res-4"); rec.Status != arrops.SessionStarting {
		t.Fatalf("timer start: %+v", rec)
	}

	// Intent first: the start is recorded (Reserved -> Requested) before
	// ARR is asked; a delivery whose create fails leaves the intent and no
	// ARR session; the redelivery, or the timer, carries it on: one session.
	if code, _ := e.deliver("msg-res-5", `{"action":"reserve","startAt":"`+soon.Format(time.RFC3339)+`"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	creates := e.sim.Stats().CreateSession
	e.sim.SetFaults(arrsim.Faults{Error500Next: 1})
	if _, err := e.reserve.Start(e.ctx, "msg-res-5", time.Now().Add(2*time.Minute), log); err == nil {
		t.Fatal("reservation start with ARR answering 500: no error")
	}
	if rec := e.session("msg-res-5"); rec.Status != arrops.SessionRequested {
		t.Fatalf("after the failed create: %+v, want Requested", rec)
	}
	if _, err := e.arrc.GetSession(e.ctx, "msg-res-5", nil); arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Fatalf("ARR has the reservation's session before it was created: %v", err)
	}
	if n, err := e.reserve.StartDue(e.ctx, time.Now().Add(2*time.Minute), log); err != nil || n != 1 {
		t.Fatalf("timer after the failed create: %d %v, want the intent carried on", n, err)
	}
	if _, err := e.reserve.Start(e.ctx, "msg-res-5", time.Now().Add(2*time.Minute), log); err != nil {
		t.Fatal(err) // the redelivery: nothing more to do
	}
	if rec := e.session("msg-res-5"); rec.Status != arrops.SessionStarting || e.sim.Stats().CreateSession != creates+2 {
		t.Fatalf("resumed: %+v, creates %d, want Starting after %d", rec, e.sim.Stats().CreateSession, creates+2)
	}
	if n := functest.Subjects(e.bus.To("res-replies"))[string(arrops.EventSessionStarting)]; n != 1 {
		t.Fatalf("%d SessionStarting to the requester, want 1", n)
	}
}
