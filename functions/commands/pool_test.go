package commands_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
)

// A start during pool hours takes the Ready pool session: "accepted" with
// the hostname and "pooled": true, then SessionReady to the requester; the
// lease becomes the requested minutes from the claim. A redelivery answers
// the same; with the pool empty, or "pool": false, the start is cold.
func testPooled(t *testing.T) {
	e := newCmdEnvWith(t, map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "00:00-00:00", "POOL_LEASE_MINUTES": "15"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if st, err := e.pool.Maintain(e.ctx, time.Now(), log); err != nil || st.Started != 1 {
		t.Fatalf("maintain: %+v %v", st, err)
	}
	wd := watch.Deps{Config: e.cfg, ARR: functions.Value(e.arrc), Records: functions.Value[watch.Records](e.st), Now: time.Now,
		Bus: functions.Value[functions.Publisher](e.bus)}
	ready := func() {
		t.Helper()
		e.sim.Advance(2 * time.Second) // the pool session is Ready in ARR
		if st, err := watch.Sweep(e.ctx, wd); err != nil || st.InTransition != 0 {
			t.Fatalf("sweep: %+v %v, want nothing in transition", st, err)
		}
	}
	ready()
	body := `{"action":"start","size":"Standard","maxLeaseTimeMinutes":120,"requestedBy":"viewer","tags":{"p":"7"}}`
	for i := 1; i <= 2; i++ {
		if code, resp := e.deliver("msg-warm-1", body, i, "viewer-replies"); code != http.StatusOK {
			t.Fatalf("delivery %d: %d %v", i, code, resp.Logs)
		}
	}
	msgs := e.bus.To("viewer-replies")
	reps := replies(t, msgs, "CommandReply")
	if len(reps) != 2 {
		t.Fatalf("%d replies, want 2", len(reps))
	}
	for _, r := range reps {
		if r.Outcome != arrops.OutcomeAccepted || r.Pooled == nil || !*r.Pooled || r.Session == nil || r.Session.Hostname == "" ||
			r.SessionID != "pool-standard-"+time.Now().UTC().Format("20060102")+"-0" || r.Session.RequestedBy != "viewer" {
			t.Fatalf("reply %+v (session %+v)", r, r.Session)
		}
	}
	if msgs[0].Subject != "CommandReply" || msgs[1].Subject != string(arrops.EventSessionReady) {
		t.Fatalf("reply queue: %s then %s, want CommandReply then SessionReady", msgs[0].Subject, msgs[1].Subject)
	}
	if msgs[1].MessageID != msgs[3].MessageID {
		t.Errorf("SessionReady of the redelivery has another message id: %s, %s", msgs[1].MessageID, msgs[3].MessageID)
	}
	rec := e.session(reps[0].SessionID)
	if rec.ClaimedBy != "msg-warm-1" || rec.ClaimedAt.IsZero() || rec.RequestedAt.IsZero() || rec.RequestedAt.After(rec.ClaimedAt) || rec.RequestedBy != "viewer" || rec.Tags["p"] != "7" || rec.Origin != arrops.OriginPool {
		t.Fatalf("record %+v", rec)
	}
	a, err := e.arrc.GetSession(e.ctx, rec.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := int32(120 + int(time.Duration(rec.ClaimedAt.Sub(rec.ReadyAt)+time.Minute-1)/time.Minute))
	if a.MaxLeaseTimeMinutes == nil || *a.MaxLeaseTimeMinutes != want || rec.MaxLeaseMinutes != int(want) {
		t.Fatalf("ARR lease %v, record %d, want %d (120 from the claim)", a.MaxLeaseTimeMinutes, rec.MaxLeaseMinutes, want)
	}
	if n := len(e.bus.Events(t, config.EventsTopic, arrops.EventSessionReady)); n < 1 {
		t.Errorf("no SessionReady on the topic")
	}

	// The pool is empty now (no replacement in this test): cold.
	for i, b := range []string{`{"action":"start","size":"Standard"}`, `{"action":"start","size":"Standard","pool":false}`} {
		id := []string{"msg-cold-1", "msg-cold-2"}[i]
		if code, resp := e.deliver(id, b, 1, "cold-replies"); code != http.StatusOK {
			t.Fatalf("%s: %d %v", id, code, resp.Logs)
		}
		r := replies(t, e.bus.To("cold-replies"), "CommandReply")[i]
		if r.Outcome != arrops.OutcomeAccepted || r.Pooled == nil || *r.Pooled || r.SessionID != id || e.session(id).Origin != arrops.OriginCommand || e.session(id).RequestedAt.IsZero() {
			t.Fatalf("%s: reply %+v", id, r)
		}
	}

	// The caller's own sessionId: the pool session is handed over under it
	// (replies and events name it, ARR's id in arrSessionId), and extend
	// and stop by that id act on the pool session.
	if st, err := e.pool.Maintain(e.ctx, time.Now(), log); err != nil || st.Started != 1 {
		t.Fatalf("replacement: %+v %v", st, err)
	}
	ready()
	if code, resp := e.deliver("msg-own-1", `{"action":"start","sessionId":"my-own","size":"Standard"}`, 1, "own-replies"); code != http.StatusOK {
		t.Fatalf("%d %v", code, resp.Logs)
	}
	own := e.bus.To("own-replies")
	r := replies(t, own, "CommandReply")[0]
	if r.Pooled == nil || !*r.Pooled || r.SessionID != "my-own" || r.Session == nil || r.Session.Hostname == "" ||
		r.Session.SessionID != "my-own" || r.ArrSessionID == "" || r.Session.ArrSessionID != r.ArrSessionID {
		t.Fatalf("own id: reply %+v (session %+v)", r, r.Session)
	}
	pooled := r.ArrSessionID
	if rec := e.session(pooled); rec.ClaimedBy != "my-own" || rec.CallerID != "my-own" {
		t.Fatalf("record %+v", rec)
	}
	var ready1 arrops.Event
	if len(own) < 2 || own[1].Subject != string(arrops.EventSessionReady) || json.Unmarshal(own[1].Body, &ready1) != nil ||
		ready1.SessionID != "my-own" || ready1.ArrSessionID != pooled || own[1].ApplicationProperties["sessionId"] != "my-own" {
		t.Fatalf("SessionReady to the caller: %+v %+v", own, ready1)
	}
	if code, _ := e.deliver("msg-own-extend", `{"action":"extend","sessionId":"my-own","maxLeaseTimeMinutes":300}`, 1, "own-replies"); code != http.StatusOK {
		t.Fatal(code)
	}
	ext := replies(t, e.bus.To("own-replies"), "CommandReply")[1]
	if ext.Outcome != arrops.OutcomeAccepted || ext.SessionID != "my-own" || ext.ArrSessionID != pooled || e.session(pooled).MaxLeaseMinutes != 300 {
		t.Fatalf("extend by the caller's id: %+v, record %+v", ext, e.session(pooled))
	}
	if a, err := e.arrc.GetSession(e.ctx, pooled, nil); err != nil || a.MaxLeaseTimeMinutes == nil || *a.MaxLeaseTimeMinutes != 300 {
		t.Fatalf("ARR lease after extend by the caller's id: %+v %v", a, err)
	}
	if code, _ := e.deliver("msg-own-stop", `{"action":"stop","sessionId":"my-own"}`, 1, "own-replies"); code != http.StatusOK {
		t.Fatal(code)
	}
	stop := replies(t, e.bus.To("own-replies"), "CommandReply")[2]
	if stop.Outcome != arrops.OutcomeAccepted || stop.SessionID != "my-own" || stop.ArrSessionID != pooled || e.session(pooled).Status != arrops.SessionStopped {
		t.Fatalf("stop by the caller's id: %+v, record %+v", stop, e.session(pooled))
	}
	stopped := e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopped)
	if len(stopped) != 1 || stopped[0].SessionID != "my-own" || stopped[0].ArrSessionID != pooled {
		t.Fatalf("SessionStopped events %+v, want one naming my-own", stopped)
	}
}
