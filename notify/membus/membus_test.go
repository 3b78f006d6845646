package membus_test

import (
	"testing"

	"github.com/arrops/arrops/notify/membus"
	"github.com/arrops/arrops/notify/notifytest"
)

// TestConformance runs the transports' conformance suite against the memory
// bus: the same suite Service Bus and the local transport pass.
func TestConformance(t *testing.T) {
	notifytest.RunConformanceTests(t, func(t *testing.T, entities ...string) notifytest.Bus {
		return membus.New(entities...)
	})
}
