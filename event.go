package arrops

import "time"

// EventType names a transition published on the arr-events topic (and to a
// requester's reply queue). It is the Service Bus Subject of the message.
type EventType string

// Event types.
const (
	EventSessionStarting     EventType = "SessionStarting"
	EventSessionReady        EventType = "SessionReady"
	EventSessionStopped      EventType = "SessionStopped"
	EventSessionExpired      EventType = "SessionExpired"
	EventSessionError        EventType = "SessionError"
	EventSessionStopWarning  EventType = "SessionStopWarning"
	EventSessionWouldStop    EventType = "SessionWouldStop" // dry run
	EventConversionSucceeded EventType = "ConversionSucceeded"
	EventConversionFailed    EventType = "ConversionFailed"
)

// SessionEventType maps a session status to its event.
func SessionEventType(s SessionStatus) EventType {
	switch s {
	case SessionStarting:
		return EventSessionStarting
	case SessionReady:
		return EventSessionReady
	case SessionStopped:
		return EventSessionStopped
	case SessionExpired:
		return EventSessionExpired
	}
	return EventSessionError
}

// Event is the JSON body of a published transition.
type Event struct {
	Type      EventType `json:"type"`
	Time      time.Time `json:"time"`
	SessionID string    `json:"sessionId,omitempty"`
	// ArrSessionID is ARR's id of the session when SessionID is the
	// caller's own name for it (a pool session claimed by a start that named
	// its sessionId).
	ArrSessionID    string             `json:"arrSessionId,omitempty"`
	ConversionID    string             `json:"conversionId,omitempty"`
	Status          string             `json:"status,omitempty"`
	Size            SessionSize        `json:"size,omitempty"`
	RequestedBy     string             `json:"requestedBy,omitempty"`
	Tags            map[string]string  `json:"tags,omitempty"`
	Hostname        string             `json:"hostname,omitempty"`
	HandshakePort   int                `json:"handshakePort,omitempty"`
	InspectorPort   int                `json:"arrInspectorPort,omitempty"`
	MaxLeaseMinutes int                `json:"maxLeaseTimeMinutes,omitempty"`
	ElapsedMinutes  int                `json:"elapsedTimeMinutes,omitempty"`
	Reason          string             `json:"reason,omitempty"`
	StopAt          *time.Time         `json:"stopAt,omitempty"`
	ErrorCode       string             `json:"errorCode,omitempty"`
	ErrorMessage    string             `json:"errorMessage,omitempty"`
	InputBlob       string             `json:"inputBlob,omitempty"`
	OutputURI       string             `json:"outputUri,omitempty"`
	DurationSeconds float64            `json:"durationSeconds,omitempty"`
	SettingsFile    string             `json:"settingsFile,omitempty"`
	Details         *ConversionDetails `json:"details,omitempty"`
}

// SessionEvent builds the event announcing s's current status.
func SessionEvent(s *Session, at time.Time) Event {
	id, arrID := s.ID, ""
	if s.CallerID != "" {
		id, arrID = s.CallerID, s.ID
	}
	return Event{
		Type: SessionEventType(s.Status), Time: at.UTC(), SessionID: id, ArrSessionID: arrID, Status: string(s.Status),
		Size: s.Size, RequestedBy: s.RequestedBy, Tags: s.Tags, Hostname: s.Hostname,
		HandshakePort: s.HandshakePort, InspectorPort: s.InspectorPort,
		MaxLeaseMinutes: s.MaxLeaseMinutes, ElapsedMinutes: s.ElapsedMinutes,
		Reason: Clip(s.StopReason, MaxTextBytes), ErrorCode: Clip(s.ErrorCode, MaxTextBytes), ErrorMessage: Clip(s.ErrorMessage, MaxTextBytes),
	}
}
