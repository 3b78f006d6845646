package store

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// AppendAudit writes the audit row of one command delivery. The row key is
// the message id and the delivery count, so a retried write of the same
// delivery replaces its row and every further delivery adds one. An empty
// At is set to now.
func (s *Store) AppendAudit(ctx context.Context, a arrops.CommandAudit) error {
	if a.MessageID == "" {
		return arrops.Errorf(arrops.EINVALID, "audit row without a message id")
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	body, err := encodeAudit(dayKey(a.At), AuditRowKey(a.MessageID, a.DeliveryCount), &a)
	if err != nil {
		return err
	}
	if _, err := s.commands.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("write audit of message %s delivery %d: %w", a.MessageID, a.DeliveryCount, err)
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
// delivery count in four digits.
func AuditRowKey(messageID string, deliveryCount int) string {
	var b strings.Builder
	for i := 0; i < len(messageID); i++ {
		c := messageID[i]
		switch {
		case c == '/' || c == '\\' || c == '#' || c == '?' || c == '%' || c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	fmt.Fprintf(&b, "~%04d", deliveryCount)
	return b.String()
}
