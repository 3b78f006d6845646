package arrops

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits of the services that store and carry arrops' data, and the budgets
// arrops derives from them. A value that passes validation here is accepted
// by every service it reaches: a command that would fail later (a record
// write after ARR was called, an event after the record) is rejected before
// any side effect instead. The README's limits table is generated from Limits
// (see TestREADMELimits).
const (
	// Table Storage.
	TableMaxStringBytes      = 64 << 10 // per string property, UTF-16 (32 K characters)
	TableMaxEntityBytes      = 1 << 20  // per entity, all properties
	TableMaxCustomProperties = 252      // plus PartitionKey, RowKey, Timestamp
	TableMaxKeyBytes         = 1 << 10  // PartitionKey and RowKey each, UTF-16
	// TableForbiddenKeyChars may not appear in PartitionKey or RowKey, nor
	// may control characters U+0000-U+001F and U+007F-U+009F.
	TableForbiddenKeyChars = `/\#?`

	// Service Bus (Standard tier).
	BusMaxMessageBytes    = 256 << 10 // body, properties and headers
	BusMaxHeaderBytes     = 64 << 10  // all properties together
	BusMaxMessageIDLength = 128
	BusMaxEntityLength    = 260 // queue or topic name (a ReplyTo)

	// Storage queues (the local transport and the blob-created queue).
	QueueMaxMessageBytes    = 64 << 10                     // message text as stored
	QueueMaxRawBytes        = QueueMaxMessageBytes / 4 * 3 // content before base64 (48 KiB)
	QueueMaxVisibilityHours = 7 * 24                       // visibility timeout and initial delay

	// Azure Remote Rendering.
	MaxIDLength     = 256  // session and conversion ids: letters, digits, '-', '_'
	MaxLeaseMinutes = 1440 // maxLeaseTimeMinutes of a session
	// MinLeaseMinutes: ARR takes 0, but its lease counts from Ready, so a
	// 0-minute lease would end a session the moment it became usable, after
	// its start was billed: arrops accepts 1..1440 for start and extend alike.
	MinLeaseMinutes = 1

	// Blob storage.
	BlobMaxNameLength = 1024

	// arrops' own budgets, chosen so that the largest valid command makes a
	// record, an audit row, a reply and events that every limit above accepts
	// (TestLimitsCompose builds that worst case).
	MaxTags             = 50       // tags per session (as Azure resource tags)
	MaxTagKeyLength     = 256      // characters; also the longest key report groups by
	MaxTagValueLength   = 256      // characters (as Azure resource tags)
	MaxTagsBytes        = 8 << 10  // all tags as JSON, the form stored and published
	MaxRequestedByChars = 256      // characters
	MaxTextBytes        = 1 << 10  // a reason or error message, JSON-encoded; longer ones are clipped
	MaxEventBytes       = 20 << 10 // an event or reply body; twice it plus headers fits QueueMaxRawBytes
	MaxCommandBytes     = 64 << 10 // a command body; anything longer cannot be a valid command
)

// Limit is one row of the limits table.
type Limit struct {
	System string // the service or arrops
	What   string
	Value  string
	Source string // a URL, or the reason for an arrops budget
}

// Limits is the table, in README order.
var Limits = []Limit{
	{"Table Storage", "string property", "64 KiB (32 K UTF-16 characters)", docTable},
	{"Table Storage", "entity, all properties", "1 MiB", docTable},
	{"Table Storage", "custom properties per entity", "252", docTable},
	{"Table Storage", "PartitionKey, RowKey", "1 KiB each; no `/ \\ # ?` or control characters", docTableKeys},
	{"Service Bus (Standard)", "message", "256 KB", docBusQuotas},
	{"Service Bus", "all message properties (header)", "64 KB", docBusQuotas},
	{"Service Bus", "MessageId", "128 characters", docBusQuotas},
	{"Service Bus", "queue or topic name (`ReplyTo`)", "260 characters: letters, digits, `. - _ /`, starting and ending with a letter or digit", docBusNames},
	{"Storage queues", "message", "64 KiB (48 KiB of content before base64)", docQueue},
	{"Storage queues", "visibility timeout / initial delay", "7 days", docQueueVisibility},
	{"Storage queues", "queue name (local transport)", "3-63 characters: lower-case letters, digits, `-`", docQueueNames},
	{"Remote Rendering", "session and conversion id", "1-256 characters: letters, digits, `-`, `_`", docARRSession},
	{"Remote Rendering", "maxLeaseTimeMinutes", "start 0-1440, extend 1-1440", docARRSession},
	{"Blob storage", "blob name", "1,024 characters", docBlobNames},
	{"arrops", "tags per session", fmt.Sprint(MaxTags), "as Azure resource tags; with the sizes below every record, reply and event fits the limits above"},
	{"arrops", "tag key / tag value", fmt.Sprintf("%d / %d characters; keys not empty", MaxTagKeyLength, MaxTagValueLength), "as Azure resource tags (report groups by keys up to 256)"},
	{"arrops", "all tags, JSON-encoded", "8 KiB", "stored in one Table property and sent in every session event"},
	{"arrops", "requestedBy", fmt.Sprintf("%d characters", MaxRequestedByChars), "a Table property and a Service Bus application property"},
	{"arrops", "command body", "64 KiB", "the largest valid command is far smaller"},
	{"arrops", "reason or error message in records, replies, events", "1 KiB JSON-encoded, longer text is clipped with `…`", "ARR's and storage's messages are unbounded"},
	{"arrops", "event or reply body", "20 KiB", "twice it (the local transport escapes the body) plus headers fits a storage-queue message"},
}

const (
	docTable           = "https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model"
	docTableKeys       = "https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#characters-disallowed-in-key-fields"
	docBusQuotas       = "https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas"
	docBusNames        = "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus"
	docQueue           = "https://learn.microsoft.com/rest/api/storageservices/put-message"
	docQueueVisibility = "https://learn.microsoft.com/rest/api/storageservices/put-message#uri-parameters"
	docQueueNames      = "https://learn.microsoft.com/rest/api/storageservices/naming-queues-and-metadata"
	docARRSession      = "https://learn.microsoft.com/rest/api/mixedreality/remote-rendering/sessions/create"
	docBlobNames       = "https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#blob-names"
)

// tooLong is the one wording of "over a limit": field, size, limit.
func tooLong(field string, n int, unit string, limit int) error {
	return Errorf(EINVALID, "%s is %d %s, the limit is %d", field, n, unit, limit)
}

// ValidateTags checks a start command's tags against the count, key, value
// and total limits. The reason names the tag (clipped) and the limit.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return tooLong("tags", len(tags), "tags", MaxTags)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first offender is the same on every delivery
	for _, k := range keys {
		if k == "" {
			return Errorf(EINVALID, "tags has an empty key")
		}
		if n := utf8.RuneCountInString(k); n > MaxTagKeyLength {
			return tooLong(fmt.Sprintf("tag key %s", Clip(k, 40)), n, "characters", MaxTagKeyLength)
		}
		if n := utf8.RuneCountInString(tags[k]); n > MaxTagValueLength {
			return tooLong(fmt.Sprintf("value of tag %s", Clip(k, 40)), n, "characters", MaxTagValueLength)
		}
	}
	if n := TagsBytes(tags); n > MaxTagsBytes {
		return tooLong("tags (JSON-encoded)", n, "bytes", MaxTagsBytes)
	}
	return nil
}

// TagsBytes is the size of tags as stored and published: their JSON.
func TagsBytes(tags map[string]string) int {
	if len(tags) == 0 {
		return 0
	}
	b, _ := json.Marshal(tags) // a map of strings always encodes
	return len(b)
}

// ValidateRequestedBy checks the requester name.
func ValidateRequestedBy(s string) error {
	if n := utf8.RuneCountInString(s); n > MaxRequestedByChars {
		return tooLong("requestedBy", n, "characters", MaxRequestedByChars)
	}
	return nil
}

// ValidateReplyTo checks a command's ReplyTo: a Service Bus queue or topic
// name (empty: no reply wanted).
func ValidateReplyTo(s string) error {
	if s == "" {
		return nil
	}
	if n := utf8.RuneCountInString(s); n > BusMaxEntityLength {
		return tooLong("ReplyTo", n, "characters", BusMaxEntityLength)
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '-' && c != '_' && c != '/' {
			return Errorf(EINVALID, "ReplyTo %s has character %q at %d; a queue name has letters, digits, '.', '-', '_' and '/'", Clip(s, 80), c, i)
		}
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return Errorf(EINVALID, "ReplyTo %s must start and end with a letter or digit", Clip(s, 80))
	}
	return nil
}

// ValidateTableKey checks a PartitionKey or RowKey value.
func ValidateTableKey(field, s string) error {
	if n := UTF16Bytes(s); n > TableMaxKeyBytes {
		return tooLong(field, n, "bytes (UTF-16)", TableMaxKeyBytes)
	}
	for _, r := range s {
		if strings.ContainsRune(TableForbiddenKeyChars, r) || r < 0x20 || r >= 0x7f && r <= 0x9f {
			return Errorf(EINVALID, "%s %s has %q, which Table keys forbid", field, Clip(s, 80), r)
		}
	}
	return nil
}

// UTF16Bytes is the size of s as Table Storage counts it.
func UTF16Bytes(s string) int {
	n := 0
	for _, r := range s {
		n += 2 * utf16.RuneLen(r)
	}
	return n
}

// Clip returns s cut so that its JSON encoding (as in records, replies and
// events) has at most max bytes, ending in "…" when cut. Text from outside
// (ARR's error messages, storage errors, a requester's input echoed in a
// reason) goes through Clip before it is written anywhere.
func Clip(s string, max int) string {
	if jsonLen(s) <= max {
		return s
	}
	const ell = "…" // 3 bytes in JSON
	n := 0
	for i := 0; i < len(s); {
		w, size := runeJSONLen(s[i:])
		if n+w+len(ell) > max {
			return strings.ToValidUTF8(s[:i], "\ufffd") + ell
		}
		n += w
		i += size
	}
	return s
}

func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		w, size := runeJSONLen(s[i:])
		n += w
		i += size
	}
	return n
}

// runeJSONLen is the length of the first rune of s inside a JSON string as
// encoding/json writes it (HTML-safe escaping, an invalid byte as \ufffd),
// and its size in s.
func runeJSONLen(s string) (n, size int) {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return 6, 1
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2, size
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6, size
	}
	return size, size
}

// CheckMessage checks an encoded event or reply body before it is published.
func CheckMessage(what string, body []byte) error {
	if len(body) > MaxEventBytes {
		return tooLong(what, len(body), "bytes", MaxEventBytes)
	}
	return nil
}

// LimitsTable renders Limits as the README's Markdown table.
func LimitsTable() string {
	var b strings.Builder
	b.WriteString("| System | What | Limit | Source |\n|---|---|---|---|\n")
	for _, l := range Limits {
		src := l.Source
		if strings.HasPrefix(src, "https://") {
			src = "[docs](" + src + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", l.System, l.What, l.Value, src)
	}
	return b.String()
}
