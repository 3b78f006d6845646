// Package notifytest is the conformance suite of notify's transports, in the
// style of go-cloud's drivertest: Service Bus (through the SDK seam, as no
// emulator exists), the local transport on Azurite queues and the memory bus
// (notify/membus) all run RunConformanceTests.
//
// The contract it pins:
//   - every message needs a MessageID; a Publish with one missing sends nothing;
//   - Publish and Receive on an entity that does not exist fail with
//     notify.ErrNoSuchEntity (errors.Is; code arrops.ENOTFOUND) and do not
//     create it: a requester's
//     reply queue that was deleted, or never created, stays gone, and the
//     functions record "reply queue gone" instead of retrying for ever;
//   - Receive returns the messages in publish order with every field, at most
//     max, settled (not delivered again); with none it waits up to wait and
//     returns no messages and no error; a cancelled context is an error;
//   - a republished MessageID arrives at least once (Service Bus drops the
//     duplicate, a storage queue does not: consumers dedupe by id).
//
// It is test support: only _test.go files import it.
package notifytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/notify"
)

// Bus is what every transport offers.
type Bus interface {
	notify.Publisher
	notify.Receiver
}

// Harness makes a transport for one test on which exactly the named queues
// exist (and no others the suite uses; names are unique per run).
type Harness func(t *testing.T, entities ...string) Bus

// RunConformanceTests runs the suite against the buses h makes.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	var r [4]byte
	rand.Read(r[:])
	run := hex.EncodeToString(r[:])
	tests := []struct {
		name string
		run  func(*testing.T, Harness, func(string) string)
	}{
		{"RoundTrip", testRoundTrip},
		{"Empty", testEmpty},
		{"WhileWaiting", testWhileWaiting},
		{"Max", testMax},
		{"NoSuchEntity", testNoSuchEntity},
		{"Invalid", testInvalid},
		{"Republish", testRepublish},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, h, func(base string) string { return fmt.Sprintf("conf-%s-%s", base, run) })
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// drain receives from entity until want messages came or a receive finds
// none within a second.
func drain(t *testing.T, b Bus, entity string, want int) []notify.Message {
	t.Helper()
	var out []notify.Message
	for len(out) < want {
		got, err := b.Receive(ctxT(t), entity, want-len(out), time.Second)
		if err != nil {
			t.Fatalf("receive from %s: %v", entity, err)
		}
		if len(got) == 0 {
			break
		}
		out = append(out, got...)
	}
	return out
}

func testRoundTrip(t *testing.T, h Harness, name func(string) string) {
	q := name("roundtrip")
	b := h(t, q)
	ctx := ctxT(t)
	msgs := []notify.Message{
		{MessageID: "s1.SessionReady.Ready", Subject: "SessionReady", CorrelationID: "cmd-1", ReplyTo: "back",
			ContentType: "application/json", ApplicationProperties: map[string]any{"eventType": "SessionReady", "n": 2.5, "ok": true},
			Body: []byte(`{"type":"SessionReady","hostname":"h"}`)},
		{MessageID: "m2", Body: []byte("plain text ü")},
		{MessageID: "m3", Subject: "third", Body: []byte(`{}`)},
	}
	if err := b.Publish(ctx, q, msgs[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, q, msgs[2]); err != nil {
		t.Fatal(err)
	}
	got := drain(t, b, q, 3)
	if !reflect.DeepEqual(got, msgs) {
		t.Errorf("received\n%+v\nwant\n%+v", got, msgs)
	}
	// Settled: not delivered again.
	if again, err := b.Receive(ctx, q, 10, 0); err != nil || len(again) != 0 {
		t.Errorf("after settling: %+v %v", again, err)
	}
}

func testEmpty(t *testing.T, h Harness, name func(string) string) {
	q := name("empty")
	b := h(t, q)
	const wait = 100 * time.Millisecond
	start := time.Now()
	got, err := b.Receive(ctxT(t), q, 5, wait)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty queue: %+v %v, want no messages and no error", got, err)
	}
	if d := time.Since(start); d < wait {
		t.Errorf("returned after %v, before the wait of %v was over", d, wait)
	}
	if got, err := b.Receive(ctxT(t), q, 5, 0); err != nil || len(got) != 0 {
		t.Errorf("no wait: %+v %v", got, err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Receive(cancelled, q, 1, time.Second); err == nil {
		t.Error("receive with a cancelled context succeeded")
	}
}

// testWhileWaiting: a message published while Receive waits is returned
// without waiting for the rest of the wait.
func testWhileWaiting(t *testing.T, h Harness, name func(string) string) {
	q := name("late")
	b := h(t, q)
	ctx := ctxT(t)
	type result struct {
		msgs []notify.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		msgs, err := b.Receive(ctx, q, 1, 20*time.Second)
		done <- result{msgs, err}
	}()
	if err := b.Publish(ctx, q, notify.Message{MessageID: "late", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.msgs) != 1 || r.msgs[0].MessageID != "late" {
			t.Errorf("late message: %+v %v", r.msgs, r.err)
		}
	case <-ctx.Done():
		t.Fatal("Receive did not return the message published while it waited")
	}
}

func testMax(t *testing.T, h Harness, name func(string) string) {
	q := name("max")
	b := h(t, q)
	ctx := ctxT(t)
	var batch []notify.Message
	for i := range 7 {
		batch = append(batch, notify.Message{MessageID: fmt.Sprint("m", i), Body: []byte(fmt.Sprint(i))})
	}
	if err := b.Publish(ctx, q, batch...); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(ctx, q, 3, time.Second)
	if err != nil || len(got) == 0 || len(got) > 3 {
		t.Fatalf("max 3: %d messages, %v", len(got), err)
	}
	got = append(got, drain(t, b, q, 7-len(got))...)
	for i, m := range got {
		if m.MessageID != fmt.Sprint("m", i) {
			t.Errorf("message %d is %s: out of order or lost", i, m.MessageID)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d of 7 messages received", len(got))
	}
}

func testNoSuchEntity(t *testing.T, h Harness, name func(string) string) {
	q, gone := name("exists"), name("gone-replies")
	b := h(t, q)
	ctx := ctxT(t)
	m := notify.Message{MessageID: "r1", Body: []byte("{}")}
	for i := range 2 { // the second time: the first did not create it
		err := b.Publish(ctx, gone, m)
		if !errors.Is(err, notify.ErrNoSuchEntity) {
			t.Fatalf("publish %d to a missing queue: %v, want ErrNoSuchEntity", i+1, err)
		}
		if arrops.ErrorCode(err) != arrops.ENOTFOUND {
			t.Errorf("publish to a missing queue: code %q, want %q", arrops.ErrorCode(err), arrops.ENOTFOUND)
		}
	}
	if _, err := b.Receive(ctx, gone, 1, 0); !errors.Is(err, notify.ErrNoSuchEntity) {
		t.Errorf("receive from a missing queue: %v, want ErrNoSuchEntity", err)
	}
	if err := b.Publish(ctx, gone, m); !errors.Is(err, notify.ErrNoSuchEntity) {
		t.Errorf("publish after a receive from the missing queue: %v, want ErrNoSuchEntity", err)
	}
	// Other entities are unaffected.
	if err := b.Publish(ctx, q, m); err != nil {
		t.Errorf("publish to an existing queue: %v", err)
	}
}

func testInvalid(t *testing.T, h Harness, name func(string) string) {
	q := name("invalid")
	b := h(t, q)
	ctx := ctxT(t)
	err := b.Publish(ctx, q, notify.Message{MessageID: "ok", Body: []byte("{}")}, notify.Message{Subject: "no id"})
	if err == nil || errors.Is(err, notify.ErrNoSuchEntity) {
		t.Errorf("message without MessageID: %v, want an error", err)
	}
	if got, err := b.Receive(ctx, q, 10, 0); err != nil || len(got) != 0 {
		t.Errorf("a Publish that failed validation sent %+v (%v)", got, err)
	}
	if err := b.Publish(ctx, q); err != nil {
		t.Errorf("publishing nothing: %v", err)
	}
	if _, err := b.Receive(ctx, q, 0, 0); err == nil {
		t.Error("max 0 accepted")
	}
}

func testRepublish(t *testing.T, h Harness, name func(string) string) {
	q := name("dupes")
	b := h(t, q)
	ctx := ctxT(t)
	m := notify.Message{MessageID: "same", Body: []byte("{}")}
	for range 2 {
		if err := b.Publish(ctx, q, m); err != nil {
			t.Fatal(err)
		}
	}
	got := drain(t, b, q, 2)
	if len(got) < 1 || len(got) > 2 {
		t.Fatalf("republished message arrived %d times, want once or twice", len(got))
	}
	for _, g := range got {
		if g.MessageID != "same" {
			t.Errorf("republished message has id %q", g.MessageID)
		}
	}
}

func testConcurrent(t *testing.T, h Harness, name func(string) string) {
	q := name("concurrent")
	b := h(t, q)
	ctx := ctxT(t)
	const publishers, each = 4, 5
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if err := b.Publish(ctx, q, notify.Message{MessageID: fmt.Sprintf("p%d-%d", p, i), Body: []byte("{}")}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range drain(t, b, q, publishers*each) {
		seen[m.MessageID]++
	}
	if len(seen) != publishers*each {
		t.Errorf("%d distinct messages received, want %d", len(seen), publishers*each)
	}
}
