package arrops

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// tagsOfSize returns n tags whose JSON is exactly total bytes (ASCII).
func tagsOfSize(t *testing.T, n, total int) map[string]string {
	t.Helper()
	tags := map[string]string{}
	for i := range n {
		tags[fmt.Sprintf("k%03d", i)] = ""
	}
	for i := 0; TagsBytes(tags) < total; i = (i + 1) % n {
		k := fmt.Sprintf("k%03d", i)
		need := total - TagsBytes(tags)
		grow := min(need, MaxTagValueLength-len(tags[k]))
		tags[k] += strings.Repeat("v", grow)
	}
	if got := TagsBytes(tags); got != total {
		t.Fatalf("tagsOfSize(%d, %d) made %d bytes", n, total, got)
	}
	return tags
}

func TestValidateTags(t *testing.T) {
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint(i)] = "v"
		}
		return m
	}
	tests := []struct {
		name    string
		tags    map[string]string
		wantErr string // "" = valid
	}{
		{"none", nil, ""},
		{"count at limit", many(MaxTags), ""},
		{"count one past", many(MaxTags + 1), "tags is 51 tags, the limit is 50"},
		{"key at limit", map[string]string{strings.Repeat("k", MaxTagKeyLength): "v"}, ""},
		{"key one past", map[string]string{strings.Repeat("k", MaxTagKeyLength+1): "v"}, "is 257 characters, the limit is 256"},
		{"key at limit, multi-byte", map[string]string{strings.Repeat("é", MaxTagKeyLength): "v"}, ""},
		{"empty key", map[string]string{"": "v"}, "empty key"},
		{"value at limit", map[string]string{"k": strings.Repeat("v", MaxTagValueLength)}, ""},
		{"value one past", map[string]string{"k": strings.Repeat("v", MaxTagValueLength+1)}, "value of tag k is 257 characters, the limit is 256"},
		{"value one past, multi-byte", map[string]string{"k": strings.Repeat("日", MaxTagValueLength+1)}, "257 characters"},
		{"total at limit", tagsOfSize(t, 40, MaxTagsBytes), ""},
		{"total one past", tagsOfSize(t, 40, MaxTagsBytes+1), "tags (JSON-encoded) is 8193 bytes, the limit is 8192"},
		// Escaping counts: 50 tags of 256 quotes each are within count, key
		// and value limits but their JSON is far over the total.
		{"total by escaping", func() map[string]string {
			m := map[string]string{}
			for i := range MaxTags {
				m[fmt.Sprint(i)] = strings.Repeat(`"`, MaxTagValueLength)
			}
			return m
		}(), "tags (JSON-encoded)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTags(tt.tags)
			checkLimitErr(t, err, tt.wantErr)
		})
	}
}

func checkLimitErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want containing %q", err, want)
	}
	if ErrorCode(err) != EINVALID {
		t.Fatalf("code = %s, want %s", ErrorCode(err), EINVALID)
	}
	if len(ErrorMessage(err)) > MaxTextBytes {
		t.Fatalf("reason is %d bytes, more than %d", len(ErrorMessage(err)), MaxTextBytes)
	}
}

func TestValidateStrings(t *testing.T) {
	tests := []struct {
		name    string
		check   func(string) error
		in      string
		wantErr string
	}{
		{"requestedBy at limit", ValidateRequestedBy, strings.Repeat("r", MaxRequestedByChars), ""},
		{"requestedBy at limit, multi-byte", ValidateRequestedBy, strings.Repeat("ü", MaxRequestedByChars), ""},
		{"requestedBy one past", ValidateRequestedBy, strings.Repeat("r", MaxRequestedByChars+1), "requestedBy is 257 characters, the limit is 256"},
		{"replyTo empty", ValidateReplyTo, "", ""},
		{"replyTo at limit", ValidateReplyTo, strings.Repeat("q", BusMaxEntityLength), ""},
		{"replyTo one past", ValidateReplyTo, strings.Repeat("q", BusMaxEntityLength+1), "ReplyTo is 261 characters, the limit is 260"},
		{"replyTo path", ValidateReplyTo, "replies/app-1_x.y", ""},
		{"replyTo space", ValidateReplyTo, "my replies", "has character ' '"},
		{"replyTo leading dash", ValidateReplyTo, "-replies", "start and end"},
		{"replyTo trailing slash", ValidateReplyTo, "replies/", "start and end"},
		{"key at limit", func(s string) error { return ValidateTableKey("RowKey", s) }, strings.Repeat("k", TableMaxKeyBytes/2), ""},
		{"key one past", func(s string) error { return ValidateTableKey("RowKey", s) }, strings.Repeat("k", TableMaxKeyBytes/2+1), "RowKey is 1026 bytes (UTF-16), the limit is 1024"},
		{"key surrogate pair", func(s string) error { return ValidateTableKey("RowKey", s) }, strings.Repeat("😀", TableMaxKeyBytes/4+1), "the limit is 1024"},
		{"key slash", func(s string) error { return ValidateTableKey("RowKey", s) }, "a/b", "forbid"},
		{"key hash", func(s string) error { return ValidateTableKey("RowKey", s) }, "a#b", "forbid"},
		{"key control", func(s string) error { return ValidateTableKey("RowKey", s) }, "a\x7fb", "forbid"},
		{"key C1 control", func(s string) error { return ValidateTableKey("RowKey", s) }, "a\u0085b", "forbid"},
		{"id at limit", ValidateID, strings.Repeat("i", MaxIDLength), ""},
		{"id one past", ValidateID, strings.Repeat("i", MaxIDLength+1), "id is 257 characters, the limit is 256"},
		{"id bad character, long", ValidateID, strings.Repeat("i", 200) + "&", "only letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLimitErr(t, tt.check(tt.in), tt.wantErr) })
	}
}

func TestParseCommandLimits(t *testing.T) {
	pad := func(n int) string { // a start body of exactly n bytes
		base := `{"action":"start","requestedBy":""}`
		return `{"action":"start","requestedBy":"` + strings.Repeat(" ", n-len(base)) + `"}`
	}
	tests := []struct {
		name, body string
		wantErr    string
	}{
		{"body at limit", `{"action":"start"}` + strings.Repeat(" ", MaxCommandBytes-len(`{"action":"start"}`)), ""},
		{"body one past", pad(MaxCommandBytes + 1), "message body is 65537 bytes, the limit is 65536"},
		{"tags over count", `{"action":"start","tags":{` + func() string {
			var parts []string
			for i := range MaxTags + 1 {
				parts = append(parts, fmt.Sprintf(`"t%d":"v"`, i))
			}
			return strings.Join(parts, ",")
		}() + `}}`, "tags is 51 tags"},
		{"tag value one past", `{"action":"start","tags":{"p":"` + strings.Repeat("x", MaxTagValueLength+1) + `"}}`, "value of tag p is 257 characters"},
		{"requestedBy one past", `{"action":"stop","sessionId":"a","requestedBy":"` + strings.Repeat("r", 257) + `"}`, "requestedBy is 257 characters"},
		{"huge unknown action", `{"action":"` + strings.Repeat("x", 50000) + `"}`, "unknown action"},
		{"huge unknown field", `{"action":"start","` + strings.Repeat("f", 50000) + `":1}`, "unknown field"},
		{"huge size", `{"action":"start","size":"` + strings.Repeat("z", 50000) + `"}`, "is not Standard or Premium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCommand([]byte(tt.body))
			checkLimitErr(t, err, tt.wantErr)
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "…"},
		{"abcdefgh", 7, "abcd…"},
		{`ab"cd`, 6, `ab"cd`},
		{`ab"cdef`, 7, `ab"…`},
		{"ab\xffcdef", 11, "ab\ufffd…"},
		{"a<b", 8, "a<b"},
		{"a<bc", 8, "a…"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Clip(tt.in, tt.max); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
	// Property: the JSON of Clip(s, max) never exceeds max, and valid text
	// within max is kept whole.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab\"\\\n\x01<>&\u2028é日😀\ufffd")
	for range 2000 {
		var b strings.Builder
		for range r.IntN(60) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		s, max := b.String(), 3+r.IntN(80)
		got := Clip(s, max)
		enc, _ := json.Marshal(got)
		if len(enc)-2 > max {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes of JSON", s, max, got, len(enc)-2)
		}
		if full, _ := json.Marshal(s); len(full)-2 <= max && got != s {
			t.Fatalf("Clip(%q, %d) = %q: cut text that fits", s, max, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: invalid UTF-8", s, max, got)
		}
	}
}

// worstText is n runes that JSON-encode to 6 bytes each.
func worstText(n int) string { return strings.Repeat("\u2028", n) }

// TestLimitsCompose builds the largest session that valid commands and
// clipped outside text can produce, and checks that its event and its reply
// fit MaxEventBytes and that the local transport's envelope (the body escaped
// once more, plus headers, then base64) fits a storage-queue message.
func TestLimitsCompose(t *testing.T) {
	tags := map[string]string{}
	for i := 0; len(tags) < MaxTags; i++ {
		tags[fmt.Sprintf("%03d%s", i, worstText(20))] = worstText(MaxTagValueLength)
		if TagsBytes(tags) > MaxTagsBytes {
			delete(tags, fmt.Sprintf("%03d%s", i, worstText(20)))
			break
		}
	}
	if err := ValidateTags(tags); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat(`"<`, 100000) // ARR's or storage's text, unbounded
	s := &Session{
		ID: strings.Repeat("i", MaxIDLength), Size: SizePremium, Status: SessionError, Origin: OriginCommand,
		RequestedBy: worstText(MaxRequestedByChars), Tags: tags, MaxLeaseMinutes: MaxLeaseMinutes,
		ElapsedMinutes: MaxLeaseMinutes, Hostname: strings.Repeat("h", 253), HandshakePort: 65535, InspectorPort: 65535,
		StopReason: long, ErrorCode: long, ErrorMessage: long, ReplyTo: strings.Repeat("q", BusMaxEntityLength),
		CorrelationID: strings.Repeat("m", BusMaxMessageIDLength),
	}
	now := time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC)
	ev := SessionEvent(s, now)
	ev.StopAt = &now
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMessage("event", body); err != nil {
		t.Fatalf("largest event: %v", err)
	}
	reply, _ := json.Marshal(CommandReply{Outcome: OutcomeRejected, Reason: Clip(long, MaxTextBytes), Action: ActionExtend, SessionID: s.ID, Session: &ev})
	if err := CheckMessage("reply", reply); err != nil {
		t.Fatalf("largest reply: %v", err)
	}
	// The local transport: the body as a JSON string (escaped once more) in an
	// envelope with id, correlation id, subject, reply-to and properties.
	escaped, _ := json.Marshal(string(reply))
	headers := 4*BusMaxMessageIDLength + BusMaxEntityLength + 6*MaxRequestedByChars + MaxIDLength + 512
	if raw := len(escaped) + headers; raw > QueueMaxRawBytes {
		t.Fatalf("largest reply envelope is %d bytes before base64, the queue takes %d", raw, QueueMaxRawBytes)
	}
	t.Logf("largest event %d B, reply %d B (limit %d); envelope ≤ %d B (limit %d)", len(body), len(reply), MaxEventBytes, len(escaped)+headers, QueueMaxRawBytes)
}

// TestREADMELimits keeps the README's limits table equal to Limits.
func TestREADMELimits(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := LimitsTable()
	if !strings.Contains(string(b), want) {
		t.Fatalf("README.md does not contain the limits table; paste:\n%s", want)
	}
}
