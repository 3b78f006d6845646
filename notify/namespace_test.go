package notify

import (
	"context"
	"maps"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// namespace stands in for a Service Bus namespace behind the SDK seam
// (sender, receiver), so the conformance suite runs ServiceBus's own code:
// entities exist or not (CodeNotFound, as the service answers), messages
// queue up in order and a receiver blocks until one arrives or its context
// ends, as ReceiveMessages does. There is no Service Bus emulator.
type namespace struct {
	mu      sync.Mutex
	queues  map[string][]*azservicebus.ReceivedMessage
	arrived chan struct{}
}

// NewConformanceServiceBus is a ServiceBus on a namespace where exactly
// entities exist, for the suite in package notify_test.
func NewConformanceServiceBus(entities ...string) *ServiceBus {
	ns := &namespace{queues: map[string][]*azservicebus.ReceivedMessage{}, arrived: make(chan struct{})}
	for _, e := range entities {
		ns.queues[e] = nil
	}
	return newServiceBus(
		func(e string) (sender, error) { return nsSender{ns, e}, nil },
		func(q string) (receiver, error) { return nsReceiver{ns, q}, nil })
}

var errNotFound = &azservicebus.Error{Code: azservicebus.CodeNotFound}

type nsSender struct {
	ns     *namespace
	entity string
}

func (s nsSender) send(_ context.Context, msgs []*azservicebus.Message) error {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	q, ok := s.ns.queues[s.entity]
	if !ok {
		return errNotFound
	}
	for _, m := range msgs {
		rm := &azservicebus.ReceivedMessage{Subject: m.Subject, CorrelationID: m.CorrelationID, ReplyTo: m.ReplyTo,
			ContentType: m.ContentType, ApplicationProperties: maps.Clone(m.ApplicationProperties), Body: m.Body}
		if m.MessageID != nil {
			rm.MessageID = *m.MessageID
		}
		q = append(q, rm)
	}
	s.ns.queues[s.entity] = q
	close(s.ns.arrived)
	s.ns.arrived = make(chan struct{})
	return nil
}

func (s nsSender) close(context.Context) error { return nil }

type nsReceiver struct {
	ns    *namespace
	queue string
}

func (r nsReceiver) receive(ctx context.Context, max int) ([]*azservicebus.ReceivedMessage, error) {
	for {
		r.ns.mu.Lock()
		q, ok := r.ns.queues[r.queue]
		if !ok {
			r.ns.mu.Unlock()
			return nil, errNotFound
		}
		if len(q) > 0 {
			n := min(max, len(q))
			r.ns.queues[r.queue] = q[n:]
			r.ns.mu.Unlock()
			return q[:n], nil
		}
		arrived := r.ns.arrived
		r.ns.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-arrived:
		}
	}
}

func (r nsReceiver) complete(context.Context, *azservicebus.ReceivedMessage) error { return nil }
func (r nsReceiver) close(context.Context) error                                   { return nil }
