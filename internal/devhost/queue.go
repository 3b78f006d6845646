package devhost

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// leaseTime is how long a dequeued message stays invisible; it is renewed at
// half-time while the invocation runs, as the queue extension does.
const leaseTime = 10 * time.Minute

// listener polls one storage queue and settles each message the way the queue
// extension (or, in local mode, Service Bus) would.
type listener struct {
	h           *Host
	fn          *Function
	q           *azqueue.QueueClient
	failName    string // <queue>-poison or <queue>-deadletter
	fail        *azqueue.QueueClient
	maxAttempts int
	retryDelay  time.Duration
	concurrency int
	// deliver invokes the function for one message; nil means complete.
	deliver func(ctx context.Context, m *azqueue.DequeuedMessage) error
	// forget is called once a message leaves the queue (optional).
	forget func(id string)
}

// errUndecodable marks a message the host cannot bind (invalid base64): it is
// never handed to the function, only retried into the poison queue.
var errUndecodable = errors.New("message is not valid base64 (extensions.queues.messageEncoding is base64)")

func (h *Host) queueListener(fn *Function) (*listener, error) {
	svc, err := h.queueService(fn.Trigger.Connection)
	if err != nil {
		return nil, err
	}
	qo := h.app.Host.Queues
	name := fn.Trigger.QueueName
	l := &listener{h: h, fn: fn, q: svc.NewQueueClient(name), failName: name + "-poison",
		fail: svc.NewQueueClient(name + "-poison"), maxAttempts: qo.MaxDequeueCount,
		retryDelay: qo.VisibilityTimeout, concurrency: qo.BatchSize}
	l.deliver = func(ctx context.Context, m *azqueue.DequeuedMessage) error {
		text, ok := decodeQueueText(deref(m.MessageText), qo.MessageEncoding)
		if !ok {
			return errUndecodable
		}
		return h.deliverQueue(ctx, fn, QueueMessage{
			ID: deref(m.MessageID), PopReceipt: deref(m.PopReceipt), DequeueCount: derefInt(m.DequeueCount),
			InsertionTime: derefTime(m.InsertionTime), ExpirationTime: derefTime(m.ExpirationTime),
			NextVisibleTime: derefTime(m.TimeNextVisible), Text: text,
		})
	}
	return l, nil
}

// deliverQueue invokes a queueTrigger function with one message and writes its
// outputs.
func (h *Host) deliverQueue(ctx context.Context, fn *Function, m QueueMessage) error {
	payload, err := QueuePayload(fn.Name, fn.Trigger.Name, m, h.now(), NewUUID())
	if err != nil {
		return err
	}
	_, err = h.invokeWithOutputs(ctx, fn, "queue", payload)
	return err
}

// decodeQueueText applies extensions.queues.messageEncoding.
func decodeQueueText(text, encoding string) (string, bool) {
	if encoding == "none" {
		return text, true
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// encodeQueueText is the inverse, for output bindings.
func encodeQueueText(text, encoding string) string {
	if encoding == "none" {
		return text
	}
	return base64.StdEncoding.EncodeToString([]byte(text))
}

func (l *listener) run(ctx context.Context) {
	log := l.h.log.With("function", l.fn.Name, "queue", l.fn.Trigger.QueueName)
	if err := createQueue(ctx, l.q); err != nil && ctx.Err() == nil {
		log.Error("cannot create queue", "err", err.Error())
	}
	slots := make(chan struct{}, l.concurrency)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	minPoll, maxPoll := l.h.opts.MinPollInterval, max(l.h.app.Host.Queues.MaxPollingInterval, l.h.opts.MinPollInterval)
	delay := minPoll
	for {
		// Take at least one free slot (blocking), then whatever else is free.
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		n := 1
		for n < 32 {
			select {
			case slots <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		resp, err := l.q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages: to.Ptr(int32(n)), VisibilityTimeout: to.Ptr(int32(leaseTime / time.Second))})
		got := 0
		if err == nil {
			got = len(resp.Messages)
		}
		for range n - got {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if queueerror.HasCode(err, queueerror.QueueNotFound) {
				_ = createQueue(ctx, l.q)
			} else {
				log.Warn("dequeue failed", "err", err.Error())
			}
		}
		if got == 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxPoll)
			continue
		}
		delay = minPoll
		for _, m := range resp.Messages {
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer func() { <-slots }()
				l.process(ctx, m)
			}()
		}
	}
}

// process delivers one message and settles it: delete on success; on failure
// release it after retryDelay, or move it to the failure queue once it has been
// tried maxAttempts times.
func (l *listener) process(ctx context.Context, m *azqueue.DequeuedMessage) {
	log := l.h.log.With("function", l.fn.Name, "queue", l.fn.Trigger.QueueName, "message", deref(m.MessageID))
	count := derefInt(m.DequeueCount)
	lease := &messageLease{id: deref(m.MessageID), pop: deref(m.PopReceipt), text: deref(m.MessageText)}
	// Settling must outlive a cancelled ctx, or Ctrl-C would leave messages leased.
	settleCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	if count > int64(l.maxAttempts) {
		// Already tried often enough (devhost or the handler died mid-way): poison
		// before invoking, as the host does on pick-up.
		sctx, cancel := settleCtx()
		defer cancel()
		l.moveToFailure(sctx, lease, log, fmt.Errorf("dequeue count %d exceeds %d", count, l.maxAttempts))
		return
	}
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		l.keepLeased(renewCtx, lease)
	}()
	err := l.deliver(ctx, m)
	stopRenew()
	<-renewed
	sctx, cancel := settleCtx()
	defer cancel()
	switch {
	case err == nil:
		if _, derr := l.q.DeleteMessage(sctx, lease.id, lease.pop, nil); derr != nil {
			log.Warn("delete after success failed; the message will be redelivered", "err", derr.Error())
			return
		}
		l.forgetID(lease.id)
	case count >= int64(l.maxAttempts):
		l.moveToFailure(sctx, lease, log, err)
	default:
		if errors.Is(err, errUndecodable) {
			log.Warn("message cannot be bound; retrying towards "+l.failName, "dequeue_count", count, "err", err.Error())
		}
		_, uerr := l.q.UpdateMessage(sctx, lease.id, lease.pop, lease.text,
			&azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(l.retryDelay / time.Second))})
		if uerr != nil {
			log.Warn("release failed; the message returns after its lease", "err", uerr.Error())
		}
	}
}

func (l *listener) forgetID(id string) {
	if l.forget != nil {
		l.forget(id)
	}
}

func (l *listener) moveToFailure(ctx context.Context, lease *messageLease, log interface {
	Warn(string, ...any)
}, why error) {
	if err := enqueueCreating(ctx, l.fail, lease.text); err != nil {
		log.Warn("cannot move message to "+l.failName+"; it will be redelivered", "err", err.Error())
		return
	}
	if _, err := l.q.DeleteMessage(ctx, lease.id, lease.pop, nil); err != nil {
		log.Warn("moved to "+l.failName+" but delete failed", "err", err.Error())
	}
	l.forgetID(lease.id)
	log.Warn("message moved to "+l.failName, "reason", why.Error())
}

// messageLease tracks the pop receipt, which changes with every renewal.
type messageLease struct {
	mu      sync.Mutex
	id, pop string
	text    string
}

func (l *listener) keepLeased(ctx context.Context, lease *messageLease) {
	t := time.NewTicker(leaseTime / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lease.mu.Lock()
		resp, err := l.q.UpdateMessage(ctx, lease.id, lease.pop, lease.text,
			&azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(leaseTime / time.Second))})
		if err == nil && resp.PopReceipt != nil {
			lease.pop = *resp.PopReceipt
		}
		lease.mu.Unlock()
	}
}

func createQueue(ctx context.Context, q *azqueue.QueueClient) error {
	_, err := q.Create(ctx, nil)
	if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("create queue: %w", err)
	}
	return nil
}

// enqueueCreating enqueues text, creating the queue on first use.
func enqueueCreating(ctx context.Context, q *azqueue.QueueClient, text string) error {
	_, err := q.EnqueueMessage(ctx, text, nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		if err = createQueue(ctx, q); err == nil {
			_, err = q.EnqueueMessage(ctx, text, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}
