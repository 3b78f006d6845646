package arrops

import (
	"path"
	"slices"
	"strings"
	"time"
)

// ConversionStatus is the lifecycle state of an ARR asset conversion.
type ConversionStatus string

// Conversion statuses; Rejected is arrops' own: the upload failed validation
// and no conversion was started.
const (
	// ConversionRequested: recorded before ARR is asked (see SessionRequested).
	ConversionRequested  ConversionStatus = "Requested"
	ConversionNotStarted ConversionStatus = "NotStarted"
	ConversionRunning    ConversionStatus = "Running"
	ConversionSucceeded  ConversionStatus = "Succeeded"
	ConversionFailed     ConversionStatus = "Failed"
	ConversionCancelled  ConversionStatus = "Cancelled"
	ConversionRejected   ConversionStatus = "Rejected"
)

// Terminal reports whether no further transition can happen.
func (s ConversionStatus) Terminal() bool {
	switch s {
	case ConversionSucceeded, ConversionFailed, ConversionCancelled, ConversionRejected:
		return true
	}
	return false
}

// InputFormats are the file extensions ARR converts (lower case).
var InputFormats = []string{".fbx", ".gltf", ".glb", ".xyz", ".ply", ".e57", ".las", ".laz"}

// IsInputFormat reports whether name has an extension ARR converts, in any case.
func IsInputFormat(name string) bool { return hasExt(name, InputFormats) }

// hasExt reports whether name's extension, in any case, is one of exts (lower case).
func hasExt(name string, exts []string) bool {
	return slices.Contains(exts, strings.ToLower(path.Ext(name)))
}

// Conversion is arrops' record of one conversion (or rejected upload).
type Conversion struct {
	ID                string
	InputContainer    string
	InputPath         string // blob path inside the container
	InputETag         string
	InputSize         int64
	OutputContainer   string
	OutputPath        string // blob prefix + asset file name
	OutputURI         string // as reported by ARR on success (no SAS)
	Status            ConversionStatus
	ErrorCode         string
	ErrorMessage      string
	Note              string             // e.g. ".gltf needs its side files next to it"
	SettingsFile      string             // input blob path of the settings file validated before the start
	RequestedBy       string             // the convert command's requester; empty for uploads
	ReplyTo           string             // the convert command's reply queue (events go there too)
	CorrelationID     string             // the convert command's MessageId
	Details           *ConversionDetails // from ARR's output files; nil until read
	CreatedAt         time.Time
	CompletedAt       time.Time
	Announced         ConversionStatus // as Session.Announced
	AnnounceClaimedAt time.Time
	UpdatedAt         time.Time
	ETag              string
}

// Duration is the conversion's run time (zero while running).
func (c *Conversion) Duration() time.Duration {
	if c.CompletedAt.IsZero() || c.CreatedAt.IsZero() {
		return 0
	}
	return c.CompletedAt.Sub(c.CreatedAt)
}
