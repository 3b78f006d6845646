// Package membus is an in-memory message bus with the contract of notify's
// Service Bus and local (storage queue) transports: messages need a
// MessageID, an entity that does not exist fails with notify.ErrNoSuchEntity
// and is not created by publishing or receiving, Receive waits up to its
// wait for the first message and settles what it returns. All three pass
// the conformance suite in notify/notifytest, which is what lets the
// functions' unit tests run on this one.
//
// Every published message is also kept in a history (Published), so a test
// can check what was sent whether or not anyone received it.
package membus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/notify"
)

// Bus is an in-memory bus. It is safe for concurrent use.
type Bus struct {
	mu      sync.Mutex
	queues  map[string][]notify.Message
	history map[string][]notify.Message
	arrived chan struct{} // closed and replaced when a message arrives
}

// New returns a bus on which the given queues and topics exist.
func New(entities ...string) *Bus {
	b := &Bus{queues: map[string][]notify.Message{}, history: map[string][]notify.Message{}, arrived: make(chan struct{})}
	for _, e := range entities {
		b.queues[e] = nil
	}
	return b
}

// Create makes entity exist (as infrastructure or a requester creating its
// reply queue would); an existing entity keeps its messages.
func (b *Bus) Create(entity string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.queues[entity]; !ok {
		b.queues[entity] = nil
	}
}

// Delete removes entity and its pending messages (a requester that stopped
// listening and removed its reply queue).
func (b *Bus) Delete(entity string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.queues, entity)
}

// Exists reports whether entity exists.
func (b *Bus) Exists(entity string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.queues[entity]
	return ok
}

// noSuchEntity is a missing entity as notify's transports report it.
func noSuchEntity() error { return arrops.WithCode(arrops.ENOTFOUND, notify.ErrNoSuchEntity) }

func clone(m notify.Message) notify.Message {
	m.ApplicationProperties = maps.Clone(m.ApplicationProperties)
	m.Body = slices.Clone(m.Body)
	return m
}

// Publish appends msgs to entity, in order, all or nothing.
func (b *Bus) Publish(_ context.Context, entity string, msgs ...notify.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	for i, m := range msgs {
		if m.MessageID == "" {
			return fmt.Errorf("publish to %s: message %d has no MessageID", entity, i)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[entity]
	if !ok {
		return fmt.Errorf("publish %d message(s) to %s: %w", len(msgs), entity, noSuchEntity())
	}
	for _, m := range msgs {
		q = append(q, clone(m))
		b.history[entity] = append(b.history[entity], clone(m))
	}
	b.queues[entity] = q
	close(b.arrived)
	b.arrived = make(chan struct{})
	return nil
}

// Receive takes up to max messages from entity, waiting up to wait for the
// first; no message within wait returns nil, nil.
func (b *Bus) Receive(ctx context.Context, entity string, max int, wait time.Duration) ([]notify.Message, error) {
	if max < 1 {
		return nil, fmt.Errorf("receive from %s: max %d is less than 1", entity, max)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("receive from %s: %w", entity, err)
		}
		b.mu.Lock()
		q, ok := b.queues[entity]
		if !ok {
			b.mu.Unlock()
			return nil, fmt.Errorf("receive from %s: %w", entity, noSuchEntity())
		}
		if len(q) > 0 {
			n := min(max, len(q))
			out := slices.Clone(q[:n])
			b.queues[entity] = slices.Clone(q[n:])
			b.mu.Unlock()
			return out, nil
		}
		arrived := b.arrived
		b.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-arrived:
		case <-timer.C:
			return nil, nil
		}
	}
}

// Published returns every message published to entity so far, in order,
// received or not.
func (b *Bus) Published(entity string) []notify.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]notify.Message, 0, len(b.history[entity]))
	for _, m := range b.history[entity] {
		out = append(out, clone(m))
	}
	return out
}

// Entities returns the names of the entities published to so far, sorted.
func (b *Bus) Entities() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.history))
}
