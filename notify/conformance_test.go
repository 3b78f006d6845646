package notify_test

import (
	"testing"
	"time"

	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/notify/notifytest"
)

// TestConformance runs the transports' conformance suite against Service
// Bus (behind the SDK seam: no emulator exists) and the local transport on
// Azurite queues (skipped under -short).
func TestConformance(t *testing.T) {
	t.Run("ServiceBus", func(t *testing.T) {
		notifytest.RunConformanceTests(t, func(t *testing.T, entities ...string) notifytest.Bus {
			return notify.NewConformanceServiceBus(entities...)
		})
	})
	t.Run("Local", func(t *testing.T) {
		az := azuritetest.Shared(t)
		svc, err := notify.QueueService(az.ConnectionString, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		notifytest.RunConformanceTests(t, func(t *testing.T, entities ...string) notifytest.Bus {
			for _, e := range entities {
				name, err := notify.QueueName(e)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.CreateQueue(t.Context(), name, nil); err != nil {
					t.Fatal(err)
				}
			}
			l := notify.NewLocal(svc)
			l.PollInterval = 20 * time.Millisecond
			return l
		})
	})
}
