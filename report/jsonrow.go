package report

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// rowEncoder writes SessionRow as encoding/json would (same field order,
// omissions, escaping and number format; TestRowEncoderMatchesJSON and
// FuzzJSONString hold it to that) without reflection, because JSON rendering
// of a month of sessions is dominated by per-row encoding.
type rowEncoder struct {
	buf  []byte
	keys []string
	html bool // escape <, > and & as encoding/json does by default
}

func (e *rowEncoder) encode(r *SessionRow) []byte {
	b := e.buf[:0]
	b = append(b, `{"id":`...)
	b = e.str(b, r.ID)
	b = append(b, `,"size":`...)
	b = e.str(b, r.Size)
	b = append(b, `,"status":`...)
	b = e.str(b, r.Status)
	if r.Origin != "" {
		b = append(b, `,"origin":`...)
		b = e.str(b, r.Origin)
	}
	b = append(b, `,"requestedBy":`...)
	b = e.str(b, r.RequestedBy)
	b = append(b, `,"group":`...)
	b = e.str(b, r.Group)
	if len(r.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = e.tags(b, r.Tags)
	}
	b = appendTime(b, `,"createdAt":`, r.CreatedAt)
	b = appendTime(b, `,"readyAt":`, r.ReadyAt)
	b = appendTime(b, `,"stoppedAt":`, r.StoppedAt)
	b = append(b, `,"billedMinutes":`...)
	b = appendFloat(b, r.Minutes)
	b = append(b, `,"billedHours":`...)
	b = appendFloat(b, r.Hours)
	if r.Cost != nil {
		b = append(b, `,"cost":`...)
		b = appendFloat(b, *r.Cost)
	}
	b = append(b, `,"running":`...)
	b = strconv.AppendBool(b, r.Running)
	for _, f := range [...]struct{ name, v string }{{`,"stopReason":`, r.StopReason}, {`,"errorCode":`, r.ErrorCode}, {`,"note":`, r.Note}} {
		if f.v != "" {
			b = append(b, f.name...)
			b = e.str(b, f.v)
		}
	}
	b = append(b, '}')
	e.buf = b
	return b
}

// tags writes the map with sorted keys, as encoding/json does.
func (e *rowEncoder) tags(b []byte, m map[string]string) []byte {
	e.keys = e.keys[:0]
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	b = append(b, '{')
	for i, k := range e.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.str(b, k)
		b = append(b, ':')
		b = e.str(b, m[k])
	}
	return append(b, '}')
}

func appendTime(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, name...)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat matches encoding/json for the report's values: non-negative,
// rounded to a few decimals and far below 1e21.
func appendFloat(b []byte, f float64) []byte {
	if f != 0 && (f < 1e-6 || f >= 1e21) {
		// Not reached by rounded figures; kept identical anyway.
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1] // e-07 → e-7, as encoding/json writes it
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string with encoding/json's escaping: invalid
// UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped for JavaScript, and
// with html so are <, > and &.
func (e *rowEncoder) str(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!e.html || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
