package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/arrops/arrops"
)

// Annotation values for properties whose type JSON cannot carry.
const (
	edmDateTime = "Edm.DateTime"
	edmInt64    = "Edm.Int64"
	edmDouble   = "Edm.Double"
)

// storeTime is t as written: UTC at the service's 100 ns precision, zero
// for the zero time (then the property is omitted).
func storeTime(t time.Time) (time.Time, string) {
	if t.IsZero() {
		return time.Time{}, ""
	}
	return t.UTC().Truncate(100 * time.Nanosecond), edmDateTime
}

// readTime converts a read property back; times read are UTC.
func readTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// sessionEntity is the Table entity of a session. ETag is read from the
// odata.etag of listed entities and never written.
type sessionEntity struct {
	PartitionKey          string    `json:"PartitionKey"`
	RowKey                string    `json:"RowKey"`
	ETag                  string    `json:"odata.etag,omitempty"`
	Size                  string    `json:"Size,omitempty"`
	Status                string    `json:"Status,omitempty"`
	Origin                string    `json:"Origin,omitempty"`
	RequestedBy           string    `json:"RequestedBy,omitempty"`
	Tags                  string    `json:"Tags,omitempty"`
	MaxLeaseMinutes       int       `json:"MaxLeaseMinutes,omitempty"`
	CreatedAt             time.Time `json:"CreatedAt,omitzero"`
	CreatedAtType         string    `json:"CreatedAt@odata.type,omitempty"`
	ReadyAt               time.Time `json:"ReadyAt,omitzero"`
	ReadyAtType           string    `json:"ReadyAt@odata.type,omitempty"`
	StoppedAt             time.Time `json:"StoppedAt,omitzero"`
	StoppedAtType         string    `json:"StoppedAt@odata.type,omitempty"`
	ElapsedMinutes        int       `json:"ElapsedMinutes,omitempty"`
	Hostname              string    `json:"Hostname,omitempty"`
	HandshakePort         int       `json:"HandshakePort,omitempty"`
	InspectorPort         int       `json:"InspectorPort,omitempty"`
	Teraflops             float64   `json:"Teraflops,omitempty"`
	TeraflopsType         string    `json:"Teraflops@odata.type,omitempty"`
	StopReason            string    `json:"StopReason,omitempty"`
	ErrorCode             string    `json:"ErrorCode,omitempty"`
	ErrorMessage          string    `json:"ErrorMessage,omitempty"`
	ReplyTo               string    `json:"ReplyTo,omitempty"`
	CorrelationID         string    `json:"CorrelationID,omitempty"`
	Announced             string    `json:"Announced,omitempty"`
	AnnounceClaimedAt     time.Time `json:"AnnounceClaimedAt,omitzero"`
	AnnounceClaimedAtType string    `json:"AnnounceClaimedAt@odata.type,omitempty"`
	ExtendedUntil         time.Time `json:"ExtendedUntil,omitzero"`
	ExtendedUntilType     string    `json:"ExtendedUntil@odata.type,omitempty"`
	WarnedAt              time.Time `json:"WarnedAt,omitzero"`
	WarnedAtType          string    `json:"WarnedAt@odata.type,omitempty"`
	DeadlineAt            time.Time `json:"DeadlineAt,omitzero"`
	DeadlineAtType        string    `json:"DeadlineAt@odata.type,omitempty"`
	ClaimedBy             string    `json:"ClaimedBy,omitempty"`
	CallerID              string    `json:"CallerID,omitempty"`
	RequestedAt           time.Time `json:"RequestedAt,omitzero"`
	RequestedAtType       string    `json:"RequestedAt@odata.type,omitempty"`
	ClaimedAt             time.Time `json:"ClaimedAt,omitzero"`
	ClaimedAtType         string    `json:"ClaimedAt@odata.type,omitempty"`
	FallbackOf            string    `json:"FallbackOf,omitempty"`
	FallbackID            string    `json:"FallbackID,omitempty"`
	StartAt               time.Time `json:"StartAt,omitzero"`
	StartAtType           string    `json:"StartAt@odata.type,omitempty"`
	UpdatedAt             time.Time `json:"UpdatedAt,omitzero"`
	UpdatedAtType         string    `json:"UpdatedAt@odata.type,omitempty"`
}

func encodeSession(pk string, s *arrops.Session) ([]byte, error) {
	e := sessionEntity{
		PartitionKey: pk, RowKey: s.ID, Size: string(s.Size), Status: string(s.Status),
		Origin: string(s.Origin), RequestedBy: s.RequestedBy, MaxLeaseMinutes: s.MaxLeaseMinutes,
		ElapsedMinutes: s.ElapsedMinutes, Hostname: s.Hostname, HandshakePort: s.HandshakePort,
		InspectorPort: s.InspectorPort, Teraflops: s.Teraflops, StopReason: s.StopReason,
		ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage, ReplyTo: s.ReplyTo,
		CorrelationID: s.CorrelationID, Announced: string(s.Announced), ClaimedBy: s.ClaimedBy, CallerID: s.CallerID,
		FallbackOf: s.FallbackOf, FallbackID: s.FallbackID,
	}
	if len(s.Tags) > 0 {
		b, err := json.Marshal(s.Tags)
		if err != nil {
			return nil, fmt.Errorf("encode tags of session %s: %w", s.ID, err)
		}
		e.Tags = string(b)
	}
	if e.Teraflops != 0 {
		e.TeraflopsType = edmDouble
	}
	e.CreatedAt, e.CreatedAtType = storeTime(s.CreatedAt)
	e.ReadyAt, e.ReadyAtType = storeTime(s.ReadyAt)
	e.StoppedAt, e.StoppedAtType = storeTime(s.StoppedAt)
	e.AnnounceClaimedAt, e.AnnounceClaimedAtType = storeTime(s.AnnounceClaimedAt)
	e.ExtendedUntil, e.ExtendedUntilType = storeTime(s.ExtendedUntil)
	e.WarnedAt, e.WarnedAtType = storeTime(s.WarnedAt)
	e.DeadlineAt, e.DeadlineAtType = storeTime(s.DeadlineAt)
	e.ClaimedAt, e.ClaimedAtType = storeTime(s.ClaimedAt)
	e.RequestedAt, e.RequestedAtType = storeTime(s.RequestedAt)
	e.StartAt, e.StartAtType = storeTime(s.StartAt)
	e.UpdatedAt, e.UpdatedAtType = storeTime(s.UpdatedAt)
	return json.Marshal(e)
}

// decodeSession reads a session entity (service JSON, minimal metadata).
// etag, when not empty, overrides the entity's odata.etag (point reads
// return it as a header).
func decodeSession(b []byte, etag string) (*arrops.Session, error) {
	var e sessionEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode session entity: %w", err)
	}
	s := &arrops.Session{
		ID: e.RowKey, Size: arrops.SessionSize(e.Size), Status: arrops.SessionStatus(e.Status),
		Origin: arrops.Origin(e.Origin), RequestedBy: e.RequestedBy, MaxLeaseMinutes: e.MaxLeaseMinutes,
		CreatedAt: readTime(e.CreatedAt), ReadyAt: readTime(e.ReadyAt), StoppedAt: readTime(e.StoppedAt),
		ElapsedMinutes: e.ElapsedMinutes, Hostname: e.Hostname, HandshakePort: e.HandshakePort,
		InspectorPort: e.InspectorPort, Teraflops: e.Teraflops, StopReason: e.StopReason,
		ErrorCode: e.ErrorCode, ErrorMessage: e.ErrorMessage, ReplyTo: e.ReplyTo,
		CorrelationID: e.CorrelationID, Announced: arrops.SessionStatus(e.Announced),
		AnnounceClaimedAt: readTime(e.AnnounceClaimedAt), ExtendedUntil: readTime(e.ExtendedUntil),
		WarnedAt: readTime(e.WarnedAt), DeadlineAt: readTime(e.DeadlineAt), ClaimedBy: e.ClaimedBy, CallerID: e.CallerID, RequestedAt: readTime(e.RequestedAt), ClaimedAt: readTime(e.ClaimedAt), StartAt: readTime(e.StartAt), FallbackOf: e.FallbackOf, FallbackID: e.FallbackID, UpdatedAt: readTime(e.UpdatedAt), ETag: e.ETag,
	}
	if e.Tags != "" {
		if err := json.Unmarshal([]byte(e.Tags), &s.Tags); err != nil {
			return nil, fmt.Errorf("decode tags of session %s: %w", e.RowKey, err)
		}
	}
	if etag != "" {
		s.ETag = etag
	}
	return s, nil
}

// conversionEntity is the Table entity of a conversion.
type conversionEntity struct {
	PartitionKey          string    `json:"PartitionKey"`
	RowKey                string    `json:"RowKey"`
	ETag                  string    `json:"odata.etag,omitempty"`
	InputContainer        string    `json:"InputContainer,omitempty"`
	InputPath             string    `json:"InputPath,omitempty"`
	InputETag             string    `json:"InputETag,omitempty"`
	InputSize             int64     `json:"InputSize,omitempty,string"`
	InputSizeType         string    `json:"InputSize@odata.type,omitempty"`
	OutputContainer       string    `json:"OutputContainer,omitempty"`
	OutputPath            string    `json:"OutputPath,omitempty"`
	OutputURI             string    `json:"OutputURI,omitempty"`
	Status                string    `json:"Status,omitempty"`
	ErrorCode             string    `json:"ErrorCode,omitempty"`
	ErrorMessage          string    `json:"ErrorMessage,omitempty"`
	Note                  string    `json:"Note,omitempty"`
	SettingsFile          string    `json:"SettingsFile,omitempty"`
	RequestedBy           string    `json:"RequestedBy,omitempty"`
	ReplyTo               string    `json:"ReplyTo,omitempty"`
	CorrelationID         string    `json:"CorrelationID,omitempty"`
	Result                string    `json:"Result,omitempty"`  // Details.Result, for filters
	Details               string    `json:"Details,omitempty"` // arrops.ConversionDetails as JSON (bounded)
	CreatedAt             time.Time `json:"CreatedAt,omitzero"`
	CreatedAtType         string    `json:"CreatedAt@odata.type,omitempty"`
	CompletedAt           time.Time `json:"CompletedAt,omitzero"`
	CompletedAtType       string    `json:"CompletedAt@odata.type,omitempty"`
	Announced             string    `json:"Announced,omitempty"`
	AnnounceClaimedAt     time.Time `json:"AnnounceClaimedAt,omitzero"`
	AnnounceClaimedAtType string    `json:"AnnounceClaimedAt@odata.type,omitempty"`
	UpdatedAt             time.Time `json:"UpdatedAt,omitzero"`
	UpdatedAtType         string    `json:"UpdatedAt@odata.type,omitempty"`
}

func encodeConversion(pk string, c *arrops.Conversion) ([]byte, error) {
	e := conversionEntity{
		PartitionKey: pk, RowKey: c.ID, InputContainer: c.InputContainer, InputPath: c.InputPath,
		InputETag: c.InputETag, InputSize: c.InputSize, OutputContainer: c.OutputContainer,
		OutputPath: c.OutputPath, OutputURI: c.OutputURI, Status: string(c.Status),
		ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage, Note: c.Note, Announced: string(c.Announced),
		SettingsFile: c.SettingsFile, RequestedBy: c.RequestedBy, ReplyTo: c.ReplyTo, CorrelationID: c.CorrelationID,
	}
	if c.Details != nil {
		b, err := json.Marshal(c.Details)
		if err != nil {
			return nil, fmt.Errorf("encode details of conversion %s: %w", c.ID, err)
		}
		e.Details, e.Result = string(b), string(c.Details.Result)
	}
	if e.InputSize != 0 {
		e.InputSizeType = edmInt64
	}
	e.CreatedAt, e.CreatedAtType = storeTime(c.CreatedAt)
	e.CompletedAt, e.CompletedAtType = storeTime(c.CompletedAt)
	e.AnnounceClaimedAt, e.AnnounceClaimedAtType = storeTime(c.AnnounceClaimedAt)
	e.UpdatedAt, e.UpdatedAtType = storeTime(c.UpdatedAt)
	return json.Marshal(e)
}

func decodeConversion(b []byte, etag string) (*arrops.Conversion, error) {
	var e conversionEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode conversion entity: %w", err)
	}
	c := &arrops.Conversion{
		ID: e.RowKey, InputContainer: e.InputContainer, InputPath: e.InputPath, InputETag: e.InputETag,
		InputSize: e.InputSize, OutputContainer: e.OutputContainer, OutputPath: e.OutputPath,
		OutputURI: e.OutputURI, Status: arrops.ConversionStatus(e.Status), ErrorCode: e.ErrorCode,
		ErrorMessage: e.ErrorMessage, Note: e.Note, CreatedAt: readTime(e.CreatedAt),
		CompletedAt: readTime(e.CompletedAt), Announced: arrops.ConversionStatus(e.Announced),
		AnnounceClaimedAt: readTime(e.AnnounceClaimedAt), UpdatedAt: readTime(e.UpdatedAt), ETag: e.ETag,
		SettingsFile: e.SettingsFile, RequestedBy: e.RequestedBy, ReplyTo: e.ReplyTo, CorrelationID: e.CorrelationID,
	}
	if e.Details != "" {
		c.Details = &arrops.ConversionDetails{}
		if err := json.Unmarshal([]byte(e.Details), c.Details); err != nil {
			return nil, fmt.Errorf("decode details of conversion %s: %w", e.RowKey, err)
		}
	}
	if etag != "" {
		c.ETag = etag
	}
	return c, nil
}

// auditEntity is one command audit row.
type auditEntity struct {
	PartitionKey  string    `json:"PartitionKey"`
	RowKey        string    `json:"RowKey"`
	MessageID     string    `json:"MessageID"`
	DeliveryCount int       `json:"DeliveryCount,omitempty"`
	InvocationID  string    `json:"InvocationID,omitempty"`
	Action        string    `json:"Action,omitempty"`
	SessionID     string    `json:"SessionID,omitempty"`
	ConversionID  string    `json:"ConversionID,omitempty"`
	RequestedBy   string    `json:"RequestedBy,omitempty"`
	Outcome       string    `json:"Outcome,omitempty"`
	Reason        string    `json:"Reason,omitempty"`
	At            time.Time `json:"At,omitzero"`
	AtType        string    `json:"At@odata.type,omitempty"`
}

func encodeAudit(pk, rk string, a *arrops.CommandAudit) ([]byte, error) {
	e := auditEntity{PartitionKey: pk, RowKey: rk, MessageID: a.MessageID, DeliveryCount: a.DeliveryCount,
		InvocationID: a.InvocationID, Action: string(a.Action), SessionID: a.SessionID, ConversionID: a.ConversionID, RequestedBy: a.RequestedBy,
		Outcome: string(a.Outcome), Reason: a.Reason}
	e.At, e.AtType = storeTime(a.At)
	return json.Marshal(e)
}

func decodeAudit(b []byte, _ string) (*arrops.CommandAudit, error) {
	var e auditEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode audit entity: %w", err)
	}
	return &arrops.CommandAudit{MessageID: e.MessageID, DeliveryCount: e.DeliveryCount, InvocationID: e.InvocationID,
		Action: arrops.Action(e.Action), SessionID: e.SessionID, ConversionID: e.ConversionID, RequestedBy: e.RequestedBy,
		Outcome: arrops.Outcome(e.Outcome), Reason: e.Reason, At: readTime(e.At)}, nil
}

// indexEntity maps an id to the partition (creation day) of its record.
type indexEntity struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	Day          string `json:"Day"`
}
