package devhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/arrops/arrops/trigger"
)

// member and object give JSON objects a fixed key order: the host writes Metadata
// in binding-data order and tests compare against captures, so the order is kept
// for readability of diffs (equality itself is order-independent).
type member struct {
	Key   string
	Value any
}

type object []member

// set replaces the value of key (exact match) or appends it.
func (o *object) set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, member{key, v})
}

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := marshal(m.Key)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshal(m.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Key, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: Json.NET, which writes the real
// payloads, leaves <, > and & alone, and the double-encoded bodies must match.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// quote is JsonConvert.SerializeObject of a string: the string as a JSON literal.
// The host applies it to every string binding value, hence the double encoding.
func quote(s string) string {
	b, _ := marshal(s)
	return string(b)
}

// Time layouts of the host's JSON (Json.NET, trailing fraction zeros trimmed).
const (
	layoutOffset = "2006-01-02T15:04:05.9999999-07:00" // DateTimeOffset: queue times, timer status
	layoutUTC    = "2006-01-02T15:04:05.9999999Z"      // sys.UtcNow
	layoutBare   = "2006-01-02T15:04:05.9999999"       // Service Bus *Utc (DateTime, kind not written)
)

// sysObject is Metadata.sys.
func sysObject(method string, now time.Time, randGUID string) object {
	return object{{"MethodName", method}, {"UtcNow", now.UTC().Format(layoutUTC)}, {"RandGuid", randGUID}}
}

// invocation is the request body: {"Data": {...}, "Metadata": {...}}.
func invocation(data, metadata object) ([]byte, error) {
	return marshal(object{{"Data", data}, {"Metadata", metadata}})
}

// bodyProperties returns the top-level scalar properties of a JSON object message
// as the host adds them to binding data: each value turned into .NET text
// (ToString of the Json.NET value) and then serialized as a JSON string. Null,
// array and object values are left out, and a non-object body yields nothing.
func bodyProperties(text string) []member {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		if s, ok := trigger.HostPropertyText(raw); ok {
			out = append(out, member{key, quote(s)})
		}
	}
	// Trailing garbage makes the body invalid JSON: then the host binds no properties.
	if _, err := dec.Token(); err != nil {
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil
	}
	return out
}

// mergeBodyProperties adds body properties to metadata the way the queue and
// Service Bus extensions do: "binding data from the value type overrides the
// built-in binding data". A key matching a built-in name case-insensitively takes
// the built-in's casing (and its position when the built-in is present).
func mergeBodyProperties(meta *object, props []member, builtins []string) {
	for _, p := range props {
		key := p.Key
		for _, b := range builtins {
			if strings.EqualFold(b, key) {
				key = b
				break
			}
		}
		replaced := false
		for i := range *meta {
			if strings.EqualFold((*meta)[i].Key, key) {
				(*meta)[i].Value = p.Value
				replaced = true
				break
			}
		}
		if !replaced {
			*meta = append(*meta, member{key, p.Value})
		}
	}
}

// QueueMessage is a dequeued storage-queue message as the trigger binds it.
type QueueMessage struct {
	ID              string
	PopReceipt      string
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	Text            string // after messageEncoding decoding
}

var queueBuiltins = []string{"QueueTrigger", "DequeueCount", "ExpirationTime", "Id", "InsertionTime", "NextVisibleTime", "PopReceipt", "sys"}

// QueuePayload builds the invocation body of a queueTrigger function.
func QueuePayload(function, binding string, m QueueMessage, now time.Time, randGUID string) ([]byte, error) {
	meta := object{
		{"DequeueCount", strconv.FormatInt(m.DequeueCount, 10)},
		{"ExpirationTime", m.ExpirationTime.UTC().Format(layoutOffset)},
		{"Id", quote(m.ID)},
		{"InsertionTime", m.InsertionTime.UTC().Format(layoutOffset)},
		{"NextVisibleTime", m.NextVisibleTime.UTC().Format(layoutOffset)},
		{"PopReceipt", quote(m.PopReceipt)},
		{"sys", sysObject(function, now, randGUID)},
	}
	mergeBodyProperties(&meta, bodyProperties(m.Text), queueBuiltins)
	return invocation(object{{binding, quote(m.Text)}}, meta)
}

// ServiceBusMessage is a received Service Bus message as the trigger binds it.
type ServiceBusMessage struct {
	MessageID             string
	CorrelationID         string
	ReplyTo               string
	Subject               string
	ContentType           string
	ApplicationProperties map[string]any
	Body                  string
	DeliveryCount         int64
	SequenceNumber        int64
	EnqueuedTime          time.Time
	ExpiresAt             time.Time // zero: no TTL
	LockToken             string
	Namespace             string // FullyQualifiedNamespace reported in Metadata.Client
	ClientID              string // Metadata.Client.Identifier suffix
}

var serviceBusBuiltins = []string{"DeliveryCount", "DeadLetterSource", "LockToken", "ExpiresAtUtc", "ExpiresAt",
	"EnqueuedTimeUtc", "EnqueuedTime", "MessageId", "ContentType", "ReplyTo", "SequenceNumber", "To", "Subject",
	"Label", "CorrelationId", "ApplicationProperties", "UserProperties", "SessionId", "ReplyToSessionId",
	"PartitionKey", "TransactionPartitionKey", "MessageReceiver", "MessageSession", "MessageActions",
	"SessionActions", "ReceiveActions", "Client", "sys"}

// noTTL is DateTimeOffset.MaxValue, what Service Bus reports for a message
// without time-to-live.
var noTTL = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)

// ServiceBusPayload builds the invocation body of a serviceBusTrigger function.
// Null values (ReplyTo, SessionId, …) are omitted, as the host skips nulls.
func ServiceBusPayload(function, binding string, m ServiceBusMessage, now time.Time, randGUID string) ([]byte, error) {
	exp := m.ExpiresAt
	if exp.IsZero() {
		exp = noTTL
	}
	props := m.ApplicationProperties
	if props == nil {
		props = map[string]any{}
	}
	meta := object{
		{"DeliveryCount", strconv.FormatInt(m.DeliveryCount, 10)},
		{"LockToken", quote(m.LockToken)},
		{"ExpiresAtUtc", exp.UTC().Format(layoutBare)},
		{"ExpiresAt", exp.UTC().Format(layoutOffset)},
		{"EnqueuedTimeUtc", m.EnqueuedTime.UTC().Format(layoutBare)},
		{"EnqueuedTime", m.EnqueuedTime.UTC().Format(layoutOffset)},
		{"MessageId", quote(m.MessageID)},
	}
	optional := func(key, v string) {
		if v != "" {
			meta = append(meta, member{key, quote(v)})
		}
	}
	optional("ContentType", m.ContentType)
	optional("ReplyTo", m.ReplyTo)
	meta = append(meta, member{"SequenceNumber", strconv.FormatInt(m.SequenceNumber, 10)})
	optional("Subject", m.Subject)
	optional("Label", m.Subject)
	optional("CorrelationId", m.CorrelationID)
	meta = append(meta,
		member{"ApplicationProperties", props},
		member{"UserProperties", props},
		member{"MessageReceiver", object{}},
		member{"MessageSession", object{}},
		member{"MessageActions", object{}},
		member{"SessionActions", object{}},
		member{"ReceiveActions", object{}},
		member{"Client", object{
			{"FullyQualifiedNamespace", m.Namespace},
			{"IsClosed", false},
			{"TransportType", 0},
			{"Identifier", m.Namespace + "-" + m.ClientID},
		}},
		member{"sys", sysObject(function, now, randGUID)},
	)
	mergeBodyProperties(&meta, bodyProperties(m.Body), serviceBusBuiltins)
	return invocation(object{{binding, quote(m.Body)}}, meta)
}

// TimerStatus is the schedule status the host keeps per timer function.
type TimerStatus struct {
	Last, Next, LastUpdated time.Time
}

// TimerPayload builds the invocation body of a timerTrigger function. A nil
// status is sent as "ScheduleStatus": null (no monitor).
func TimerPayload(function, binding string, status *TimerStatus, pastDue bool, now time.Time, randGUID string) ([]byte, error) {
	var st any
	if status != nil {
		st = object{
			{"Last", dotnetDateTime(status.Last)},
			{"Next", dotnetDateTime(status.Next)},
			{"LastUpdated", dotnetDateTime(status.LastUpdated)},
		}
	}
	timer := object{{"Schedule", object{{"AdjustForDST", true}}}, {"ScheduleStatus", st}, {"IsPastDue", pastDue}}
	return invocation(object{{binding, timer}}, object{{"sys", sysObject(function, now, randGUID)}})
}

// dotnetDateTime writes a status time; the zero time is DateTime.MinValue, which
// the host reports for "never ran" and Json.NET writes without an offset.
func dotnetDateTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.Format(layoutOffset)
}
