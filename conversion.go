package arrops

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
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

// ConversionID derives the conversion id from container, path and eTag: the
// same upload always maps to the same id (a redelivered event is a no-op) and a
// re-upload (new eTag) to a new one. The readable part is the sanitised path;
// a hash keeps it unique and within ARR's 256 characters.
func ConversionID(container, blobPath, etag string) string {
	sum := sha256.Sum256([]byte(container + "\x00" + blobPath + "\x00" + etag))
	h := hex.EncodeToString(sum[:10])
	var b strings.Builder
	for _, r := range strings.TrimSuffix(blobPath, path.Ext(blobPath)) {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	readable := strings.Trim(b.String(), "_")
	if max := MaxIDLength - len(h) - 1; len(readable) > max {
		readable = readable[len(readable)-max:]
	}
	if readable == "" {
		return h
	}
	return readable + "-" + h
}
