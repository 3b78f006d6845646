package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventSchema names the envelope an event arrived in.
type EventSchema string

// Event envelopes that Event Grid delivers.
const (
	SchemaEventGrid   EventSchema = "EventGrid"
	SchemaCloudEvents EventSchema = "CloudEvents"
)

// BlobCreatedType is the event type of a new or overwritten blob.
const BlobCreatedType = "Microsoft.Storage.BlobCreated"

// BlobEvent is a Storage blob event (BlobCreated and its siblings) in either
// the Event Grid or the CloudEvents 1.0 schema.
type BlobEvent struct {
	Schema EventSchema
	ID     string
	// EventType is eventType (Event Grid) or type (CloudEvents).
	EventType string
	// Source is topic (Event Grid) or source (CloudEvents): the storage
	// account's resource id.
	Source  string
	Subject string
	// EventTime is eventTime or time, in UTC.
	EventTime   time.Time
	DataVersion string
	SpecVersion string
	// Container and BlobPath are parsed from Subject
	// (/blobServices/default/containers/<container>/blobs/<path>).
	Container string
	BlobPath  string
	Data      BlobEventData
}

// BlobEventData is the data of a blob event. ETag keeps its quotes, as sent
// ("\"0x8D...\""), ready for If-Match.
type BlobEventData struct {
	API             string `json:"api"`
	ClientRequestID string `json:"clientRequestId"`
	RequestID       string `json:"requestId"`
	ETag            string `json:"eTag"`
	ContentType     string `json:"contentType"`
	ContentLength   int64  `json:"contentLength"`
	ContentOffset   int64  `json:"contentOffset"`
	BlobType        string `json:"blobType"`
	// URL is the blob's URL; for Data Lake (FlushWithClose) events it is on
	// dfs.core.windows.net and BlobURL holds the blob endpoint form.
	URL       string `json:"url"`
	BlobURL   string `json:"blobUrl"`
	Sequencer string `json:"sequencer"`
}

// BlobURLOrURL returns the blob-endpoint URL of the blob: BlobURL when the
// event carries one, else URL.
func (d *BlobEventData) BlobURLOrURL() string {
	if d.BlobURL != "" {
		return d.BlobURL
	}
	return d.URL
}

type blobEventWire struct {
	ID          string          `json:"id"`
	EventType   string          `json:"eventType"`
	Type        string          `json:"type"`
	Topic       string          `json:"topic"`
	Source      string          `json:"source"`
	Subject     string          `json:"subject"`
	EventTime   string          `json:"eventTime"`
	Time        string          `json:"time"`
	DataVersion string          `json:"dataVersion"`
	SpecVersion string          `json:"specversion"`
	Data        json.RawMessage `json:"data"`
}

// DecodeBlobEvents decodes a queue message body carrying blob events: one
// event or an array of them, in the Event Grid or CloudEvents schema, as raw
// JSON, as a JSON string holding it, or as base64 of either.
func DecodeBlobEvents(body []byte) ([]BlobEvent, error) {
	doc, err := eventJSON(body)
	if err != nil {
		return nil, fmt.Errorf("trigger: decode blob events: %w", err)
	}
	var wires []blobEventWire
	if doc[0] == '[' {
		if err := json.Unmarshal(doc, &wires); err != nil {
			return nil, fmt.Errorf("trigger: decode blob events: %w", err)
		}
		if len(wires) == 0 {
			return nil, errors.New("trigger: decode blob events: empty array")
		}
	} else {
		var w blobEventWire
		if err := json.Unmarshal(doc, &w); err != nil {
			return nil, fmt.Errorf("trigger: decode blob events: %w", err)
		}
		wires = []blobEventWire{w}
	}
	events := make([]BlobEvent, 0, len(wires))
	for i, w := range wires {
		ev, err := w.event()
		if err != nil {
			return nil, fmt.Errorf("trigger: decode blob event %d: %w", i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// eventJSON peels JSON string and base64 layers (at most a few) until it
// finds a JSON object or array.
func eventJSON(body []byte) ([]byte, error) {
	doc := bytes.TrimSpace(body)
	for range 4 {
		if len(doc) == 0 {
			return nil, errors.New("empty body")
		}
		switch doc[0] {
		case '{', '[':
			return doc, nil
		case '"':
			var s string
			if err := json.Unmarshal(doc, &s); err != nil {
				return nil, err
			}
			doc = bytes.TrimSpace([]byte(s))
		default:
			dec, ok := decodeBase64(doc)
			if !ok {
				return nil, errors.New("body is neither JSON nor base64")
			}
			doc = bytes.TrimSpace(dec)
		}
	}
	return nil, errors.New("too many encoding layers")
}

func (w *blobEventWire) event() (BlobEvent, error) {
	ev := BlobEvent{
		ID: w.ID, Subject: w.Subject, DataVersion: w.DataVersion, SpecVersion: w.SpecVersion,
	}
	when := w.EventTime
	if w.SpecVersion != "" || (w.EventType == "" && w.Type != "") {
		ev.Schema, ev.EventType, ev.Source, when = SchemaCloudEvents, w.Type, w.Source, w.Time
	} else {
		ev.Schema, ev.EventType, ev.Source = SchemaEventGrid, w.EventType, w.Topic
	}
	if ev.ID == "" {
		return ev, errors.New("no id")
	}
	if ev.EventType == "" {
		return ev, fmt.Errorf("event %s: no event type", ev.ID)
	}
	t, err := parseTime(when)
	if err != nil {
		return ev, fmt.Errorf("event %s: time %q: %w", ev.ID, when, err)
	}
	ev.EventTime = t
	if !isNull(w.Data) {
		if err := json.Unmarshal(w.Data, &ev.Data); err != nil {
			return ev, fmt.Errorf("event %s: data: %w", ev.ID, err)
		}
	}
	if strings.HasPrefix(ev.EventType, "Microsoft.Storage.Blob") {
		c, p, ok := ParseBlobSubject(ev.Subject)
		if !ok {
			return ev, fmt.Errorf("event %s: subject %q is not /blobServices/default/containers/<container>/blobs/<path>", ev.ID, ev.Subject)
		}
		ev.Container, ev.BlobPath = c, p
	}
	return ev, nil
}

// ParseBlobSubject splits a blob event subject
// /blobServices/default/containers/<container>/blobs/<path> into container
// and blob path.
func ParseBlobSubject(subject string) (container, path string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "/blobServices/default/containers/")
	if !ok {
		return "", "", false
	}
	container, path, ok = strings.Cut(rest, "/blobs/")
	if !ok || container == "" || path == "" || strings.Contains(container, "/") {
		return "", "", false
	}
	return container, path, true
}
