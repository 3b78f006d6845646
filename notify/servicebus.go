package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// sender is the part of an azservicebus.Sender that ServiceBus uses; the seam
// lets tests check the message mapping (there is no Service Bus emulator to
// run tests against).
type sender interface {
	send(ctx context.Context, msgs []*azservicebus.Message) error
	close(ctx context.Context) error
}

// receiver is the part of an azservicebus.Receiver that ServiceBus uses.
type receiver interface {
	receive(ctx context.Context, max int) ([]*azservicebus.ReceivedMessage, error)
	complete(ctx context.Context, m *azservicebus.ReceivedMessage) error
	close(ctx context.Context) error
}

// ServiceBus publishes to and receives from a Service Bus namespace. It is
// safe for concurrent use.
type ServiceBus struct {
	newSender   func(entity string) (sender, error)
	newReceiver func(queue string) (receiver, error)

	mu        sync.Mutex
	senders   map[string]sender
	receivers map[string]receiver
}

// NewServiceBus returns a ServiceBus over client. Senders and receivers are
// opened on first use per entity and kept; Close closes them (not client).
func NewServiceBus(client *azservicebus.Client) *ServiceBus {
	return newServiceBus(
		func(entity string) (sender, error) {
			s, err := client.NewSender(entity, nil)
			if err != nil {
				return nil, err
			}
			return sdkSender{s}, nil
		},
		func(queue string) (receiver, error) {
			r, err := client.NewReceiverForQueue(queue, nil)
			if err != nil {
				return nil, err
			}
			return sdkReceiver{r}, nil
		})
}

func newServiceBus(ns func(string) (sender, error), nr func(string) (receiver, error)) *ServiceBus {
	return &ServiceBus{newSender: ns, newReceiver: nr, senders: map[string]sender{}, receivers: map[string]receiver{}}
}

func (b *ServiceBus) sender(entity string) (sender, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.senders[entity]; ok {
		return s, nil
	}
	s, err := b.newSender(entity)
	if err != nil {
		return nil, fmt.Errorf("service bus sender for %s: %w", entity, err)
	}
	b.senders[entity] = s
	return s, nil
}

func (b *ServiceBus) receiver(queue string) (receiver, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.receivers[queue]; ok {
		return r, nil
	}
	r, err := b.newReceiver(queue)
	if err != nil {
		return nil, fmt.Errorf("service bus receiver for %s: %w", queue, err)
	}
	b.receivers[queue] = r
	return r, nil
}

// toSDK maps a Message to the SDK's; empty strings stay unset.
func toSDK(m Message) *azservicebus.Message {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &azservicebus.Message{
		MessageID: opt(m.MessageID), Subject: opt(m.Subject), CorrelationID: opt(m.CorrelationID),
		ReplyTo: opt(m.ReplyTo), ContentType: opt(m.ContentType),
		ApplicationProperties: m.ApplicationProperties, Body: m.Body,
	}
}

func fromSDK(m *azservicebus.ReceivedMessage) Message {
	val := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return Message{MessageID: m.MessageID, Subject: val(m.Subject), CorrelationID: val(m.CorrelationID),
		ReplyTo: val(m.ReplyTo), ContentType: val(m.ContentType),
		ApplicationProperties: m.ApplicationProperties, Body: m.Body}
}

// Publish sends msgs to the queue or topic entity, batched.
func (b *ServiceBus) Publish(ctx context.Context, entity string, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := checkIDs(entity, msgs); err != nil {
		return err
	}
	s, err := b.sender(entity)
	if err != nil {
		return err
	}
	out := make([]*azservicebus.Message, len(msgs))
	for i, m := range msgs {
		out[i] = toSDK(m)
	}
	if err := s.send(ctx, out); err != nil {
		return fmt.Errorf("publish %d message(s) to %s: %w", len(msgs), entity, classify(err))
	}
	return nil
}

// Receive takes up to max messages from the queue, waiting up to wait for
// the first, and completes them.
func (b *ServiceBus) Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]Message, error) {
	if max < 1 {
		return nil, fmt.Errorf("receive from %s: max %d is less than 1", queue, max)
	}
	r, err := b.receiver(queue)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	got, err := r.receive(rctx, max)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil // nothing arrived within wait
		}
		return nil, fmt.Errorf("receive from %s: %w", queue, classify(err))
	}
	out := make([]Message, 0, len(got))
	for _, m := range got {
		if err := r.complete(ctx, m); err != nil {
			return out, fmt.Errorf("complete message %s on %s: %w", m.MessageID, queue, classify(err))
		}
		out = append(out, fromSDK(m))
	}
	return out, nil
}

// Close closes the cached senders and receivers.
func (b *ServiceBus) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for name, s := range b.senders {
		if err := s.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close sender %s: %w", name, err))
		}
		delete(b.senders, name)
	}
	for name, r := range b.receivers {
		if err := r.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close receiver %s: %w", name, err))
		}
		delete(b.receivers, name)
	}
	return errors.Join(errs...)
}

// sdkSender sends through an azservicebus.Sender.
type sdkSender struct{ s *azservicebus.Sender }

func (s sdkSender) send(ctx context.Context, msgs []*azservicebus.Message) error {
	return sendBatched(ctx, s, msgs)
}

// messageBatch is the part of *azservicebus.MessageBatch sendBatched uses.
type messageBatch interface {
	AddMessage(m *azservicebus.Message, options *azservicebus.AddMessageOptions) error
	NumMessages() int32
}

// batchSender is the part of *azservicebus.Sender sendBatched uses.
type batchSender interface {
	sendOne(ctx context.Context, m *azservicebus.Message) error
	newBatch(ctx context.Context) (messageBatch, error)
	sendBatch(ctx context.Context, b messageBatch) error
}

func (s sdkSender) sendOne(ctx context.Context, m *azservicebus.Message) error {
	return s.s.SendMessage(ctx, m, nil)
}

func (s sdkSender) newBatch(ctx context.Context) (messageBatch, error) {
	return s.s.NewMessageBatch(ctx, nil)
}

func (s sdkSender) sendBatch(ctx context.Context, b messageBatch) error {
	return s.s.SendMessageBatch(ctx, b.(*azservicebus.MessageBatch), nil)
}

// sendBatched sends one message as is and several as batches, each filled
// up to the link's size limit; a message too large for an empty batch is an
// error naming it (earlier batches are sent: publishing again is safe).
func sendBatched(ctx context.Context, s batchSender, msgs []*azservicebus.Message) error {
	if len(msgs) == 1 {
		return s.sendOne(ctx, msgs[0])
	}
	batch, err := s.newBatch(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		err := batch.AddMessage(m, nil)
		if errors.Is(err, azservicebus.ErrMessageTooLarge) && batch.NumMessages() > 0 {
			if err := s.sendBatch(ctx, batch); err != nil {
				return err
			}
			if batch, err = s.newBatch(ctx); err != nil {
				return err
			}
			err = batch.AddMessage(m, nil)
		}
		if err != nil {
			return fmt.Errorf("message %s: %w", *m.MessageID, err)
		}
	}
	if batch.NumMessages() > 0 {
		return s.sendBatch(ctx, batch)
	}
	return nil
}

func (s sdkSender) close(ctx context.Context) error { return s.s.Close(ctx) }

type sdkReceiver struct{ r *azservicebus.Receiver }

func (r sdkReceiver) receive(ctx context.Context, max int) ([]*azservicebus.ReceivedMessage, error) {
	return r.r.ReceiveMessages(ctx, max, nil)
}

func (r sdkReceiver) complete(ctx context.Context, m *azservicebus.ReceivedMessage) error {
	return r.r.CompleteMessage(ctx, m, nil)
}

func (r sdkReceiver) close(ctx context.Context) error { return r.r.Close(ctx) }
