package notify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// fakeSender records what ServiceBus hands to azservicebus (the one fake
// allowed: no Service Bus emulator exists).
type fakeSender struct {
	mu     sync.Mutex
	calls  [][]*azservicebus.Message
	closed bool
	err    error
}

func (f *fakeSender) send(_ context.Context, msgs []*azservicebus.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, msgs)
	return f.err
}

func (f *fakeSender) close(context.Context) error { f.closed = true; return nil }

type fakeReceiver struct {
	msgs      []*azservicebus.ReceivedMessage
	completed []string
	closed    bool
}

func (f *fakeReceiver) receive(ctx context.Context, max int) ([]*azservicebus.ReceivedMessage, error) {
	if len(f.msgs) == 0 {
		<-ctx.Done() // as the SDK: block until the wait is over
		return nil, ctx.Err()
	}
	n := min(max, len(f.msgs))
	out := f.msgs[:n]
	f.msgs = f.msgs[n:]
	return out, nil
}

func (f *fakeReceiver) complete(_ context.Context, m *azservicebus.ReceivedMessage) error {
	f.completed = append(f.completed, m.MessageID)
	return nil
}

func (f *fakeReceiver) close(context.Context) error { f.closed = true; return nil }

type fakeNamespace struct {
	mu        sync.Mutex
	senders   map[string]*fakeSender
	receivers map[string]*fakeReceiver
	opened    int
}

func newFakeBus() (*ServiceBus, *fakeNamespace) {
	ns := &fakeNamespace{senders: map[string]*fakeSender{}, receivers: map[string]*fakeReceiver{}}
	b := newServiceBus(func(e string) (sender, error) {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		ns.opened++
		s := &fakeSender{}
		ns.senders[e] = s
		return s, nil
	}, func(q string) (receiver, error) {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		r, ok := ns.receivers[q]
		if !ok {
			r = &fakeReceiver{}
			ns.receivers[q] = r
		}
		return r, nil
	})
	return b, ns
}

func ptr[T any](v T) *T { return &v }

func TestServiceBusPublishMapping(t *testing.T) {
	props := map[string]any{"eventType": "SessionReady", "sessionId": "s1", "n": 3}
	tests := []struct {
		name string
		in   Message
		want *azservicebus.Message
	}{
		{"all fields", Message{MessageID: "s1.SessionReady.Ready", Subject: "SessionReady", CorrelationID: "cmd-1",
			ReplyTo: "replies", ContentType: "application/json", ApplicationProperties: props, Body: []byte(`{"a":1}`)},
			&azservicebus.Message{MessageID: ptr("s1.SessionReady.Ready"), Subject: ptr("SessionReady"),
				CorrelationID: ptr("cmd-1"), ReplyTo: ptr("replies"), ContentType: ptr("application/json"),
				ApplicationProperties: props, Body: []byte(`{"a":1}`)}},
		{"empty strings stay unset", Message{MessageID: "m", Body: []byte("x")},
			&azservicebus.Message{MessageID: ptr("m"), Body: []byte("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ns := newFakeBus()
			if err := b.Publish(context.Background(), "arr-events", tt.in); err != nil {
				t.Fatal(err)
			}
			calls := ns.senders["arr-events"].calls
			if len(calls) != 1 || len(calls[0]) != 1 || !reflect.DeepEqual(calls[0][0], tt.want) {
				t.Errorf("sent %+v, want %+v", calls, tt.want)
			}
		})
	}
}

func TestServiceBusSenderCacheAndBatch(t *testing.T) {
	b, ns := newFakeBus()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entity := []string{"arr-events", "replies"}[i%2]
			if err := b.Publish(ctx, entity, Message{MessageID: fmt.Sprint("a", i)}, Message{MessageID: fmt.Sprint("b", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ns.opened != 2 {
		t.Errorf("%d senders opened for 2 entities", ns.opened)
	}
	for name, s := range ns.senders {
		if len(s.calls) != 10 {
			t.Errorf("%s: %d send calls, want 10 (one per Publish)", name, len(s.calls))
		}
		for _, c := range s.calls {
			if len(c) != 2 {
				t.Errorf("%s: a Publish of 2 messages sent %d in one call", name, len(c))
			}
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for name, s := range ns.senders {
		if !s.closed {
			t.Errorf("sender %s not closed", name)
		}
	}
}

func TestServiceBusPublishErrors(t *testing.T) {
	b, ns := newFakeBus()
	ctx := context.Background()
	if err := b.Publish(ctx, "q", Message{MessageID: "ok"}, Message{Subject: "no id"}); err == nil {
		t.Error("message without MessageID accepted")
	}
	if len(ns.senders) != 0 {
		t.Error("invalid publish opened a sender")
	}
	if err := b.Publish(ctx, "q"); err != nil {
		t.Errorf("empty publish: %v", err)
	}
	b.Publish(ctx, "q", Message{MessageID: "1"})
	boom := errors.New("link detached")
	ns.senders["q"].err = boom
	if err := b.Publish(ctx, "q", Message{MessageID: "2"}); !errors.Is(err, boom) {
		t.Errorf("send error %v, want it wrapped", err)
	}
}

func TestServiceBusReceive(t *testing.T) {
	b, ns := newFakeBus()
	ctx := context.Background()
	ns.receivers["replies"] = &fakeReceiver{msgs: []*azservicebus.ReceivedMessage{
		{MessageID: "r1", CorrelationID: ptr("cmd-1"), Subject: ptr("CommandReply"), ContentType: ptr("application/json"),
			ReplyTo: ptr("x"), ApplicationProperties: map[string]any{"outcome": "accepted"}, Body: []byte(`{}`)},
		{MessageID: "r2"},
		{MessageID: "r3"},
	}}
	got, err := b.Receive(ctx, "replies", 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{{MessageID: "r1", CorrelationID: "cmd-1", Subject: "CommandReply", ContentType: "application/json",
		ReplyTo: "x", ApplicationProperties: map[string]any{"outcome": "accepted"}, Body: []byte(`{}`)}, {MessageID: "r2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("received %+v, want %+v", got, want)
	}
	if r := ns.receivers["replies"]; !reflect.DeepEqual(r.completed, []string{"r1", "r2"}) {
		t.Errorf("completed %v", r.completed)
	}
	got, err = b.Receive(ctx, "replies", 5, time.Second)
	if err != nil || len(got) != 1 {
		t.Errorf("second receive: %v %v", got, err)
	}
	start := time.Now()
	got, err = b.Receive(ctx, "replies", 5, 50*time.Millisecond)
	if err != nil || got != nil || time.Since(start) > 5*time.Second {
		t.Errorf("empty queue: %v %v, want nil, nil after the wait", got, err)
	}
	if _, err := b.Receive(ctx, "replies", 0, time.Second); err == nil {
		t.Error("max 0 accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Receive(cancelled, "replies", 1, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled receive: %v", err)
	}
	b.Close(ctx)
	if !ns.receivers["replies"].closed {
		t.Error("receiver not closed")
	}
}

// sizedBatch holds messages up to a byte limit, as the SDK's batch does.
type sizedBatch struct {
	limit, size int
	ids         []string
}

func (b *sizedBatch) AddMessage(m *azservicebus.Message, _ *azservicebus.AddMessageOptions) error {
	if b.size+len(m.Body) > b.limit {
		return azservicebus.ErrMessageTooLarge
	}
	b.size += len(m.Body)
	b.ids = append(b.ids, *m.MessageID)
	return nil
}

func (b *sizedBatch) NumMessages() int32 { return int32(len(b.ids)) }

type recordingBatchSender struct {
	limit int
	sent  [][]string // ids per network send
}

func (r *recordingBatchSender) sendOne(_ context.Context, m *azservicebus.Message) error {
	r.sent = append(r.sent, []string{*m.MessageID})
	return nil
}

func (r *recordingBatchSender) newBatch(context.Context) (messageBatch, error) {
	return &sizedBatch{limit: r.limit}, nil
}

func (r *recordingBatchSender) sendBatch(_ context.Context, b messageBatch) error {
	r.sent = append(r.sent, b.(*sizedBatch).ids)
	return nil
}

func TestSendBatched(t *testing.T) {
	msg := func(id string, size int) *azservicebus.Message {
		return &azservicebus.Message{MessageID: ptr(id), Body: make([]byte, size)}
	}
	tests := []struct {
		name    string
		msgs    []*azservicebus.Message
		want    [][]string
		wantErr string
	}{
		{"one message, no batch", []*azservicebus.Message{msg("a", 50)}, [][]string{{"a"}}, ""},
		{"fits one batch", []*azservicebus.Message{msg("a", 30), msg("b", 30), msg("c", 30)}, [][]string{{"a", "b", "c"}}, ""},
		{"split at the limit", []*azservicebus.Message{msg("a", 60), msg("b", 60), msg("c", 30), msg("d", 90)},
			[][]string{{"a"}, {"b", "c"}, {"d"}}, ""},
		{"too large alone", []*azservicebus.Message{msg("a", 10), msg("huge", 200)}, nil, "message huge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recordingBatchSender{limit: 100}
			err := sendBatched(context.Background(), r, tt.msgs)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, azservicebus.ErrMessageTooLarge) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(r.sent, tt.want) {
				t.Errorf("sent %v, %v; want %v", r.sent, err, tt.want)
			}
		})
	}
}
