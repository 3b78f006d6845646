package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// AppendAudit writes the audit row of one command delivery. The row key is
// the message id, the delivery count and the host's invocation id, so a
// retried write within the same invocation replaces its row while every
// further delivery adds one, including a duplicate send of the same message
// (which Service Bus delivers again with delivery count 1). An empty At is
// set to now.
func (s *Store) AppendAudit(ctx context.Context, a arrops.CommandAudit) error {
	if a.MessageID == "" {
		return arrops.Errorf(arrops.EINVALID, "audit row without a message id")
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	body, err := encodeAudit(dayKey(a.At), AuditRowKey(a.MessageID, a.DeliveryCount, a.InvocationID), &a)
	if err == nil {
		err = checkEntity("audit of message", a.MessageID, body)
	}
	if err != nil {
		return err
	}
	if _, err := s.commands.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("write audit of message %s delivery %d: %w", a.MessageID, a.DeliveryCount, classify(err))
	}
	return nil
}

// AuditByDay streams the audit rows of the UTC days that overlap [from, to).
func (s *Store) AuditByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.CommandAudit, error] {
	f, ok := dayRange(from, to)
	if !ok {
		return empty[arrops.CommandAudit]()
	}
	return scan(ctx, s, s.commands, f, decodeAudit)
}

// AuditRowKey is the RowKey of a delivery's audit row: the message id with
// the characters Table keys forbid ('/', '\', '#', '?', control characters),
// bytes outside printable ASCII and '%' percent-escaped, then "~" and the
// delivery count in four digits, then (when known) "~" and the escaped
// invocation id. Sorting by key lists a message's deliveries in order.
//
// Ids longer than Service Bus allows (BusMaxMessageIDLength; other transports
// may send them) keep their first 64 characters and a hash, so the key stays
// within Table Storage's 1 KiB.
func AuditRowKey(messageID string, deliveryCount int, invocationID string) string {
	var b strings.Builder
	escapeKey(&b, shortKey(messageID))
	fmt.Fprintf(&b, "~%04d", deliveryCount)
	if invocationID != "" {
		b.WriteByte('~')
		escapeKey(&b, shortKey(invocationID))
	}
	return b.String()
}

func escapeKey(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/' || c == '\\' || c == '#' || c == '?' || c == '%' || c == '~' || c < 0x20 || c >= 0x7f:
			fmt.Fprintf(b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
}

// shortKey keeps ids up to Service Bus' MessageId length and replaces longer
// ones by their first 64 bytes and a hash of the whole.
func shortKey(id string) string {
	if len(id) <= arrops.BusMaxMessageIDLength {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return id[:64] + "." + hex.EncodeToString(sum[:16])
}
