package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ServiceBusMessage is a Service Bus trigger payload: the body from
// Data.<binding> and the message properties from Metadata. SDK objects the
// host also sends (MessageActions, Client, ...) are ignored.
type ServiceBusMessage struct {
	// Body is the message body after undoing the host's encoding.
	Body []byte
	// BodyBase64 is set when the body arrived as base64 text and Body holds
	// the decoded bytes.
	BodyBase64 bool

	MessageID     string
	CorrelationID string
	ReplyTo       string
	ContentType   string
	// SessionID is the Service Bus session, not a field of the body; it is
	// empty when a body "sessionId" shadowed it (see Shadowed).
	SessionID string
	// Subject is Metadata Subject, or Label for older extensions.
	Subject        string
	DeliveryCount  int
	SequenceNumber int64
	LockToken      string
	// EnqueuedTime and ExpiresAt are in UTC. A message without TTL has
	// ExpiresAt = NoExpiry (see HasExpiry).
	EnqueuedTime time.Time
	ExpiresAt    time.Time
	// ApplicationProperties are the user properties (ApplicationProperties,
	// else UserProperties); JSON numbers decode as float64.
	ApplicationProperties map[string]any

	// Shadowed lists built-in Metadata keys whose value equalled a same-named
	// top-level body property and was therefore discarded (left empty).
	Shadowed []string
	Sys      Sys
}

// NoExpiry is the ExpiresAt of a message with no time-to-live
// (DateTimeOffset.MaxValue).
var NoExpiry = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)

// HasExpiry reports whether the message has a real time-to-live.
func (m *ServiceBusMessage) HasExpiry() bool {
	return !m.ExpiresAt.IsZero() && m.ExpiresAt.Before(NoExpiry)
}

// AppProperty returns an application property.
func (m *ServiceBusMessage) AppProperty(name string) (any, bool) {
	v, ok := m.ApplicationProperties[name]
	return v, ok
}

// AppString returns an application property as text ("" when absent).
func (m *ServiceBusMessage) AppString(name string) string {
	v, ok := m.ApplicationProperties[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// DecodeBody unmarshals the JSON body into v.
func (m *ServiceBusMessage) DecodeBody(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("trigger: service bus message %s body: %w", m.MessageID, err)
	}
	return nil
}

// serviceBusKeys are the extension's built-in binding data names; body
// properties that match one case-insensitively take its casing.
var serviceBusKeys = []string{
	"DeliveryCount", "DeadLetterSource", "LockToken", "ExpiresAtUtc", "ExpiresAt",
	"EnqueuedTimeUtc", "EnqueuedTime", "MessageId", "ContentType", "ReplyTo",
	"SequenceNumber", "To", "Subject", "Label", "CorrelationId", "SessionId",
	"ReplyToSessionId", "PartitionKey", "TransactionPartitionKey",
	"ApplicationProperties", "UserProperties",
}

// ServiceBusMessage decodes the Service Bus trigger bound as binding.
func (inv *Invocation) ServiceBusMessage(binding string) (ServiceBusMessage, error) {
	var m ServiceBusMessage
	raw, err := inv.Binding(binding)
	if err != nil {
		return m, err
	}
	body, b64, err := unwrapBody(raw)
	if err != nil {
		return m, fmt.Errorf("trigger: service bus Data.%s: %w", binding, err)
	}
	sc := shadowCheck{}
	if !b64 {
		sc.props = bodyProps(body)
	}
	m.ContentType = sc.text(inv, "ContentType")
	if !b64 && isOctetStream(m.ContentType) {
		if dec, ok := decodeBase64(body); ok {
			body, b64 = dec, true
		}
	}
	m.Body, m.BodyBase64 = body, b64
	m.MessageID = sc.text(inv, "MessageId")
	m.CorrelationID = sc.text(inv, "CorrelationId")
	m.ReplyTo = sc.text(inv, "ReplyTo")
	m.SessionID = sc.text(inv, "SessionId")
	m.LockToken = sc.text(inv, "LockToken")
	if m.Subject = sc.text(inv, "Subject"); m.Subject == "" {
		m.Subject = sc.text(inv, "Label")
	}
	var errs []error
	n, err := sc.int(inv, "DeliveryCount")
	errs = append(errs, err)
	m.DeliveryCount = int(n)
	m.SequenceNumber, err = sc.int(inv, "SequenceNumber")
	errs = append(errs, err)
	m.EnqueuedTime, err = timeWithFallback(inv, &sc, "EnqueuedTime", "EnqueuedTimeUtc")
	errs = append(errs, err)
	m.ExpiresAt, err = timeWithFallback(inv, &sc, "ExpiresAt", "ExpiresAtUtc")
	errs = append(errs, err)
	m.ApplicationProperties, err = appProperties(inv)
	errs = append(errs, err)
	m.Sys, err = inv.Sys()
	errs = append(errs, err)
	m.Shadowed = sc.shadowed
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("trigger: service bus message %q: %w", m.MessageID, err)
	}
	return m, nil
}

func timeWithFallback(inv *Invocation, sc *shadowCheck, key, fallback string) (time.Time, error) {
	t, err := sc.time(inv, key)
	if err != nil || !t.IsZero() {
		return t, err
	}
	return sc.time(inv, fallback)
}

func appProperties(inv *Invocation) (map[string]any, error) {
	for _, key := range []string{"ApplicationProperties", "UserProperties"} {
		raw, ok := inv.Meta(key)
		if !ok || isNull(raw) {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if raw[0] == '"' { // tolerate an object serialised as a string
			if s, ok := metaText(raw); ok {
				raw = json.RawMessage(s)
			}
		}
		var props map[string]any
		if err := json.Unmarshal(raw, &props); err != nil {
			//lint:ignore ST1005 Metadata.<key> names the payload field
			return nil, fmt.Errorf("Metadata.%s: %w", key, err)
		}
		return props, nil
	}
	return nil, nil
}

func isOctetStream(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/octet-stream"
}

// EncodeServiceBusInvocation renders msg as the request body the host sends
// for a Service Bus trigger bound as binding. A body that is not UTF-8 text
// must set BodyBase64.
func EncodeServiceBusInvocation(binding string, msg ServiceBusMessage) ([]byte, error) {
	if !msg.BodyBase64 && !utf8.Valid(msg.Body) {
		return nil, errors.New("trigger: encode service bus message: body is not UTF-8 text; set BodyBase64")
	}
	var meta ordered
	meta.add("DeliveryCount", quoteOnce(strconv.Itoa(msg.DeliveryCount)))
	addText := func(k, v string) {
		if v != "" { // the host omits null values
			meta.add(k, quoteTwice(v))
		}
	}
	addText("LockToken", msg.LockToken)
	if !msg.ExpiresAt.IsZero() {
		meta.add("ExpiresAtUtc", fmtTime(msg.ExpiresAt, layoutNoZone))
		meta.add("ExpiresAt", fmtTime(msg.ExpiresAt, layoutOffset))
	}
	if !msg.EnqueuedTime.IsZero() {
		meta.add("EnqueuedTimeUtc", fmtTime(msg.EnqueuedTime, layoutNoZone))
		meta.add("EnqueuedTime", fmtTime(msg.EnqueuedTime, layoutOffset))
	}
	addText("MessageId", msg.MessageID)
	addText("ContentType", msg.ContentType)
	addText("ReplyTo", msg.ReplyTo)
	meta.add("SequenceNumber", quoteOnce(strconv.FormatInt(msg.SequenceNumber, 10)))
	addText("Subject", msg.Subject)
	addText("Label", msg.Subject)
	addText("CorrelationId", msg.CorrelationID)
	addText("SessionId", msg.SessionID)
	if msg.ApplicationProperties != nil {
		props, err := marshalNoEscape(msg.ApplicationProperties)
		if err != nil {
			return nil, fmt.Errorf("trigger: encode service bus application properties: %w", err)
		}
		meta.add("ApplicationProperties", props)
		meta.add("UserProperties", props)
	}
	for _, k := range []string{"MessageReceiver", "MessageSession", "MessageActions", "SessionActions", "ReceiveActions", "Client"} {
		meta.add(k, []byte("{}"))
	}
	meta.add("sys", sysValue(msg.Sys))
	if !msg.BodyBase64 {
		mergeBodyProps(&meta, msg.Body, serviceBusKeys)
	}
	return envelope(binding, encodeTextBody(msg.Body, msg.BodyBase64), &meta), nil
}

// contentTypeIsJSON reports whether a media type is JSON (application/json,
// application/*+json).
func contentTypeIsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
