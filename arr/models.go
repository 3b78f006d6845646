package arr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/arrops/arrops"
)

// The status and size types are the root domain types, so that results flow into
// arrops records without conversion.
type (
	SessionSize      = arrops.SessionSize
	SessionStatus    = arrops.SessionStatus
	ConversionStatus = arrops.ConversionStatus
)

// Session sizes.
const (
	SessionSizeStandard = arrops.SizeStandard
	SessionSizePremium  = arrops.SizePremium
)

// ParseSessionSize accepts a size in any letter case (as the service did) and returns
// its canonical spelling.
func ParseSessionSize(s string) (SessionSize, error) {
	switch {
	case strings.EqualFold(s, string(SessionSizeStandard)):
		return SessionSizeStandard, nil
	case strings.EqualFold(s, string(SessionSizePremium)):
		return SessionSizePremium, nil
	}
	return "", &ValidationError{Field: "size", Reason: fmt.Sprintf("must be Standard or Premium, got %q", truncate(s, 32))}
}

// Session statuses: Starting, then Ready, then one of the terminal ones.
const (
	SessionStatusStarting = arrops.SessionStarting
	SessionStatusReady    = arrops.SessionReady
	SessionStatusStopped  = arrops.SessionStopped
	SessionStatusExpired  = arrops.SessionExpired
	SessionStatusError    = arrops.SessionError
)

// Conversion statuses as the service reports them.
const (
	ConversionStatusNotStarted = arrops.ConversionNotStarted
	ConversionStatusRunning    = arrops.ConversionRunning
	ConversionStatusSucceeded  = arrops.ConversionSucceeded
	ConversionStatusFailed     = arrops.ConversionFailed
	ConversionStatusCancelled  = arrops.ConversionCancelled
)

// ErrorDetails is the error object ARR puts in response bodies and in failed
// sessions and conversions. Only Code and Message are always present.
type ErrorDetails struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	Target     *string         `json:"target,omitempty"`
	Details    []ErrorDetails  `json:"details,omitempty"`
	InnerError json.RawMessage `json:"innerError,omitempty"`
}

// Session is a rendering session as the service reports it. Properties the service
// may omit are pointers; see Host and Ports for the "not yet known" rules.
type Session struct {
	ID                  string
	Size                SessionSize
	Status              SessionStatus
	CreationTime        *time.Time
	ElapsedTimeMinutes  *int32
	MaxLeaseTimeMinutes *int32
	Hostname            *string
	HandshakePort       *int32
	ArrInspectorPort    *int32
	Teraflops           *float32
	Error               *ErrorDetails
}

// Host returns the VM hostname once the service has assigned one. The Jan 2021
// service sent null while Starting and after Stop; later versions omit it.
func (s *Session) Host() (string, bool) {
	if s == nil || s.Hostname == nil || *s.Hostname == "" {
		return "", false
	}
	return *s.Hostname, true
}

// Ports returns the handshake and ArrInspector ports once both are known. The Jan
// 2021 service sent 0 placeholders while Starting and after Stop.
func (s *Session) Ports() (handshake, inspector int, ok bool) {
	if s == nil || s.HandshakePort == nil || s.ArrInspectorPort == nil ||
		*s.HandshakePort <= 0 || *s.ArrInspectorPort <= 0 {
		return 0, 0, false
	}
	return int(*s.HandshakePort), int(*s.ArrInspectorPort), true
}

// TeraflopsKnown returns the session's compute capacity if reported (0 was the
// 2021 placeholder while Starting).
func (s *Session) TeraflopsKnown() (float32, bool) {
	if s == nil || s.Teraflops == nil || *s.Teraflops <= 0 {
		return 0, false
	}
	return *s.Teraflops, true
}

type sessionWire struct {
	ID                  string        `json:"id"`
	Size                SessionSize   `json:"size"`
	Status              SessionStatus `json:"status"`
	CreationTime        *jsonTime     `json:"creationTime"`
	ElapsedTimeMinutes  *int32        `json:"elapsedTimeMinutes"`
	MaxLeaseTimeMinutes *int32        `json:"maxLeaseTimeMinutes"`
	Hostname            *string       `json:"hostname"`
	HandshakePort       *int32        `json:"handshakePort"`
	ArrInspectorPort    *int32        `json:"arrInspectorPort"`
	Teraflops           *float32      `json:"teraflops"`
	Error               *ErrorDetails `json:"error"`
}

func (w *sessionWire) session() Session {
	return Session{
		ID: w.ID, Size: w.Size, Status: w.Status, CreationTime: w.CreationTime.ptr(),
		ElapsedTimeMinutes: w.ElapsedTimeMinutes, MaxLeaseTimeMinutes: w.MaxLeaseTimeMinutes,
		Hostname: w.Hostname, HandshakePort: w.HandshakePort, ArrInspectorPort: w.ArrInspectorPort,
		Teraflops: w.Teraflops, Error: w.Error,
	}
}

// UnmarshalJSON decodes the service's session JSON.
func (s *Session) UnmarshalJSON(b []byte) error {
	var w sessionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("arr: decode session: %w", err)
	}
	*s = w.session()
	return nil
}

// MarshalJSON encodes the session in the service's JSON shape.
func (s Session) MarshalJSON() ([]byte, error) {
	type out struct {
		ID                  string        `json:"id"`
		Size                SessionSize   `json:"size,omitempty"`
		Status              SessionStatus `json:"status,omitempty"`
		CreationTime        *time.Time    `json:"creationTime,omitempty"`
		ElapsedTimeMinutes  *int32        `json:"elapsedTimeMinutes,omitempty"`
		MaxLeaseTimeMinutes *int32        `json:"maxLeaseTimeMinutes,omitempty"`
		Hostname            *string       `json:"hostname,omitempty"`
		HandshakePort       *int32        `json:"handshakePort,omitempty"`
		ArrInspectorPort    *int32        `json:"arrInspectorPort,omitempty"`
		Teraflops           *float32      `json:"teraflops,omitempty"`
		Error               *ErrorDetails `json:"error,omitempty"`
	}
	return json.Marshal(out(s))
}

// SAS is a shared access signature query string. It prints and marshals as
// "REDACTED" so that settings can be logged and stored without leaking it; the
// client puts the real value on the wire.
type SAS string

const redacted = "REDACTED"

// String never reveals the signature.
func (s SAS) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString never reveals the signature.
func (s SAS) GoString() string { return `arr.SAS("` + s.String() + `")` }

// Format makes every fmt verb (%s, %v, %q, %x, %#v) go through String.
func (s SAS) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = fmt.Fprintf(f, "%"+string(verb), s.String())
}

// MarshalJSON writes "REDACTED" for a non-empty SAS; see the type comment.
func (s SAS) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// InputLocation says where a conversion reads its source asset.
type InputLocation struct {
	StorageContainerURI    string  `json:"storageContainerUri"`
	RelativeInputAssetPath string  `json:"relativeInputAssetPath"`
	BlobPrefix             *string `json:"blobPrefix,omitempty"`
	// StorageContainerReadListSAS may start with '?' or not; without it the storage
	// account must be linked to the ARR account.
	StorageContainerReadListSAS SAS `json:"storageContainerReadListSas,omitempty"`
}

// OutputLocation says where a conversion writes the .arrAsset.
type OutputLocation struct {
	StorageContainerURI string  `json:"storageContainerUri"`
	BlobPrefix          *string `json:"blobPrefix,omitempty"`
	// OutputAssetFilename defaults to the input's base name with .arrAsset.
	OutputAssetFilename      *string `json:"outputAssetFilename,omitempty"`
	StorageContainerWriteSAS SAS     `json:"storageContainerWriteSas,omitempty"`
}

// ConversionSettings are the input and output locations of a conversion.
type ConversionSettings struct {
	InputLocation  InputLocation  `json:"inputLocation"`
	OutputLocation OutputLocation `json:"outputLocation"`
}

// ConversionOutput is present once a conversion has succeeded.
type ConversionOutput struct {
	OutputAssetURI *string `json:"outputAssetUri,omitempty"`
}

// Conversion is an asset conversion as the service reports it. The service echoes
// Settings normalised (blob prefixes end in '/', the output file name is filled in)
// and never echoes a SAS.
type Conversion struct {
	ID           string
	Settings     ConversionSettings
	Status       ConversionStatus
	CreationTime *time.Time
	Error        *ErrorDetails
	Output       *ConversionOutput
}

// OutputAssetURI returns the converted asset's URI once the conversion succeeded.
func (c *Conversion) OutputAssetURI() (string, bool) {
	if c == nil || c.Output == nil || c.Output.OutputAssetURI == nil || *c.Output.OutputAssetURI == "" {
		return "", false
	}
	return *c.Output.OutputAssetURI, true
}

type conversionWire struct {
	ID       string `json:"id"`
	Settings struct {
		InputLocation struct {
			StorageContainerURI    string  `json:"storageContainerUri"`
			RelativeInputAssetPath string  `json:"relativeInputAssetPath"`
			BlobPrefix             *string `json:"blobPrefix"`
			SAS                    *string `json:"storageContainerReadListSas"`
		} `json:"inputLocation"`
		OutputLocation struct {
			StorageContainerURI string  `json:"storageContainerUri"`
			BlobPrefix          *string `json:"blobPrefix"`
			OutputAssetFilename *string `json:"outputAssetFilename"`
			SAS                 *string `json:"storageContainerWriteSas"`
		} `json:"outputLocation"`
	} `json:"settings"`
	Status       ConversionStatus  `json:"status"`
	CreationTime *jsonTime         `json:"creationTime"`
	Error        *ErrorDetails     `json:"error"`
	Output       *ConversionOutput `json:"output"`
}

func (w *conversionWire) conversion() Conversion {
	in, out := &w.Settings.InputLocation, &w.Settings.OutputLocation
	c := Conversion{
		ID: w.ID, Status: w.Status, CreationTime: w.CreationTime.ptr(), Error: w.Error, Output: w.Output,
		Settings: ConversionSettings{
			InputLocation: InputLocation{
				StorageContainerURI: in.StorageContainerURI, RelativeInputAssetPath: in.RelativeInputAssetPath,
				BlobPrefix: in.BlobPrefix,
			},
			OutputLocation: OutputLocation{
				StorageContainerURI: out.StorageContainerURI, BlobPrefix: out.BlobPrefix,
				OutputAssetFilename: out.OutputAssetFilename,
			},
		},
	}
	if in.SAS != nil {
		c.Settings.InputLocation.StorageContainerReadListSAS = SAS(*in.SAS)
	}
	if out.SAS != nil {
		c.Settings.OutputLocation.StorageContainerWriteSAS = SAS(*out.SAS)
	}
	return c
}

// UnmarshalJSON decodes the service's conversion JSON.
func (c *Conversion) UnmarshalJSON(b []byte) error {
	var w conversionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("arr: decode conversion: %w", err)
	}
	*c = w.conversion()
	return nil
}

// MarshalJSON encodes the conversion in the service's JSON shape (SAS redacted).
func (c Conversion) MarshalJSON() ([]byte, error) {
	type out struct {
		ID           string             `json:"id"`
		Settings     ConversionSettings `json:"settings"`
		Status       ConversionStatus   `json:"status,omitempty"`
		CreationTime *time.Time         `json:"creationTime,omitempty"`
		Error        *ErrorDetails      `json:"error,omitempty"`
		Output       *ConversionOutput  `json:"output,omitempty"`
	}
	return json.Marshal(out(c))
}

// wire forms of request bodies: plain strings, so the real SAS reaches the service.
type createSessionBody struct {
	MaxLeaseTimeMinutes int32       `json:"maxLeaseTimeMinutes"`
	Size                SessionSize `json:"size"`
}

type updateSessionBody struct {
	MaxLeaseTimeMinutes int32 `json:"maxLeaseTimeMinutes"`
}

type createConversionBody struct {
	Settings struct {
		InputLocation struct {
			StorageContainerURI    string  `json:"storageContainerUri"`
			SAS                    string  `json:"storageContainerReadListSas,omitempty"`
			BlobPrefix             *string `json:"blobPrefix,omitempty"`
			RelativeInputAssetPath string  `json:"relativeInputAssetPath"`
		} `json:"inputLocation"`
		OutputLocation struct {
			StorageContainerURI string  `json:"storageContainerUri"`
			SAS                 string  `json:"storageContainerWriteSas,omitempty"`
			BlobPrefix          *string `json:"blobPrefix,omitempty"`
			OutputAssetFilename *string `json:"outputAssetFilename,omitempty"`
		} `json:"outputLocation"`
	} `json:"settings"`
}

func newCreateConversionBody(s ConversionSettings) createConversionBody {
	var b createConversionBody
	in, out := &b.Settings.InputLocation, &b.Settings.OutputLocation
	in.StorageContainerURI = s.InputLocation.StorageContainerURI
	in.SAS = string(s.InputLocation.StorageContainerReadListSAS)
	in.BlobPrefix = s.InputLocation.BlobPrefix
	in.RelativeInputAssetPath = s.InputLocation.RelativeInputAssetPath
	out.StorageContainerURI = s.OutputLocation.StorageContainerURI
	out.SAS = string(s.OutputLocation.StorageContainerWriteSAS)
	out.BlobPrefix = s.OutputLocation.BlobPrefix
	out.OutputAssetFilename = s.OutputLocation.OutputAssetFilename
	return b
}

type sessionList struct {
	Sessions []Session `json:"sessions"`
	NextLink *string   `json:"@nextLink"`
}

type conversionList struct {
	Conversions []Conversion `json:"conversions"`
	NextLink    *string      `json:"@nextLink"`
}

// decodeSession and decodeConversion decode a response body straight into the
// wire struct: going through (*Session).UnmarshalJSON would scan the body twice.
func decodeSession(resp *http.Response, s *Session) error {
	var w sessionWire
	if err := runtime.UnmarshalAsJSON(resp, &w); err != nil {
		return fmt.Errorf("arr: decode session: %w", err)
	}
	*s = w.session()
	return nil
}

func decodeConversion(resp *http.Response, c *Conversion) error {
	var w conversionWire
	if err := runtime.UnmarshalAsJSON(resp, &w); err != nil {
		return fmt.Errorf("arr: decode conversion: %w", err)
	}
	*c = w.conversion()
	return nil
}
