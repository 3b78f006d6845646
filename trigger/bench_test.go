package trigger

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecodeServiceBus decodes the Service Bus fixture end to end
// (envelope, body unwrapping, shadow check, metadata). The "generic" case is
// the baseline: one json.Unmarshal of the same request into map[string]any,
// which is what a handler without this package would start from. Compare the
// two as a ratio (same process, same input).
func BenchmarkDecodeServiceBus(b *testing.B) {
	body := readFixture(b, "servicebus-trigger-start-command.json")
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			inv, err := DecodeInvocation(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := inv.ServiceBusMessage("cmd"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
