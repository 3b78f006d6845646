package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// testDueMarks: named claim records (the pool's armed edge) are independent
// of each other and of the follow-up chain, inserted once, then written only
// through their ETag.
func testDueMarks(t *testing.T, st Store) {
	ctx := ctxT(t)
	a, err := st.GetDueMark(ctx, "pool-edge")
	if err != nil || a.ETag != "" {
		t.Fatalf("before the first write: %+v %v", a, err)
	}
	a.DueAt = t0
	if err := st.SaveDueMark(ctx, "pool-edge", a); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveDueMark(ctx, "pool-edge", &arrops.FollowUpChain{DueAt: t0}); !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Fatalf("second insert: %v, want ErrConcurrentUpdate", err)
	}
	stale := *a
	a.DueAt = t0.Add(time.Hour)
	if err := st.SaveDueMark(ctx, "pool-edge", a); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveDueMark(ctx, "pool-edge", &stale); !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Fatalf("stale write: %v, want ErrConcurrentUpdate", err)
	}
	if c, err := st.GetFollowUpChain(ctx); err != nil || c.ETag != "" {
		t.Fatalf("the chain record is another record: %+v %v", c, err)
	}
	got, err := st.GetDueMark(ctx, "pool-edge")
	if err != nil || !got.DueAt.Equal(t0.Add(time.Hour)) || got.ETag != a.ETag {
		t.Fatalf("read back %+v %v", got, err)
	}
	// Delete: only as read; gone is gone (a second delete is no error), and
	// the name can be inserted again.
	if err := st.DeleteDueMark(ctx, "pool-edge", &stale); !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Fatalf("stale delete: %v, want ErrConcurrentUpdate", err)
	}
	for range 2 {
		if err := st.DeleteDueMark(ctx, "pool-edge", got); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if gone, err := st.GetDueMark(ctx, "pool-edge"); err != nil || gone.ETag != "" {
		t.Fatalf("after delete: %+v %v, want none", gone, err)
	}
	if err := st.SaveDueMark(ctx, "pool-edge", &arrops.FollowUpChain{DueAt: t0}); err != nil {
		t.Fatalf("insert after delete: %v", err)
	}
}

// testReserved: a reservation not yet started is not active (ARR has no
// session for it) but is listed by ReservedSessions; once started it is
// active again.
func testReserved(t *testing.T, st Store) {
	ctx := ctxT(t)
	now := t0.Add(time.Hour)
	r := &arrops.Session{ID: "res-1", Status: arrops.SessionReserved, Origin: arrops.OriginReservation, CreatedAt: t0.Add(2 * time.Hour), StartAt: t0.Add(2*time.Hour + 5*time.Minute)}
	if _, _, err := st.CreateSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateSession(ctx, &arrops.Session{ID: "run-1", Status: arrops.SessionReady, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	active, err := st.ActiveSessions(ctx, now)
	if err != nil || len(active) != 1 || active[0].ID != "run-1" {
		t.Fatalf("active %v %v, want run-1 only", active, err)
	}
	reserved, err := st.ReservedSessions(ctx, now)
	if err != nil || len(reserved) != 1 || reserved[0].ID != "res-1" || !reserved[0].StartAt.Equal(asStored(r.StartAt)) {
		t.Fatalf("reserved %v %v, want res-1", reserved, err)
	}
	got, err := st.GetSession(ctx, "res-1")
	if err != nil {
		t.Fatal(err)
	}
	got.Status = arrops.SessionStarting
	if err := st.UpdateSession(ctx, got); err != nil {
		t.Fatal(err)
	}
	if active, _ := st.ActiveSessions(ctx, now); len(active) != 2 {
		t.Fatalf("a started reservation is active: %v", active)
	}
	if reserved, _ := st.ReservedSessions(ctx, now); len(reserved) != 0 {
		t.Fatalf("still reserved: %v", reserved)
	}
}
