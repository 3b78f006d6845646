package devhost

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/internal/localbus"
)

// sequence hands out Service Bus sequence numbers, stable for a message across
// redeliveries (as the broker's are).
type sequence struct {
	mu   sync.Mutex
	last int64
	byID map[string]int64
}

func (s *sequence) of(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]int64{}
	}
	if n, ok := s.byID[id]; ok {
		return n
	}
	s.last++
	s.byID[id] = s.last
	return s.last
}

func (s *sequence) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// serviceBusListener carries a Service Bus queue on the Azurite queue of the same
// name: complete = delete, abandon = visible again at once, and after
// DefaultMaxDeliveryCount failed deliveries the message goes to "<queue>-deadletter".
func (h *Host) serviceBusListener(fn *Function) (*listener, error) {
	svc, err := h.queueService("AzureWebJobsStorage")
	if err != nil {
		return nil, err
	}
	name := fn.Trigger.QueueName
	ns := h.serviceBusNamespace(fn.Trigger)
	clientID := NewUUID()
	l := &listener{h: h, fn: fn, q: svc.NewQueueClient(name), failName: name + "-deadletter",
		fail: svc.NewQueueClient(name + "-deadletter"), maxAttempts: DefaultMaxDeliveryCount,
		concurrency: h.app.Host.MaxConcurrentCalls, forget: h.sbSeq.forget}
	l.deliver = func(ctx context.Context, m *azqueue.DequeuedMessage) error {
		msg := serviceBusFromQueue(deref(m.MessageText), deref(m.MessageID))
		msg.DeliveryCount = derefInt(m.DequeueCount)
		msg.SequenceNumber = h.sbSeq.of(deref(m.MessageID))
		msg.EnqueuedTime = derefTime(m.InsertionTime)
		msg.LockToken = NewUUID()
		msg.Namespace, msg.ClientID = ns, clientID
		return h.deliverServiceBus(ctx, fn, msg)
	}
	return l, nil
}

// serviceBusFromQueue reads a local Service Bus message from storage-queue text:
// a localbus envelope (JSON or base64 JSON). Text that is not an envelope is taken
// as a bare body (base64-decoded when it decodes to UTF-8 text), with the queue
// message id as MessageId, so a command put on the queue by hand still works.
func serviceBusFromQueue(text, queueID string) ServiceBusMessage {
	e, err := localbus.Decode([]byte(text))
	if err == nil {
		return ServiceBusMessage{MessageID: e.MessageID, CorrelationID: e.CorrelationID, ReplyTo: e.ReplyTo,
			Subject: e.Subject, ContentType: e.ContentType, ApplicationProperties: e.ApplicationProperties, Body: e.Body}
	}
	body := text
	if b, derr := base64.StdEncoding.DecodeString(text); derr == nil && utf8.Valid(b) && len(b) > 0 {
		body = string(b)
	}
	return ServiceBusMessage{MessageID: queueID, Body: body}
}

// deliverServiceBus invokes a serviceBusTrigger function with one message.
func (h *Host) deliverServiceBus(ctx context.Context, fn *Function, m ServiceBusMessage) error {
	payload, err := ServiceBusPayload(fn.Name, fn.Trigger.Name, m, h.now(), NewUUID())
	if err != nil {
		return err
	}
	_, err = h.invokeWithOutputs(ctx, fn, "serviceBus", payload)
	return err
}

// adminServiceBusMessage makes a first delivery of input for the admin API.
func (h *Host) adminServiceBusMessage(fn *Function, input string) ServiceBusMessage {
	id := NewUUID()
	m := serviceBusFromQueue(input, id)
	var notEnvelope bool
	if _, err := localbus.Decode([]byte(input)); errors.Is(err, localbus.ErrNotEnvelope) {
		notEnvelope = true
	}
	if notEnvelope {
		m = ServiceBusMessage{MessageID: id, Body: input}
	}
	m.DeliveryCount = 1
	m.SequenceNumber = h.sbSeq.of(id)
	h.sbSeq.forget(id)
	m.EnqueuedTime = h.now()
	m.LockToken = NewUUID()
	m.Namespace, m.ClientID = h.serviceBusNamespace(fn.Trigger), NewUUID()
	return m
}
