package trigger

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The host serialises with Newtonsoft.Json; these helpers reproduce the bits
// of its output that a handler can observe.

const (
	// layoutOffset is Newtonsoft's ISO form for DateTimeOffset values
	// (fraction trimmed of trailing zeros, 100 ns precision).
	layoutOffset = "2006-01-02T15:04:05.9999999-07:00"
	// layoutNoZone is the form of the "Utc" Service Bus variants.
	layoutNoZone = "2006-01-02T15:04:05.9999999"
	// layoutSys is the form of sys.UtcNow.
	layoutSys = "2006-01-02T15:04:05.9999999Z07:00"
	// layoutMetaDate is how body dates are rewritten in Metadata
	// (DateTime.ToString() in the invariant culture).
	layoutMetaDate = "01/02/2006 15:04:05"
)

// jsonString is json.Marshal of a string without Go's HTML escaping, which
// Newtonsoft does not do.
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// quoteTwice renders a string metadata value: the host serialises the value
// to JSON text ("abc" -> "\"abc\"") and the envelope quotes that text again.
func quoteTwice(s string) []byte { return jsonString(string(jsonString(s))) }

// quoteOnce renders values the host sends as plain strings: numbers ("3")
// and trigger timestamps.
func quoteOnce(s string) []byte { return jsonString(s) }

// isHostDate mimics Json.NET's DateParseHandling.DateTime, which the host
// applies when it reads a body: a string of 19 to 40 characters shaped like an
// ISO 8601 date-time (digits, '-' at 4 and 7, 'T' at 10, ':' at 13 and 16)
// becomes a DateTime. Times with a zone are converted to the host's local
// time, which is UTC on Azure.
func isHostDate(s string) (time.Time, bool) {
	if len(s) < 19 || len(s) > 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, err := parseTime(s)
	return t.UTC(), err == nil
}

// HostPropertyText renders a top-level body property the way it appears in
// the trigger Metadata before quoting, as .NET's ToString would after
// Json.NET parsed it; ok is false for properties the host leaves out (null,
// arrays, objects). Captured: strings, ISO dates rewritten as
// MM/dd/yyyy HH:mm:ss, arrays dropped. Assumed (JToken.ToString, not
// captured): integers as their literal text, other numbers as a double's
// shortest form, booleans as True/False, objects dropped. devhost uses it to
// build the payloads, the encoders here to build test payloads.
func HostPropertyText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		if t, ok := isHostDate(s); ok {
			return t.Format(layoutMetaDate), true
		}
		return s, true
	case 't':
		return "True", true
	case 'f':
		return "False", true
	case 'n', '{', '[':
		return "", false
	default:
		n := string(raw)
		if strings.ContainsAny(n, ".eE") {
			if f, err := strconv.ParseFloat(n, 64); err == nil {
				return strconv.FormatFloat(f, 'G', -1, 64), true
			}
		}
		return n, true
	}
}

// ordered is a JSON object that keeps key order, as the host's does.
type ordered struct {
	keys []string
	vals [][]byte
}

func (o *ordered) add(k string, v []byte) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *ordered) index(k string) int {
	for i, have := range o.keys {
		if strings.EqualFold(have, k) {
			return i
		}
	}
	return -1
}

func (o *ordered) bytes() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(k))
		b.WriteByte(':')
		b.Write(o.vals[i])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// objectMembers returns the top-level members of a JSON object in order.
func objectMembers(body []byte) (keys []string, vals []json.RawMessage, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals, true
}

// mergeBodyProps copies the top-level scalar properties of a JSON object body
// into meta, as the trigger extensions do: a property replaces a built-in key
// of the same name (case-insensitively, keeping the built-in key's casing and
// position), else it is appended, taking the casing of a known built-in key
// when it names one whose value was null. "sys" is set by the host after the
// binding data and so is never replaced.
func mergeBodyProps(meta *ordered, body []byte, known []string) {
	keys, vals, ok := objectMembers(body)
	if !ok {
		return
	}
	for i, k := range keys {
		text, ok := HostPropertyText(vals[i])
		if !ok || strings.EqualFold(k, "sys") {
			continue
		}
		v := quoteTwice(text)
		if j := meta.index(k); j >= 0 {
			meta.vals[j] = v
			continue
		}
		name := k
		for _, kn := range known {
			if strings.EqualFold(kn, k) {
				name = kn
				break
			}
		}
		meta.add(name, v)
	}
}

// MarshalJSON renders sys as the host does.
func (s Sys) MarshalJSON() ([]byte, error) {
	var o ordered
	o.add("MethodName", jsonString(s.MethodName))
	o.add("UtcNow", jsonString(s.UtcNow.UTC().Format(layoutSys)))
	o.add("RandGuid", jsonString(s.RandGuid))
	return o.bytes(), nil
}

// NewSys returns the sys metadata for an invocation of method at now, with a
// fresh random GUID, as the host makes it.
func NewSys(method string, now time.Time) Sys {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	guid := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return Sys{MethodName: method, UtcNow: now.UTC().Truncate(100 * time.Nanosecond), RandGuid: guid}
}

// encodeTextBody renders a queue or Service Bus body in Data: the text
// JSON-encoded twice (base64 text first when b64 is set).
func encodeTextBody(body []byte, b64 bool) []byte {
	text := string(body)
	if b64 {
		text = base64Std(body)
	}
	return quoteTwice(text)
}

func envelope(binding string, data []byte, meta *ordered) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Data":{`)
	b.Write(jsonString(binding))
	b.WriteByte(':')
	b.Write(data)
	b.WriteString(`},"Metadata":`)
	b.Write(meta.bytes())
	b.WriteByte('}')
	return b.Bytes()
}

func sysValue(s Sys) []byte {
	b, _ := s.MarshalJSON()
	return b
}

func fmtTime(t time.Time, layout string) []byte {
	return quoteOnce(t.UTC().Format(layout))
}
