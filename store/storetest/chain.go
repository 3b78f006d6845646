package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// testFollowUpChain: the chain's claim record is inserted once, then only
// written through its ETag; of racing writers from one read exactly one
// wins; range queries over sessions never see it.
func testFollowUpChain(t *testing.T, st Store) {
	ctx := ctxT(t)
	c, err := st.GetFollowUpChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gen != 0 || c.ETag != "" || !c.DueAt.IsZero() {
		t.Fatalf("before the first chain: %+v", c)
	}
	due := t0.Add(5 * time.Second)
	c.Gen, c.DueAt = 1, due
	if err := st.SaveFollowUpChain(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.ETag == "" {
		t.Fatal("no ETag after the insert")
	}
	if err := st.SaveFollowUpChain(ctx, &arrops.FollowUpChain{Gen: 1}); !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Fatalf("second insert: %v, want ErrConcurrentUpdate", err)
	}
	got, err := st.GetFollowUpChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Gen != 1 || !got.DueAt.Equal(due) || got.ETag != c.ETag || got.UpdatedAt.IsZero() {
		t.Fatalf("read back %+v, wrote %+v", got, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *got
			mine.Gen, mine.Nudges = 2, int64(i)
			err := st.SaveFollowUpChain(ctx, &mine)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(err, arrops.ErrConcurrentUpdate) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 8 racing writers won, want 1", wins)
	}
	ended, err := st.GetFollowUpChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ended.DueAt = time.Time{}
	if err := st.SaveFollowUpChain(ctx, ended); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetFollowUpChain(ctx); got.Gen != 2 || !got.DueAt.IsZero() {
		t.Fatalf("ended chain reads %+v", got)
	}
	if active, err := st.ActiveSessions(ctx, t0); err != nil || len(active) != 0 {
		t.Fatalf("ActiveSessions sees %d records (%v): the chain record leaked into session queries", len(active), err)
	}
	for s, err := range st.SessionsByDay(ctx, t0.Add(-24*time.Hour), t0.Add(24*time.Hour)) {
		t.Fatalf("SessionsByDay: %+v %v", s, err)
	}
}
