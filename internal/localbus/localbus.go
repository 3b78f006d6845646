package localbus

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Envelope is one Service Bus message as carried on a storage queue. The field
// names mirror azservicebus.Message so that a publisher can copy them one to one.
// Body is the message body as text (Service Bus bodies in arrops are JSON text).
type Envelope struct {
	MessageID             string         `json:"messageId"`
	CorrelationID         string         `json:"correlationId,omitempty"`
	ReplyTo               string         `json:"replyTo,omitempty"`
	Subject               string         `json:"subject,omitempty"`
	ContentType           string         `json:"contentType,omitempty"`
	ApplicationProperties map[string]any `json:"applicationProperties,omitempty"`
	Body                  string         `json:"body"`
}

// ErrNotEnvelope reports message text that is neither an envelope's JSON nor the
// base64 of one.
var ErrNotEnvelope = errors.New("localbus: not an envelope")

// Encode returns the envelope's JSON, the text to put on the storage queue (a
// publisher may base64 it; Decode accepts both). A message id is required because
// the handler derives idempotency keys from it.
func Encode(e Envelope) ([]byte, error) {
	if e.MessageID == "" {
		return nil, errors.New("localbus: encode: empty messageId")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("localbus: encode: %w", err)
	}
	return b, nil
}

// EncodeBase64 is Encode followed by standard base64, the form a Functions host
// with the default queue messageEncoding expects.
func EncodeBase64(e Envelope) (string, error) {
	b, err := Encode(e)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Decode parses queue message text holding an envelope's JSON or the standard
// base64 of it. It fails with ErrNotEnvelope (wrapped) when the text is neither or
// when the messageId is missing, so callers can fall back to treating the text as
// a bare body.
func Decode(text []byte) (Envelope, error) {
	raw := bytes.TrimSpace(text)
	if len(raw) > 0 && raw[0] != '{' {
		dec, err := base64.StdEncoding.DecodeString(string(raw))
		if err != nil {
			return Envelope{}, fmt.Errorf("%w: neither JSON nor base64", ErrNotEnvelope)
		}
		raw = bytes.TrimSpace(dec)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Envelope{}, fmt.Errorf("%w: not a JSON object", ErrNotEnvelope)
	}
	var e Envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrNotEnvelope, err)
	}
	if e.MessageID == "" {
		return Envelope{}, fmt.Errorf("%w: empty messageId", ErrNotEnvelope)
	}
	return e, nil
}
