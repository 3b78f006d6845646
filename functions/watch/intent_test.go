package watch_test

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
)

// TestRequested: the sweep settles recorded intents (Requested records)
// whose command or blob event did not finish.
func TestRequested(t *testing.T) {
	e := newWatchEnv(t)
	intent := func(id string, age time.Duration) {
		t.Helper()
		s := &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionRequested, Origin: arrops.OriginCommand,
			RequestedBy: "app", MaxLeaseMinutes: 60, CreatedAt: e.now.Add(-age), ReplyTo: "app-replies", CorrelationID: "msg-" + id}
		if _, _, err := e.st.CreateSession(e.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	convIntent := func(id string, age time.Duration) {
		t.Helper()
		c := &arrops.Conversion{ID: id, InputContainer: "arr-input", InputPath: id + ".glb", OutputContainer: "arr-output",
			Status: arrops.ConversionRequested, CreatedAt: e.now.Add(-age)}
		if _, _, err := e.st.CreateConversion(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	grace := functions.RequestedGrace
	intent("young", grace-time.Minute)   // its command is still retried: left alone
	intent("old", grace+time.Minute)     // nobody will create it: abandoned
	intent("started", grace+time.Minute) // ARR has it (an answer lost): recorded
	e.startInARR("started")
	intent("late", grace+time.Minute) // abandoned, then ARR starts it: stopped next sweep
	convIntent("conv-young", grace-time.Minute)
	convIntent("conv-old", grace+time.Minute)

	st, err := watch.Sweep(e.ctx, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if st.Abandoned != 3 {
		t.Errorf("abandoned %d, want 3 (old, late, conv-old)", st.Abandoned)
	}
	if s := e.record("young"); s.Status != arrops.SessionRequested {
		t.Errorf("young intent: %s, want still Requested", s.Status)
	}
	for _, id := range []string{"old", "late"} {
		s := e.record(id)
		if s.Status != arrops.SessionError || s.ErrorCode != functions.ErrorStartAbandoned || s.StoppedAt.IsZero() || !s.AnnounceClaimedAt.IsZero() {
			t.Errorf("%s: %+v, want Error/%s, announced", id, s, functions.ErrorStartAbandoned)
		}
	}
	if s := e.record("started"); s.Status != arrops.SessionStarting || s.RequestedBy != "app" || s.Origin != arrops.OriginCommand {
		t.Errorf("started: %+v, want Starting with its requester", s)
	}
	// The requester hears of each: SessionError for the abandoned ones,
	// SessionStarting for the one ARR had, correlated with the command.
	got := map[string]string{}
	for _, m := range e.bus.To("app-replies") {
		got[m.CorrelationID] = m.Subject
	}
	want := map[string]string{"msg-old": "SessionError", "msg-late": "SessionError", "msg-started": "SessionStarting"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reply queue: %v, want %v", got, want)
			break
		}
	}
	if evs := e.bus.Events(t, config.EventsTopic, arrops.EventConversionFailed); len(evs) != 1 || evs[0].ConversionID != "conv-old" ||
		evs[0].ErrorCode != functions.ErrorStartAbandoned {
		t.Errorf("ConversionFailed events %+v, want conv-old abandoned", evs)
	}
	if c, err := e.st.GetConversion(e.ctx, "conv-young"); err != nil || c.Status != arrops.ConversionRequested {
		t.Errorf("young conversion intent: %+v %v, want still Requested", c, err)
	}

	// ARR starts the abandoned "late" session after all: the next sweep
	// stops it, and its record stays what the requester was told.
	e.startInARR("late")
	if st, err = watch.Sweep(e.ctx, e.deps); err != nil {
		t.Fatal(err)
	}
	if st.StoppedAbandoned != 1 {
		t.Errorf("stopped %d abandoned sessions, want 1", st.StoppedAbandoned)
	}
	resp, err := e.arrc.GetSession(e.ctx, "late", nil)
	if err != nil || resp.Status != arr.SessionStatus(arrops.SessionStopped) {
		t.Errorf("ARR's late session: %+v %v, want Stopped", resp, err)
	}
	if s := e.record("late"); s.Status != arrops.SessionError || s.ErrorCode != functions.ErrorStartAbandoned {
		t.Errorf("late: %+v", s)
	}
}
