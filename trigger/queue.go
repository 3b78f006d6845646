package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// QueueMessage is a Storage queue trigger payload.
type QueueMessage struct {
	// Body is the message text after undoing the host's encoding.
	Body []byte
	// BodyBase64 is set when the text was base64 of JSON and Body holds the
	// decoded bytes (Event Grid writing base64 with messageEncoding "none",
	// or base64 applied twice).
	BodyBase64 bool

	// ID is the queue message id. It is empty when a body "id" (an Event
	// Grid event's, for one) overwrote it: see IDShadowed.
	ID              string
	DequeueCount    int
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	PopReceipt      string

	// Shadowed lists built-in Metadata keys whose value equalled a same-named
	// top-level body property and was therefore discarded.
	Shadowed []string
	Sys      Sys
}

// IDShadowed reports whether the queue message id was overwritten by a body
// property, so the real id is unknown. Deduplicate on a body field instead.
func (m *QueueMessage) IDShadowed() bool { return slices.Contains(m.Shadowed, "Id") }

// DecodeBody unmarshals the JSON body into v.
func (m *QueueMessage) DecodeBody(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("trigger: queue message %s body: %w", m.ID, err)
	}
	return nil
}

var queueKeys = []string{"DequeueCount", "ExpirationTime", "Id", "InsertionTime", "NextVisibleTime", "PopReceipt"}

// QueueMessage decodes the Storage queue trigger bound as binding.
func (inv *Invocation) QueueMessage(binding string) (QueueMessage, error) {
	var m QueueMessage
	raw, err := inv.Binding(binding)
	if err != nil {
		return m, err
	}
	body, b64, err := unwrapBody(raw)
	if err != nil {
		return m, fmt.Errorf("trigger: queue Data.%s: %w", binding, err)
	}
	m.Body, m.BodyBase64 = body, b64
	sc := shadowCheck{}
	if !b64 {
		sc.props = bodyProps(body)
	}
	m.ID = sc.text(inv, "Id")
	m.PopReceipt = sc.text(inv, "PopReceipt")
	var errs []error
	n, err := sc.int(inv, "DequeueCount")
	errs = append(errs, err)
	m.DequeueCount = int(n)
	m.InsertionTime, err = sc.time(inv, "InsertionTime")
	errs = append(errs, err)
	m.ExpirationTime, err = sc.time(inv, "ExpirationTime")
	errs = append(errs, err)
	m.NextVisibleTime, err = sc.time(inv, "NextVisibleTime")
	errs = append(errs, err)
	m.Sys, err = inv.Sys()
	errs = append(errs, err)
	m.Shadowed = sc.shadowed
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("trigger: queue message %q: %w", m.ID, err)
	}
	return m, nil
}

// EncodeQueueInvocation renders msg as the request body the host sends for a
// Storage queue trigger bound as binding. A body that is not UTF-8 text must
// set BodyBase64.
func EncodeQueueInvocation(binding string, msg QueueMessage) ([]byte, error) {
	if !msg.BodyBase64 && !utf8.Valid(msg.Body) {
		return nil, errors.New("trigger: encode queue message: body is not UTF-8 text; set BodyBase64")
	}
	var meta ordered
	meta.add("DequeueCount", quoteOnce(strconv.Itoa(msg.DequeueCount)))
	if !msg.ExpirationTime.IsZero() {
		meta.add("ExpirationTime", fmtTime(msg.ExpirationTime, layoutOffset))
	}
	if msg.ID != "" {
		meta.add("Id", quoteTwice(msg.ID))
	}
	if !msg.InsertionTime.IsZero() {
		meta.add("InsertionTime", fmtTime(msg.InsertionTime, layoutOffset))
	}
	if !msg.NextVisibleTime.IsZero() {
		meta.add("NextVisibleTime", fmtTime(msg.NextVisibleTime, layoutOffset))
	}
	if msg.PopReceipt != "" {
		meta.add("PopReceipt", quoteTwice(msg.PopReceipt))
	}
	meta.add("sys", sysValue(msg.Sys))
	if !msg.BodyBase64 {
		mergeBodyProps(&meta, msg.Body, queueKeys)
	}
	return envelope(binding, encodeTextBody(msg.Body, msg.BodyBase64), &meta), nil
}
