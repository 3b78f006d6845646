package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/localbus"
)

func TestMessageIDIsASessionID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := newMessageID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("message id %q is not a fresh UUIDv4", id)
		}
		seen[id] = true
	}
}

// TestLocalBus checks the local-mode plumbing against Azurite: the command
// envelope on arr-commands, correlation filtering on the private reply queue
// (other messages are left in place), and deletion of the queue on Close.
func TestLocalBus(t *testing.T) {
	az := azuritetest.Start(t)
	ctx := context.Background()
	cfg := &config.Config{StorageConnectionString: az.ConnectionString, LocalBus: true}
	svc, err := queueService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateQueue(ctx, config.CommandsQueue, nil); err != nil {
		t.Fatal(err)
	}
	b, err := openLocalBus(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^arrctl-[0-9a-f]{12}$`).MatchString(b.ReplyTo()) {
		t.Fatalf("reply queue name %q", b.ReplyTo())
	}
	msgID := newMessageID()
	if err := b.Send(ctx, msgID, []byte(`{"action":"stop","sessionId":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := svc.NewQueueClient(config.CommandsQueue).DequeueMessage(ctx, nil)
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("dequeue command: %v (%d messages)", err, len(got.Messages))
	}
	env, err := localbus.Decode([]byte(deref(got.Messages[0].MessageText)))
	if err != nil {
		t.Fatal(err)
	}
	if env.MessageID != msgID || env.ReplyTo != b.ReplyTo() || env.Body != `{"action":"stop","sessionId":"s1"}` {
		t.Fatalf("envelope %+v", env)
	}

	replies := svc.NewQueueClient(b.ReplyTo())
	for _, e := range []localbus.Envelope{
		{MessageID: "other", CorrelationID: "someone-else", Subject: "CommandReply", Body: `{}`},
		{MessageID: "mine", CorrelationID: msgID, Subject: "CommandReply", Body: `{"outcome":"accepted"}`},
	} {
		text, _ := localbus.EncodeBase64(e)
		if _, err := replies.EnqueueMessage(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := b.Poll(ctx, msgID, 2*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "mine" || string(msgs[0].Body) != `{"outcome":"accepted"}` {
		t.Fatalf("poll: %v %+v", err, msgs)
	}
	// Nothing else for us: an empty poll returns after the wait.
	start := time.Now()
	if msgs, err := b.Poll(ctx, msgID, 300*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Fatalf("second poll: %v %+v", err, msgs)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("empty poll did not wait")
	}
	peek, err := replies.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
	if err != nil || len(peek.Messages) != 1 {
		t.Fatalf("the other message should stay visible: %v %d", err, len(peek.Messages))
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := replies.GetProperties(ctx, nil); err == nil {
		t.Fatal("reply queue still exists after Close")
	}
}
