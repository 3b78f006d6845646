package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/localbus"
)

// Local carries messages as localbus envelopes on Azurite (or Azure) storage
// queues named after the entity (see QueueName). It is safe for concurrent
// use.
type Local struct {
	svc *azqueue.ServiceClient
	// PollInterval is how often Receive looks at an empty queue again.
	PollInterval time.Duration

	mu          sync.Mutex
	provisioned map[string]bool // queue name -> created yet
}

// NewLocal returns the local transport over a queue service. provisioned
// names the entities a deployment creates (on Service Bus: the infrastructure
// templates), such as the events topic; Local creates their queues on first
// use. Every other entity, such as a requester's reply queue, must exist:
// as on Service Bus, publishing to or receiving from a missing one fails
// with ErrNoSuchEntity and creates nothing.
func NewLocal(queueService *azqueue.ServiceClient, provisioned ...string) *Local {
	l := &Local{svc: queueService, PollInterval: 200 * time.Millisecond, provisioned: map[string]bool{}}
	for _, e := range provisioned {
		if name, err := QueueName(e); err == nil {
			l.provisioned[name] = false
		}
	}
	return l
}

// QueueName maps a Service Bus entity name to a storage queue name: lower
// case; characters other than a-z, 0-9 and '-' become '-'; runs of '-'
// collapse to one; '-' is trimmed from both ends. The result must have 3 to
// 63 characters.
func QueueName(entity string) (string, error) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(entity) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimRight(b.String(), "-")
	switch {
	case name == "":
		return "", fmt.Errorf("entity %q has no letters or digits to name a storage queue after", entity)
	case len(name) < 3:
		return "", fmt.Errorf("entity %q maps to storage queue %q, shorter than 3 characters", entity, name)
	case len(name) > 63:
		return "", fmt.Errorf("entity %q maps to a storage queue name of %d characters, more than 63", entity, len(name))
	}
	return name, nil
}

// queue returns the client of entity's queue, creating a provisioned
// entity's queue once per name and Local.
func (l *Local) queue(ctx context.Context, entity string) (*azqueue.QueueClient, string, error) {
	name, err := QueueName(entity)
	if err != nil {
		return nil, "", err
	}
	l.mu.Lock()
	created, provisioned := l.provisioned[name]
	l.mu.Unlock()
	if provisioned && !created {
		_, err := l.svc.CreateQueue(ctx, name, nil)
		var re *azcore.ResponseError
		if err != nil && !(errors.As(err, &re) && re.StatusCode == http.StatusConflict) {
			return nil, "", fmt.Errorf("create queue %s: %w", name, classify(err))
		}
		l.mu.Lock()
		l.provisioned[name] = true
		l.mu.Unlock()
	}
	return l.svc.NewQueueClient(name), name, nil
}

// Publish puts each message on entity's queue as a base64 envelope, in order.
// Bodies must be UTF-8 text (arrops sends JSON): the envelope carries text.
func (l *Local) Publish(ctx context.Context, entity string, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := checkIDs(entity, msgs); err != nil {
		return err
	}
	for _, m := range msgs {
		if !utf8.Valid(m.Body) {
			return fmt.Errorf("publish %s to %s: the local bus carries text bodies only", m.MessageID, entity)
		}
	}
	q, name, err := l.queue(ctx, entity)
	if err != nil {
		return fmt.Errorf("publish to %s: %w", entity, err)
	}
	for _, m := range msgs {
		text, err := localbus.EncodeBase64(localbus.Envelope{
			MessageID: m.MessageID, CorrelationID: m.CorrelationID, ReplyTo: m.ReplyTo, Subject: m.Subject,
			ContentType: m.ContentType, ApplicationProperties: m.ApplicationProperties, Body: string(m.Body),
		})
		if err != nil {
			return fmt.Errorf("publish %s to %s: %w", m.MessageID, entity, err)
		}
		if len(text) > arrops.QueueMaxMessageBytes {
			return fmt.Errorf("publish %s to %s: %w", m.MessageID, entity, arrops.Errorf(arrops.EINVALID,
				"message is %d bytes as queue text, the storage queue limit is %d", len(text), arrops.QueueMaxMessageBytes))
		}
		if _, err := q.EnqueueMessage(ctx, text, nil); err != nil {
			return fmt.Errorf("publish %s to queue %s: %w", m.MessageID, name, classify(err))
		}
	}
	return nil
}

// Receive dequeues up to max messages (at most 32 per storage call) from
// entity's queue, polling until wait has passed for the first one, and
// deletes what it returns. Text that is not an envelope comes back as a bare
// body with the queue message id as MessageID (a message put there by hand).
func (l *Local) Receive(ctx context.Context, entity string, max int, wait time.Duration) ([]Message, error) {
	if max < 1 {
		return nil, fmt.Errorf("receive from %s: max %d is less than 1", entity, max)
	}
	q, name, err := l.queue(ctx, entity)
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", entity, err)
	}
	deadline := time.Now().Add(wait)
	for {
		n := int32(min(max, 32))
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n})
		if err != nil {
			return nil, fmt.Errorf("receive from queue %s: %w", name, classify(err))
		}
		out := make([]Message, 0, len(resp.Messages))
		for _, qm := range resp.Messages {
			if qm.MessageID == nil || qm.PopReceipt == nil {
				continue
			}
			text := ""
			if qm.MessageText != nil {
				text = *qm.MessageText
			}
			out = append(out, fromQueueText(text, *qm.MessageID))
			if _, err := q.DeleteMessage(ctx, *qm.MessageID, *qm.PopReceipt, nil); err != nil {
				return out[:len(out)-1], fmt.Errorf("settle message on queue %s: %w", name, classify(err))
			}
		}
		if len(out) > 0 || !time.Now().Before(deadline) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(l.PollInterval, time.Until(deadline))):
		}
	}
}

// fromQueueText decodes queue message text: an envelope (JSON or base64),
// else a bare body (base64-decoded when it is base64 of UTF-8 text).
func fromQueueText(text, queueID string) Message {
	env, err := localbus.Decode([]byte(text))
	if err != nil {
		return Message{MessageID: queueID, Body: bareBody(text)}
	}
	return Message{MessageID: env.MessageID, CorrelationID: env.CorrelationID, ReplyTo: env.ReplyTo,
		Subject: env.Subject, ContentType: env.ContentType, ApplicationProperties: env.ApplicationProperties,
		Body: []byte(env.Body)}
}

func bareBody(text string) []byte {
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text)); err == nil && utf8.Valid(b) {
		return b
	}
	return []byte(text)
}
