package due_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/due"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/store/memstore"
	"github.com/arrops/arrops/trigger"
)

var t0 = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

type dueKit struct {
	now       time.Time
	q         *schedule.Memory
	chain     *memstore.Store
	fn        functions.Func
	sweeps    int
	busy      bool
	deadlines []arrops.DueMessage
}

func newDueKit() *dueKit {
	k := &dueKit{now: t0, chain: memstore.New(nil)}
	k.q = &schedule.Memory{Now: func() time.Time { return k.now }}
	sched := functions.Value[schedule.Scheduler](k.q)
	k.fn = due.New(due.Deps{
		FollowUps: &functions.FollowUps{Period: 5 * time.Second, Due: sched, Records: functions.Value[functions.ChainRecords](k.chain)},
		Sweep: func(context.Context, *slog.Logger) (bool, error) {
			k.sweeps++
			return k.busy, nil
		},
		Deadline: func(_ context.Context, m arrops.DueMessage, _ *slog.Logger) error {
			k.deadlines = append(k.deadlines, m)
			return nil
		},
		Due: sched, Now: func() time.Time { return k.now },
	})
	return k
}

// deliver invokes the function with text as the host delivers a queue message.
func (k *dueKit) deliver(t *testing.T, text string) (string, error) {
	t.Helper()
	body, err := trigger.EncodeQueueInvocation(due.Binding, trigger.QueueMessage{Body: []byte(text), ID: "q-1", DequeueCount: 1,
		InsertionTime: k.now, ExpirationTime: k.now.Add(time.Hour), NextVisibleTime: k.now.Add(time.Minute), PopReceipt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := trigger.DecodeInvocation(body)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	err = k.fn(context.Background(), inv, &trigger.Response{}, slog.New(slog.NewTextHandler(&logs, nil)))
	return logs.String(), err
}

func text(t *testing.T, m arrops.DueMessage) string {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDueFunction(t *testing.T) {
	t.Run("undecodable is settled and logged", func(t *testing.T) {
		k := newDueKit()
		for _, bad := range []string{`nope`, `{"kind":"poolparty","at":"2026-12-04T15:00:00Z"}`, `{"kind":"followup","gen":0,"at":"2026-12-04T15:00:00Z"}`} {
			logs, err := k.deliver(t, bad)
			if err != nil || !strings.Contains(logs, "undecodable due message") {
				t.Errorf("%s: err %v, logs %s", bad, err, logs)
			}
		}
	})
	t.Run("deadline dispatched", func(t *testing.T) {
		k := newDueKit()
		m := arrops.DueMessage{Kind: arrops.DueDeadline, SessionID: "s-1", At: t0}
		if _, err := k.deliver(t, text(t, m)); err != nil || len(k.deadlines) != 1 || k.deadlines[0].SessionID != "s-1" {
			t.Fatalf("deadline: %v %+v", err, k.deadlines)
		}
	})
	t.Run("early message scheduled again", func(t *testing.T) {
		k := newDueKit()
		far := t0.Add(10 * 24 * time.Hour)
		m := arrops.DueMessage{Kind: arrops.DueDeadline, SessionID: "s-far", At: far}
		if _, err := k.deliver(t, text(t, m)); err != nil || len(k.deadlines) != 0 {
			t.Fatalf("early deadline acted on: %v %+v", err, k.deadlines)
		}
		p := k.q.Pending()
		if len(p) != 1 || !p[0].Msg.At.Equal(far) || !p[0].Visible.Equal(t0.Add(schedule.MaxDelay)) {
			t.Fatalf("re-armed %+v, want the same instant, visible after the 7-day cap", p)
		}
	})
	t.Run("follow-up: live link sweeps and continues, stale one does nothing", func(t *testing.T) {
		k := newDueKit()
		k.busy = true
		f := &functions.FollowUps{Period: 5 * time.Second, Due: functions.Value[schedule.Scheduler](k.q), Records: functions.Value[functions.ChainRecords](k.chain)}
		if _, err := f.Kick(context.Background(), k.now); err != nil {
			t.Fatal(err)
		}
		k.now = k.now.Add(5 * time.Second)
		link := k.q.Due(k.now)[0]
		logs, err := k.deliver(t, text(t, link))
		if err != nil || k.sweeps != 1 || !strings.Contains(logs, "outcome=continued") || len(k.q.Pending()) != 1 {
			t.Fatalf("live link: %v, %d sweeps, %d pending\n%s", err, k.sweeps, len(k.q.Pending()), logs)
		}
		logs, err = k.deliver(t, text(t, link)) // redelivered
		if err != nil || k.sweeps != 1 || !strings.Contains(logs, "outcome=stale") || len(k.q.Pending()) != 1 {
			t.Fatalf("stale link: %v, %d sweeps\n%s", err, k.sweeps, logs)
		}
	})
}
