package trigger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Invocation is the envelope the host POSTs to /<FunctionName>. Binding values
// and metadata stay raw so that each function decodes only what it uses.
type Invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// Sys is the host's "sys" metadata object.
type Sys struct {
	MethodName string
	UtcNow     time.Time
	RandGuid   string
}

// ErrNoBinding is wrapped by the errors returned when a named binding is
// missing from Data or is null.
var ErrNoBinding = errors.New("binding not present")

// DecodeInvocation decodes the request body of an invocation.
func DecodeInvocation(body []byte) (*Invocation, error) {
	var inv Invocation
	if err := json.Unmarshal(body, &inv); err != nil {
		return nil, fmt.Errorf("trigger: decode invocation: %w", err)
	}
	if inv.Data == nil {
		return nil, errors.New("trigger: decode invocation: no Data object")
	}
	if inv.Metadata == nil {
		inv.Metadata = map[string]json.RawMessage{}
	}
	return &inv, nil
}

// Binding returns the raw value of the named input binding. The host matches
// binding names case-insensitively, so does this.
func (inv *Invocation) Binding(name string) (json.RawMessage, error) {
	raw, ok := lookupFold(inv.Data, name)
	if !ok || isNull(raw) {
		return nil, fmt.Errorf("trigger: Data.%s: %w", name, ErrNoBinding)
	}
	return raw, nil
}

// Meta returns the raw metadata value for key (case-insensitive).
func (inv *Invocation) Meta(key string) (json.RawMessage, bool) {
	return lookupFold(inv.Metadata, key)
}

// MetaString returns a metadata value as text, undoing the host's quoting:
// "\"abc\"" and "abc" give abc, "3" and 3 give 3. Objects, arrays and missing
// keys give "", false.
func (inv *Invocation) MetaString(key string) (string, bool) {
	raw, ok := lookupFold(inv.Metadata, key)
	if !ok {
		return "", false
	}
	return metaText(raw)
}

// Sys decodes the "sys" metadata object. A missing object gives the zero Sys.
func (inv *Invocation) Sys() (Sys, error) {
	raw, ok := inv.Metadata["sys"]
	if !ok || isNull(raw) {
		return Sys{}, nil
	}
	var s struct {
		MethodName string
		UtcNow     string
		RandGuid   string
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return Sys{}, fmt.Errorf("trigger: Metadata.sys: %w", err)
	}
	t, err := parseTime(s.UtcNow)
	if err != nil {
		return Sys{}, fmt.Errorf("trigger: Metadata.sys.UtcNow: %w", err)
	}
	return Sys{MethodName: s.MethodName, UtcNow: t, RandGuid: s.RandGuid}, nil
}

func lookupFold(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// metaText undoes the host's metadata encoding of a scalar.
func metaText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	switch raw[0] {
	case '"':
		if s, ok := metaTextFast(raw); ok {
			return s, true
		}
		return metaTextString(raw)
	case '{', '[':
		return "", false
	default:
		return string(raw), true
	}
}

// metaTextString is the general form of metaText for a JSON string.
func metaTextString(raw []byte) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	if inner, ok := unquoteLiteral(s); ok {
		return inner, true
	}
	return s, true
}

// metaTextFast handles the common metadata forms without reflection: "abc"
// and "\"abc\"" where abc has no escapes.
func metaTextFast(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if len(in) >= 4 && in[0] == '\\' && in[1] == '"' && in[len(in)-2] == '\\' && in[len(in)-1] == '"' {
		in = in[2 : len(in)-2]
	}
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(in), true
}

// unquoteLiteral returns the content of s when s is a JSON string literal.
func unquoteLiteral(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) != nil {
		return "", false
	}
	return inner, true
}

// unwrapBody undoes the host's encoding of a queue or Service Bus body: two
// levels of JSON string encoding for text (one level, or an object, accepted
// too), then base64 when the text is base64 of JSON.
func unwrapBody(raw json.RawMessage) (body []byte, b64 bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, ErrNoBinding
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, fmt.Errorf("body string: %w", err)
		}
		if inner, ok := unquoteLiteral(s); ok {
			s = inner
		}
		body = []byte(s)
	} else {
		if !json.Valid(raw) {
			return nil, false, errors.New("body is not valid JSON")
		}
		body = append([]byte(nil), raw...)
	}
	if !json.Valid(body) {
		if dec, ok := decodeBase64(body); ok && json.Valid(dec) {
			return dec, true, nil
		}
	}
	return body, false, nil
}

// decodeBase64 decodes standard padded base64 only, so that ordinary words
// ("test") are not mistaken for base64 unless they really are canonical.
func decodeBase64(b []byte) ([]byte, bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 4 || len(b)%4 != 0 {
		return nil, false
	}
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Strict().Decode(dec, b)
	if err != nil {
		return nil, false
	}
	return dec[:n], true
}

// timeLayouts are the forms the host uses: ISO 8601 with an offset, and the
// zone-less "Utc" variants (EnqueuedTimeUtc) that are UTC by definition.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
}

// parseTime parses a host timestamp; "" gives the zero time. Results are in
// UTC so that equal instants compare equal with ==.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var firstErr error
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			return t.UTC(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return time.Time{}, firstErr
}

// bodyProps returns the host's Metadata rendering of the top-level scalar
// properties of a JSON object body, keyed by lower-case name. Nil when the
// body is not a JSON object.
func bodyProps(body []byte) map[string]string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	props := make(map[string]string, len(obj))
	for k, v := range obj {
		if text, ok := HostPropertyText(v); ok {
			props[strings.ToLower(k)] = text
		}
	}
	return props
}

// shadowCheck tells the decoders whether a built-in metadata value may have
// been overwritten by a body property.
type shadowCheck struct {
	props    map[string]string
	shadowed []string
}

// text returns the metadata value of key as text, or "" when the value is
// what the body's same-named property would have put there.
func (sc *shadowCheck) text(inv *Invocation, key string) string {
	v, ok := inv.MetaString(key)
	if !ok {
		return ""
	}
	if p, has := sc.props[strings.ToLower(key)]; has && p == v {
		sc.shadowed = append(sc.shadowed, key)
		return ""
	}
	return v
}

func (sc *shadowCheck) int(inv *Invocation, key string) (int64, error) {
	s := sc.text(inv, key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		//lint:ignore ST1005 Metadata.<key> names the payload field
		return 0, fmt.Errorf("Metadata.%s %q is not an integer", key, s)
	}
	return n, nil
}

func (sc *shadowCheck) time(inv *Invocation, key string) (time.Time, error) {
	s := sc.text(inv, key)
	t, err := parseTime(s)
	if err != nil {
		//lint:ignore ST1005 Metadata.<key> names the payload field
		return time.Time{}, fmt.Errorf("Metadata.%s %q is not a timestamp", key, s)
	}
	return t, nil
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
