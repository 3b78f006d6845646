package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/localbus"
)

func TestQueueName(t *testing.T) {
	tests := []struct {
		entity, want, err string
	}{
		{"arr-events", "arr-events", ""},
		{"Viewer_Replies/EU", "viewer-replies-eu", ""},
		{"my.app..replies", "my-app-replies", ""},
		{"--lead--trail--", "lead-trail", ""},
		{"arrctl-0a1b2c", "arrctl-0a1b2c", ""},
		{"", "", "no letters or digits"},
		{"__", "", "no letters or digits"},
		{"ab", "", "shorter than 3"},
		{strings.Repeat("a", 64), "", "more than 63"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63), ""},
	}
	for _, tt := range tests {
		got, err := QueueName(tt.entity)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("QueueName(%q) = %q, %v; want error %q", tt.entity, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("QueueName(%q) = %q, %v; want %q", tt.entity, got, err, tt.want)
		}
	}
}

// TestMain stops the package's shared Azurite.
func TestMain(m *testing.M) { azuritetest.Main(m) }

// TestLocal covers what only the local transport has; TestConformance runs
// the contract every transport meets.
func TestLocal(t *testing.T) {
	az := azuritetest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := QueueService(az.ConnectionString, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLocal(svc, "Viewer_Replies", "many", "prov-events", "big-ok")
	l.PollInterval = 20 * time.Millisecond

	t.Run("Envelope", func(t *testing.T) {
		msgs := []Message{
			{MessageID: "s1.SessionReady.Ready", Subject: "SessionReady", CorrelationID: "cmd-1", ReplyTo: "back",
				ContentType: "application/json", ApplicationProperties: map[string]any{"eventType": "SessionReady", "n": 2.5, "ok": true},
				Body: []byte(`{"type":"SessionReady","hostname":"h"}`)},
			{MessageID: "m2", Body: []byte("plain text ü")},
		}
		if err := l.Publish(ctx, "Viewer_Replies", msgs...); err != nil {
			t.Fatal(err)
		}
		// On the queue: base64 of the envelope JSON, under the mapped name.
		raw := svc.NewQueueClient("viewer-replies")
		peek, err := raw.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
		if err != nil {
			t.Fatal(err)
		}
		if len(peek.Messages) != 2 {
			t.Fatalf("%d messages on viewer-replies, want 2", len(peek.Messages))
		}
		js, err := base64.StdEncoding.DecodeString(*peek.Messages[0].MessageText)
		if err != nil {
			t.Fatalf("queue text is not base64: %v", err)
		}
		var env localbus.Envelope
		if err := json.Unmarshal(js, &env); err != nil || env.MessageID != "s1.SessionReady.Ready" || env.Body != string(msgs[0].Body) {
			t.Errorf("envelope %s: %+v %v", js, env, err)
		}
		got, err := l.Receive(ctx, "Viewer_Replies", 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, msgs) {
			t.Errorf("received\n%+v\nwant\n%+v", got, msgs)
		}
	})

	t.Run("Provisioned", func(t *testing.T) {
		// A provisioned entity's queue is created on first use, by a receive
		// as well as a publish; any other entity is not.
		if got, err := l.Receive(ctx, "prov-events", 1, 0); err != nil || len(got) != 0 {
			t.Fatalf("first receive from a provisioned entity: %v %v", got, err)
		}
		if err := l.Publish(ctx, "prov-events", Message{MessageID: "e1", Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		err := l.Publish(ctx, "never-created-replies", Message{MessageID: "r1", Body: []byte("{}")})
		if !errors.Is(err, ErrNoSuchEntity) {
			t.Fatalf("publish to a reply queue that never existed: %v, want ErrNoSuchEntity", err)
		}
		if _, err := svc.NewQueueClient("never-created-replies").GetProperties(ctx, nil); err == nil {
			t.Error("publishing created the reply queue")
		}
	})

	// A body whose queue text is over 64 KiB is refused before the call
	// (EINVALID, naming the limit); the largest that fits goes through.
	t.Run("SizeLimit", func(t *testing.T) {
		env := func(n int) int { // queue text size of a body of n bytes
			text, _ := localbus.EncodeBase64(localbus.Envelope{MessageID: "big", Body: strings.Repeat("x", n)})
			return len(text)
		}
		n := sort.Search(arrops.QueueMaxMessageBytes, func(n int) bool { return env(n+1) > arrops.QueueMaxMessageBytes })
		if err := l.Publish(ctx, "big-ok", Message{MessageID: "big", Body: []byte(strings.Repeat("x", n))}); err != nil {
			t.Fatalf("body of %d bytes (queue text %d): %v", n, env(n), err)
		}
		err := l.Publish(ctx, "big-ok", Message{MessageID: "big", Body: []byte(strings.Repeat("x", n+3))})
		if arrops.ErrorCode(err) != arrops.EINVALID || !strings.Contains(err.Error(), "the storage queue limit is 65536") {
			t.Fatalf("one past: err = %v, want EINVALID naming the limit", err)
		}
	})

	t.Run("StorageLimit", func(t *testing.T) {
		var batch []Message
		for i := range 40 {
			batch = append(batch, Message{MessageID: string(rune('a'+i%26)) + strings.Repeat("x", i)})
		}
		if err := l.Publish(ctx, "many", batch...); err != nil {
			t.Fatal(err)
		}
		got, err := l.Receive(ctx, "many", 100, time.Second)
		if err != nil || len(got) != 32 {
			t.Errorf("max 100: got %d (one storage call returns at most 32), %v", len(got), err)
		}
	})

	t.Run("BareText", func(t *testing.T) {
		q := svc.NewQueueClient("by-hand")
		if _, err := svc.CreateQueue(ctx, "by-hand", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(`{"action":"stop","sessionId":"s1"}`)), nil); err != nil {
			t.Fatal(err)
		}
		got, err := l.Receive(ctx, "by-hand", 1, time.Second)
		if err != nil || len(got) != 1 || string(got[0].Body) != `{"action":"stop","sessionId":"s1"}` || got[0].MessageID == "" {
			t.Errorf("bare body: %+v %v", got, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		if err := l.Publish(ctx, "many", Message{MessageID: "b", Body: []byte{0xff, 0xfe}}); err == nil {
			t.Error("binary body accepted by the text transport")
		}
		if err := l.Publish(ctx, "..", Message{MessageID: "x"}); err == nil || !strings.Contains(err.Error(), `".."`) {
			t.Errorf("bad entity: %v", err)
		}
	})

	t.Run("New", func(t *testing.T) {
		bus, err := New(Options{Local: true, StorageConnectionString: az.ConnectionString}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer bus.Close(ctx)
		// The events topic is the deployment's own: it exists without setup.
		if err := bus.Publish(ctx, arrops.EventsTopic, Message{MessageID: "e1", Subject: "SessionReady", Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		got, err := bus.Receive(ctx, arrops.EventsTopic, 1, time.Second)
		if err != nil || len(got) != 1 || got[0].Subject != "SessionReady" {
			t.Errorf("settings bus: %+v %v", got, err)
		}
	})
}

func TestNewServiceBus(t *testing.T) {
	// Building the client does not connect; the connection string is a fake
	// with a made-up key, never sent anywhere.
	opts := Options{ServiceBusConnectionString: "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=bm90LWEta2V5"}
	bus, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bus.Publisher.(*ServiceBus); !ok {
		t.Errorf("publisher %T, want *ServiceBus", bus.Publisher)
	}
	if err := bus.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := New(Options{ServiceBusNamespace: "ns.servicebus.windows.net"}, nil); err == nil {
		t.Error("namespace without credential accepted")
	}
	_, err = New(Options{ServiceBusConnectionString: "Endpoint=garbage;SharedAccessKey=c2VjcmV0"}, nil)
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("bad connection string: %v (must fail without quoting the key)", err)
	}
	if _, err := New(Options{Local: true}, nil); err == nil {
		t.Error("local mode without storage accepted")
	}
}

// FuzzFromQueueText decodes arbitrary queue text as Receive does: never a
// panic, always a message id, and an envelope survives publish → decode.
func FuzzFromQueueText(f *testing.F) {
	env, _ := localbus.EncodeBase64(localbus.Envelope{MessageID: "m1", Subject: "s", Body: `{"a":1}`,
		ApplicationProperties: map[string]any{"k": "v"}})
	f.Add(env)
	f.Add(`{"messageId":"m2","body":"x"}`)
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"action":"start"}`)))
	f.Add("not base64 at all")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		m := fromQueueText(text, "queue-id")
		if m.MessageID == "" {
			t.Fatal("message without id")
		}
	})
}
