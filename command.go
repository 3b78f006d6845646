package arrops

import (
	"encoding/json"
	"strings"
	"time"
)

// Action is what a command message asks for.
type Action string

// Command actions.
const (
	ActionStart  Action = "start"
	ActionStop   Action = "stop"
	ActionExtend Action = "extend"
	// ActionConvert converts a blob already in the input container again
	// (e.g. after its settings file changed).
	ActionConvert Action = "convert"
	// ActionReserve: a start at a later instant (StartAt).
	ActionReserve Action = "reserve"
)

// MaxReserveAhead bounds how far ahead a reservation may lie.
const MaxReserveAhead = 366 * 24 * time.Hour

// Command is the JSON body of a message on the arr-commands queue:
//
//	{"action":"start","sessionId":"optional","size":"Standard","maxLeaseTimeMinutes":60,"requestedBy":"viewer-app","tags":{"project":"plant-7"},"pool":true}
//	{"action":"stop","sessionId":"..."}
//	{"action":"extend","sessionId":"...","maxLeaseTimeMinutes":120}
//	{"action":"convert","input":"models/plant.fbx","output":"assets/plant-v2.arrAsset","requestedBy":"pipeline"}
//	{"action":"reserve","startAt":"2026-12-07T09:00:00+01:00","size":"Premium","maxLeaseTimeMinutes":120,"requestedBy":"...","tags":{...}}
type Command struct {
	Action              Action            `json:"action"`
	SessionID           string            `json:"sessionId,omitempty"`
	Size                string            `json:"size,omitempty"`
	MaxLeaseTimeMinutes *int              `json:"maxLeaseTimeMinutes,omitempty"`
	RequestedBy         string            `json:"requestedBy,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
	// Input and Output are the convert action's blob paths: Input inside
	// the input container, Output (optional, ".arrAsset") inside the output
	// container; without Output the output mirrors the input as for uploads.
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	// Pool false makes a start cold even when a warm pool session is free.
	Pool *bool `json:"pool,omitempty"`
	// StartAt is when a reserved session must be Ready (reserve only).
	StartAt *time.Time `json:"startAt,omitempty"`
}

// ParseCommand decodes and validates a command message body against the
// limits (see Limits). Errors are permanent (EINVALID): the message can never
// succeed. Tags are only read by start; other actions ignore them.
func ParseCommand(body []byte) (Command, error) {
	var c Command
	if len(body) > MaxCommandBytes {
		return c, tooLong("message body", len(body), "bytes", MaxCommandBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, Errorf(EINVALID, "message is not a valid command: %s", Clip(err.Error(), MaxTextBytes/2))
	}
	if dec.More() {
		return c, Errorf(EINVALID, "message has data after the command object")
	}
	c.Action = Action(strings.ToLower(strings.TrimSpace(string(c.Action))))
	if c.StartAt != nil && c.Action != ActionReserve {
		return c, Errorf(EINVALID, "startAt is only for reserve")
	}
	switch c.Action {
	case ActionReserve:
		if c.StartAt == nil {
			return c, Errorf(EINVALID, "reserve needs startAt (RFC 3339, e.g. 2026-12-07T09:00:00+01:00)")
		}
		if c.Pool != nil {
			return c, Errorf(EINVALID, "pool is only for start")
		}
		t := c.StartAt.UTC()
		c.StartAt = &t
		fallthrough
	case ActionStart:
		if c.Size != "" {
			sz, err := ParseSessionSize(c.Size)
			if err != nil {
				return c, err
			}
			c.Size = string(sz)
		}
		if err := ValidateTags(c.Tags); err != nil {
			return c, err
		}
		if c.MaxLeaseTimeMinutes != nil {
			if err := ValidateLease(*c.MaxLeaseTimeMinutes); err != nil {
				return c, err
			}
		}
	case ActionStop, ActionExtend:
		if c.SessionID == "" {
			return c, Errorf(EINVALID, "%s needs a sessionId", c.Action)
		}
		if c.Action == ActionExtend {
			if c.MaxLeaseTimeMinutes == nil {
				return c, Errorf(EINVALID, "extend needs maxLeaseTimeMinutes")
			}
			if err := ValidateLease(*c.MaxLeaseTimeMinutes); err != nil {
				return c, err
			}
		}
	case ActionConvert:
		if err := validateConvert(&c); err != nil {
			return c, err
		}
	case "":
		return c, Errorf(EINVALID, "message has no action")
	default:
		return c, Errorf(EINVALID, "unknown action %q (want start, stop, extend, convert or reserve)", Clip(string(c.Action), 40))
	}
	if c.SessionID != "" {
		if err := ValidateID(c.SessionID); err != nil {
			return c, Errorf(EINVALID, "sessionId: %v", ErrorMessage(err))
		}
	}
	if err := ValidateRequestedBy(c.RequestedBy); err != nil {
		return c, err
	}
	return c, nil
}

// validateConvert checks the shape of a convert command; the blob itself is
// checked against the input rules when the command runs.
func validateConvert(c *Command) error {
	c.Input = strings.TrimLeft(strings.TrimSpace(c.Input), "/")
	c.Output = strings.TrimLeft(strings.TrimSpace(c.Output), "/")
	if c.Input == "" {
		return Errorf(EINVALID, "convert needs an input (the blob path inside the input container)")
	}
	if len(c.Input) > BlobMaxNameLength || len(c.Output) > BlobMaxNameLength {
		return tooLong("convert input or output", max(len(c.Input), len(c.Output)), "bytes", BlobMaxNameLength)
	}
	if !IsInputFormat(c.Input) {
		return Errorf(EINVALID, "input %q is not a format ARR converts (%s)", Clip(c.Input, 200), strings.Join(InputFormats, " "))
	}
	if c.Output != "" && (!strings.HasSuffix(c.Output, ".arrAsset") || c.Output == ".arrAsset" || strings.HasSuffix(c.Output, "/.arrAsset")) {
		return Errorf(EINVALID, "output %q must be a blob path ending in <name>.arrAsset", Clip(c.Output, 200))
	}
	if c.SessionID != "" || c.Size != "" || c.MaxLeaseTimeMinutes != nil {
		return Errorf(EINVALID, "convert takes input, output and requestedBy, not session fields")
	}
	return nil
}

// Outcome of a command.
type Outcome string

// Command outcomes recorded in the audit table.
const (
	OutcomeAccepted Outcome = "accepted" // acted on
	OutcomeNoop     Outcome = "noop"     // nothing to do (already stopped, redelivery)
	OutcomeRejected Outcome = "rejected" // invalid; never retried
)

// CommandAudit is one row per command message delivery, accepted or not.
type CommandAudit struct {
	MessageID     string
	DeliveryCount int
	// InvocationID identifies the delivery (the host's invocation id): with
	// MessageID it keys the audit row, so every delivery of a message leaves
	// its own row, including redeliveries whose count the transport did not bump.
	InvocationID string
	Action       Action
	SessionID    string
	ConversionID string // convert commands
	RequestedBy  string
	Outcome      Outcome
	Reason       string
	At           time.Time
}

// CommandReply is the message sent to a command's ReplyTo.
type CommandReply struct {
	Outcome   Outcome `json:"outcome"`
	Reason    string  `json:"reason,omitempty"`
	Action    Action  `json:"action,omitempty"`
	SessionID string  `json:"sessionId,omitempty"`
	// ArrSessionID is ARR's id of the session when SessionID is the
	// caller's own name for a pool session it was handed.
	ArrSessionID string `json:"arrSessionId,omitempty"`
	Session      *Event `json:"session,omitempty"`
	// ConversionID names the conversion a convert command started (or found).
	ConversionID string `json:"conversionId,omitempty"`
	// Pooled tells, on an accepted start while a warm pool is configured,
	// whether a Ready pool session was handed over (true: the hostname is
	// in Session, and SessionReady follows at once) or a cold start began.
	Pooled *bool `json:"pooled,omitempty"`
}
