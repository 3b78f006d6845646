package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/localbus"
	"github.com/arrops/arrops/notify"
)

// ServiceBusReplyQueue is where commands sent through Service Bus ask for
// their replies. The deployment provides it; arrctl takes only its own
// messages from it (CorrelationId = its command's MessageId).
const ServiceBusReplyQueue = "arrctl-replies"

// busMessage is one message received on the reply address.
type busMessage struct {
	MessageID, CorrelationID, Subject string
	Body                              []byte
}

// commandBus sends commands to arr-commands and receives their replies.
type commandBus interface {
	// ReplyTo is the reply address commands carry ("" without replies).
	ReplyTo() string
	// Send puts one command message on arr-commands.
	Send(ctx context.Context, messageID string, body []byte) error
	// Poll returns the waiting replies whose CorrelationId is correlationID and
	// settles them; it leaves other messages for whoever waits for them. It
	// waits at most about wait for the first message.
	Poll(ctx context.Context, correlationID string, wait time.Duration) ([]busMessage, error)
	// Close releases connections and, in local mode, deletes the reply queue.
	Close(ctx context.Context) error
}

// newMessageID returns a random UUID (v4) for a command's MessageId. Without
// --session-id the handler uses it as the session id, so it must be a valid
// ARR id (letters, digits, '-').
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// credential is the Entra credential for identity-based settings (no
// connection string). It is created only when needed.
func credential() (azcore.TokenCredential, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	return cred, nil
}

// openBus connects to Service Bus, or to the Azurite queues in local mode.
// withReplies creates the reply address (a private queue in local mode).
func openBus(ctx context.Context, cfg *config.Config, withReplies bool) (commandBus, error) {
	if cfg.LocalBus {
		return openLocalBus(ctx, cfg, withReplies)
	}
	return openServiceBus(cfg, withReplies)
}

// queueService connects to the storage account's queue service (the same
// way the handler's local bus does); the Entra credential is made only when
// there is no connection string.
func queueService(cfg *config.Config) (*azqueue.ServiceClient, error) {
	var cred azcore.TokenCredential
	if cfg.StorageConnectionString == "" {
		var err error
		if cred, err = credential(); err != nil {
			return nil, err
		}
	}
	return notify.QueueService(cfg.StorageConnectionString, cfg.QueueServiceURL, cred)
}

// localBus carries commands as localbus envelopes on the Azurite queue
// arr-commands (devhost turns them into Service Bus invocations) and receives
// replies on a private queue.
type localBus struct {
	svc       *azqueue.ServiceClient
	pub       notify.Publisher
	replies   *azqueue.QueueClient
	replyName string
}

func openLocalBus(ctx context.Context, cfg *config.Config, withReplies bool) (*localBus, error) {
	svc, err := queueService(cfg)
	if err != nil {
		return nil, err
	}
	b := &localBus{svc: svc, pub: notify.NewLocal(svc, config.CommandsQueue)}
	if withReplies {
		var r [6]byte
		rand.Read(r[:])
		b.replyName = "arrctl-" + hex.EncodeToString(r[:])
		if _, err := svc.CreateQueue(ctx, b.replyName, nil); err != nil {
			return nil, fmt.Errorf("create reply queue %s: %w", b.replyName, err)
		}
		b.replies = svc.NewQueueClient(b.replyName)
	}
	return b, nil
}

func (b *localBus) ReplyTo() string { return b.replyName }

func (b *localBus) Send(ctx context.Context, messageID string, body []byte) error {
	return sendCommandMessage(ctx, b.pub, messageID, b.replyName, body)
}

// sendCommandMessage publishes a command with notify, the handler's own
// publisher, so the envelope (local) or message (Service Bus) is built the
// same way everywhere.
func sendCommandMessage(ctx context.Context, pub notify.Publisher, messageID, replyTo string, body []byte) error {
	err := pub.Publish(ctx, config.CommandsQueue, notify.Message{MessageID: messageID, ReplyTo: replyTo,
		Subject: "command", ContentType: "application/json", Body: body})
	if err != nil {
		return fmt.Errorf("send command: %w", err)
	}
	return nil
}

// localPollStep is how often an empty private queue is polled again.
const localPollStep = 200 * time.Millisecond

func (b *localBus) Poll(ctx context.Context, correlationID string, wait time.Duration) ([]busMessage, error) {
	if b.replies == nil {
		return nil, errors.New("no reply queue")
	}
	deadline := time.Now().Add(wait)
	for {
		resp, err := b.replies.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages: ptr(int32(32)), VisibilityTimeout: ptr(int32(30))})
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", b.replyName, err)
		}
		var out []busMessage
		for _, m := range resp.Messages {
			text := deref(m.MessageText)
			env, derr := localbus.Decode([]byte(text))
			if derr == nil && env.CorrelationID == correlationID {
				out = append(out, busMessage{MessageID: env.MessageID, CorrelationID: env.CorrelationID,
					Subject: env.Subject, Body: []byte(env.Body)})
			}
			if derr == nil && env.CorrelationID != correlationID {
				// Not ours (the queue is private, so this is a late event of an
				// earlier command): visible again at once, left alone.
				if _, err := b.replies.UpdateMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), text,
					&azqueue.UpdateMessageOptions{VisibilityTimeout: ptr(int32(0))}); err != nil {
					return nil, fmt.Errorf("release message on %s: %w", b.replyName, err)
				}
				continue
			}
			// Ours, or undecodable (nobody can use it): settle it.
			if _, err := b.replies.DeleteMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), nil); err != nil {
				return nil, fmt.Errorf("settle message on %s: %w", b.replyName, err)
			}
		}
		if len(out) > 0 || !time.Now().Before(deadline) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(localPollStep, time.Until(deadline))):
		}
	}
}

// Close deletes the private reply queue. It runs with its own short timeout
// so an interrupted run (ctx cancelled) still cleans up.
func (b *localBus) Close(ctx context.Context) error {
	if b.replies == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := b.replies.Delete(ctx, nil); err != nil {
		return fmt.Errorf("delete reply queue %s: %w", b.replyName, err)
	}
	return nil
}

// serviceBus sends to the arr-commands queue (through notify) and receives
// on arrctl-replies with its own receiver: notify's Receive settles every
// message it takes, while arrctl must leave other runs' replies alone.
type serviceBus struct {
	client   *azservicebus.Client
	pub      *notify.ServiceBus
	receiver *azservicebus.Receiver
}

func openServiceBus(cfg *config.Config, withReplies bool) (*serviceBus, error) {
	var (
		client *azservicebus.Client
		err    error
	)
	if cfg.ServiceBusConnectionString != "" {
		client, err = azservicebus.NewClientFromConnectionString(cfg.ServiceBusConnectionString, nil)
	} else {
		var cred azcore.TokenCredential
		if cred, err = credential(); err != nil {
			return nil, err
		}
		client, err = azservicebus.NewClient(cfg.ServiceBusNamespace, cred, nil)
	}
	if err != nil {
		// The connection string is a secret: never echo it; the SDK's
		// parse errors do not quote it either.
		return nil, fmt.Errorf("service bus client: %w", err)
	}
	b := &serviceBus{client: client, pub: notify.NewServiceBus(client)}
	if withReplies {
		if b.receiver, err = client.NewReceiverForQueue(ServiceBusReplyQueue, nil); err != nil {
			return nil, fmt.Errorf("service bus receiver for %s: %w", ServiceBusReplyQueue, err)
		}
	}
	return b, nil
}

func (b *serviceBus) ReplyTo() string {
	if b.receiver == nil {
		return ""
	}
	return ServiceBusReplyQueue
}

func (b *serviceBus) Send(ctx context.Context, messageID string, body []byte) error {
	return sendCommandMessage(ctx, b.pub, messageID, b.ReplyTo(), body)
}

func (b *serviceBus) Poll(ctx context.Context, correlationID string, wait time.Duration) ([]busMessage, error) {
	if b.receiver == nil {
		return nil, errors.New("no reply receiver")
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	msgs, err := b.receiver.ReceiveMessages(rctx, 32, nil)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil // nothing arrived within wait
		}
		return nil, fmt.Errorf("receive from %s: %w", ServiceBusReplyQueue, err)
	}
	var out []busMessage
	for _, m := range msgs {
		if deref(m.CorrelationID) != correlationID {
			// Another arrctl's reply: abandon makes it available again at once.
			if err := b.receiver.AbandonMessage(ctx, m, nil); err != nil {
				return nil, fmt.Errorf("release message on %s: %w", ServiceBusReplyQueue, err)
			}
			continue
		}
		if err := b.receiver.CompleteMessage(ctx, m, nil); err != nil {
			return nil, fmt.Errorf("settle message on %s: %w", ServiceBusReplyQueue, err)
		}
		out = append(out, busMessage{MessageID: m.MessageID, CorrelationID: correlationID, Subject: deref(m.Subject), Body: m.Body})
	}
	return out, nil
}

func (b *serviceBus) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	if b.receiver != nil {
		errs = append(errs, b.receiver.Close(ctx))
	}
	errs = append(errs, b.pub.Close(ctx), b.client.Close(ctx))
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// lowerASCII is strings.ToLower for status comparisons.
func lowerASCII(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
