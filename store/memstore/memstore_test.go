package memstore_test

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/store/memstore"
	"github.com/arrops/arrops/store/storetest"
)

var _ storetest.Store = (*memstore.Store)(nil)

// TestConformance runs the drivers' conformance suite against the memory
// driver: the same suite store.Store passes against Azurite.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return memstore.New(&memstore.Options{Now: now})
	})
}

func TestRequests(t *testing.T) {
	st := memstore.New(nil)
	ctx := t.Context()
	s, _, err := st.CreateSession(ctx, &arrops.Session{ID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	for range st.SessionsByDay(ctx, s.CreatedAt, s.CreatedAt.Add(time.Hour)) {
	}
	if r, w := st.Requests(); r != 2 || w != 2 {
		t.Errorf("requests: %d reads, %d writes; want 2 and 2", r, w)
	}
}
