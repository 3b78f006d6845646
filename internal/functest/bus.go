package functest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/notify"
)

// Bus is a functions.Publisher that records what is published, in order.
// The zero value is ready to use.
type Bus struct {
	// Before, when set, runs at the start of every Publish, outside the
	// lock: a delay as a network call would take, or another writer's hook.
	Before func()

	mu     sync.Mutex
	sent   []sent
	failOn map[string]error
}

type sent struct {
	entity string
	msg    notify.Message
}

// Publish records msgs as sent to entity, or fails as FailOn says. A message
// without a MessageID (duplicate detection needs one) fails the call.
func (b *Bus) Publish(_ context.Context, entity string, msgs ...notify.Message) error {
	if b.Before != nil {
		b.Before()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failOn[entity]; err != nil {
		return fmt.Errorf("publish to %s: %w", entity, err)
	}
	for _, m := range msgs {
		if m.MessageID == "" {
			return errors.New("message without MessageID")
		}
		b.sent = append(b.sent, sent{entity, m})
	}
	return nil
}

// FailOn makes Publish to the entities of failures fail with their error
// (wrapped), replacing earlier failures; nil makes every Publish succeed.
func (b *Bus) FailOn(failures map[string]error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failOn = failures
}

// To returns the messages sent to entity.
func (b *Bus) To(entity string) []notify.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []notify.Message
	for _, s := range b.sent {
		if s.entity == entity {
			out = append(out, s.msg)
		}
	}
	return out
}

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
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]map[string]int{}
	for _, s := range b.sent {
		if out[s.entity] == nil {
			out[s.entity] = map[string]int{}
		}
		out[s.entity][s.msg.MessageID]++
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
