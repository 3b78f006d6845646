package functest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/notify/membus"
)

// Bus is the functions' bus in tests: the memory transport (notify/membus,
// which passes the same conformance suite as Service Bus and the local
// transport) with a history of what was published and two test hooks. Every
// entity a test publishes to exists (the topic, a requester's reply queue)
// unless Missing says otherwise. The zero value is ready to use.
type Bus struct {
	// Before, when set, runs at the start of every Publish, outside the
	// lock: a delay as a network call would take, or another writer's hook.
	Before func()

	once    sync.Once
	mem     *membus.Bus
	mu      sync.Mutex
	failOn  map[string]error
	missing map[string]bool
}

// Memory returns the memory transport underneath.
func (b *Bus) Memory() *membus.Bus {
	b.once.Do(func() { b.mem = membus.New() })
	return b.mem
}

// Publish publishes msgs to entity on the memory transport, creating the
// entity first unless it is Missing, or fails as FailOn says. As on every
// transport, a message without a MessageID fails the call and a missing
// entity is notify.ErrNoSuchEntity.
func (b *Bus) Publish(ctx context.Context, entity string, msgs ...notify.Message) error {
	if b.Before != nil {
		b.Before()
	}
	b.mu.Lock()
	err, missing := b.failOn[entity], b.missing[entity]
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("publish to %s: %w", entity, err)
	}
	if !missing {
		b.Memory().Create(entity)
	}
	return b.Memory().Publish(ctx, entity, msgs...)
}

// FailOn makes Publish to the entities of failures fail with their error
// (wrapped), replacing earlier failures; nil makes every Publish succeed.
func (b *Bus) FailOn(failures map[string]error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failOn = failures
}

// Missing deletes entities and keeps them from being created: a requester
// that removed its reply queue.
func (b *Bus) Missing(entities ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.missing == nil {
		b.missing = map[string]bool{}
	}
	for _, e := range entities {
		b.missing[e] = true
		b.Memory().Delete(e)
	}
}

// To returns the messages published to entity, in order.
func (b *Bus) To(entity string) []notify.Message { return b.Memory().Published(entity) }

// Events decodes the events sent to entity with the given subject.
func (b *Bus) Events(tb testing.TB, entity string, subject arrops.EventType) []arrops.Event {
	tb.Helper()
	var out []arrops.Event
	for _, m := range b.To(entity) {
		if m.Subject != string(subject) {
			continue
		}
		var ev arrops.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			tb.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// Counts returns, per entity, how often each message id was published.
func (b *Bus) Counts() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, e := range b.Memory().Entities() {
		out[e] = map[string]int{}
		for _, m := range b.Memory().Published(e) {
			out[e][m.MessageID]++
		}
	}
	return out
}

// Subjects counts the messages of msgs per subject.
func Subjects(msgs []notify.Message) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Subject]++
	}
	return out
}
