package store_test

import (
	"testing"
	"time"

	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/store/storetest"
)

var _ storetest.Store = (*store.Store)(nil)

// TestConformance runs the drivers' conformance suite against Table Storage
// (Azurite).
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return store.NewTestStore(t, now)
	})
}
