package schedule

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
)

func TestDelay(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Time
		want time.Duration
	}{
		{now.Add(-time.Hour), 0},
		{now, 0},
		{now.Add(time.Millisecond), time.Second}, // rounded up: never early
		{now.Add(5 * time.Second), 5 * time.Second},
		{now.Add(5*time.Second + time.Nanosecond), 6 * time.Second},
		{now.Add(MaxDelay), MaxDelay},
		{now.Add(30 * 24 * time.Hour), MaxDelay}, // capped: re-armed on delivery
	}
	for _, tt := range tests {
		if got := Delay(tt.at, now); got != tt.want {
			t.Errorf("Delay(now%+v) = %v, want %v", tt.at.Sub(now), got, tt.want)
		}
	}
}

func TestTextDeterministic(t *testing.T) {
	at := time.Date(2026, 12, 4, 15, 0, 5, 0, time.FixedZone("CET", 3600))
	m := arrops.DueMessage{Kind: arrops.DueFollowUp, Gen: 3}
	a, err := Text(m, at)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Text(m, at.UTC())
	raw, _ := base64.StdEncoding.DecodeString(a)
	if a != b || string(raw) != `{"kind":"followup","gen":3,"at":"2026-12-04T14:00:05Z"}` {
		t.Errorf("text %q (%s), %q", a, raw, b)
	}
}

func TestMemory(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	m := &Memory{Now: func() time.Time { return now }}
	ctx := context.Background()
	for _, s := range []struct {
		id string
		at time.Duration
	}{{"late", 10 * 24 * time.Hour}, {"b", 5 * time.Second}, {"a", 2 * time.Second}} {
		if err := m.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueDeadline, SessionID: s.id}, now.Add(s.at)); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Due(now.Add(time.Second)); len(got) != 0 {
		t.Fatalf("released early: %+v", got)
	}
	got := m.Due(now.Add(5 * time.Second))
	if len(got) != 2 || got[0].SessionID != "a" || got[1].SessionID != "b" || !got[1].At.Equal(now.Add(5*time.Second)) {
		t.Fatalf("due at +5s: %+v", got)
	}
	next, ok := m.Next()
	if !ok || !next.Equal(now.Add(MaxDelay)) {
		t.Fatalf("a message 10 days out is visible at %v, want after MaxDelay", next)
	}
	if p := m.Pending(); len(p) != 1 || !p[0].Msg.At.Equal(now.Add(10*24*time.Hour)) {
		t.Fatalf("pending %+v: it must carry its real instant", p)
	}
	if n := m.Delete(func(d arrops.DueMessage) bool { return d.SessionID == "late" }); n != 1 || len(m.Pending()) != 0 {
		t.Fatalf("Delete dropped %d", n)
	}
	m.Fail(ErrOutage)
	if err := m.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueFollowUp, Gen: 1}, now); !errors.Is(err, ErrOutage) {
		t.Fatalf("Fail: %v", err)
	}
}

// TestQueue: against Azurite, a scheduled message is invisible until due,
// then dequeued once with its deterministic text; one due beyond 7 days is
// accepted (capped), and the queue is created on first use.
func TestQueue(t *testing.T) {
	az := azuritetest.Start(t)
	svc, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	qc := svc.NewQueueClient("arr-due")
	q := NewQueue(qc, nil)
	ctx := context.Background()
	put := time.Now()
	msg := arrops.DueMessage{Kind: arrops.DueFollowUp, Gen: 1}
	at := put.Add(2 * time.Second)
	if err := q.Schedule(ctx, msg, at); err != nil {
		t.Fatal(err)
	}
	if err := q.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueDeadline, SessionID: "far"}, put.Add(30*24*time.Hour)); err != nil {
		t.Fatalf("a deadline 30 days out: %v", err)
	}
	want, _ := Text(msg, at)
	for {
		resp, err := qc.DequeueMessage(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Messages) == 0 {
			if time.Since(put) > 10*time.Second {
				t.Fatal("the delayed message never became visible")
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		m := resp.Messages[0]
		if time.Now().Before(at) {
			t.Fatalf("dequeued %v before it was due", time.Until(at))
		}
		if *m.MessageText != want || *m.DequeueCount != 1 {
			t.Fatalf("dequeued %q (count %d), want %q", *m.MessageText, *m.DequeueCount, want)
		}
		if m.ExpirationTime == nil || m.ExpirationTime.Before(put.Add(365*24*time.Hour)) {
			t.Errorf("message expires %v: a due message must not expire", m.ExpirationTime)
		}
		break
	}
	props, err := qc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := *props.ApproximateMessagesCount; n != 2 {
		t.Errorf("queue holds %d messages, want 2 (the far deadline, invisible, and the leased one)", n)
	}
}
