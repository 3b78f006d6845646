package devhost

import (
	"testing"
	"time"

	"github.com/arrops/arrops/trigger"
)

// TestTriggerDecodesDevhostPayloads checks the two halves against each other:
// what devhost sends, the handler's trigger package reads back.
func TestTriggerDecodesDevhostPayloads(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 40, 3, 441702100, time.UTC)
	t.Run("queue with shadowed id", func(t *testing.T) {
		body := `{"id":"e-1","eventTime":"2026-11-23T12:40:01.2345678Z","data":{"url":"u"}}`
		p, err := QueuePayload("convert", "msg", QueueMessage{ID: "q-1", PopReceipt: "p", DequeueCount: 2,
			InsertionTime: now, ExpirationTime: now, NextVisibleTime: now, Text: body}, now, NewUUID())
		if err != nil {
			t.Fatal(err)
		}
		inv, err := trigger.DecodeInvocation(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := inv.QueueMessage("msg")
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != body || m.DequeueCount != 2 || !m.IDShadowed() || m.PopReceipt != "p" || !m.InsertionTime.Equal(now.Truncate(100*time.Nanosecond)) {
			t.Fatalf("decoded %+v", m)
		}
	})
	t.Run("service bus", func(t *testing.T) {
		p, err := ServiceBusPayload("commands", "cmd", ServiceBusMessage{MessageID: "m-1", ReplyTo: "arr-replies",
			CorrelationID: "c-1", Subject: "arr.command", ContentType: "application/json",
			ApplicationProperties: map[string]any{"source": "arrctl"}, Body: `{"action":"start"}`,
			DeliveryCount: 3, SequenceNumber: 7, EnqueuedTime: now, LockToken: "lt", Namespace: "localhost", ClientID: "c"}, now, NewUUID())
		if err != nil {
			t.Fatal(err)
		}
		inv, err := trigger.DecodeInvocation(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := inv.ServiceBusMessage("cmd")
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != `{"action":"start"}` || m.MessageID != "m-1" || m.ReplyTo != "arr-replies" || m.DeliveryCount != 3 ||
			m.SequenceNumber != 7 || m.HasExpiry() || m.AppString("source") != "arrctl" {
			t.Fatalf("decoded %+v", m)
		}
	})
	t.Run("timer", func(t *testing.T) {
		for _, st := range []*TimerStatus{nil, {Next: now}, {Last: now.Add(-time.Minute), Next: now, LastUpdated: now.Add(-time.Minute)}} {
			p, err := TimerPayload("watch", "timer", st, true, now, NewUUID())
			if err != nil {
				t.Fatal(err)
			}
			inv, err := trigger.DecodeInvocation(p)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := inv.Timer("timer")
			if err != nil || !tm.IsPastDue || (tm.ScheduleStatus == nil) != (st == nil) {
				t.Fatalf("decoded %+v, %v", tm, err)
			}
		}
	})
}
