package arr

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/arrops/arrops"
)

// ValidationError reports an input rejected before any request was sent.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return "arr: invalid " + e.Field + ": " + e.Reason }

// Unwrap exposes the failure as an arrops.EINVALID error, so that
// arrops.ErrorCode and arrops.Permanent classify it without knowing this package.
func (e *ValidationError) Unwrap() error {
	return &arrops.Error{Code: arrops.EINVALID, Message: e.Field + ": " + e.Reason}
}

// Limits of the 2021-01-01 service.
const (
	MaxIDLength         = arrops.MaxIDLength     // 256
	MaxLeaseTimeMinutes = arrops.MaxLeaseMinutes // 1440
)

// ValidateID checks a session or conversion id: 1..256 letters, digits, '-' or '_'.
func ValidateID(field, id string) error {
	if id == "" {
		return &ValidationError{Field: field, Reason: "must not be empty"}
	}
	if len(id) > MaxIDLength {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", MaxIDLength)}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("character %q at %d is not a letter, digit, '-' or '_'", rune(c), i)}
		}
	}
	return nil
}

func validateLease(field string, minutes, lo int32) error {
	if minutes < lo || minutes > MaxLeaseTimeMinutes {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("%d is outside %d..%d", minutes, lo, MaxLeaseTimeMinutes)}
	}
	return nil
}

// InputFormats are the source file extensions ARR converts (lower case).
var inputFormats = map[string]bool{
	".fbx": true, ".gltf": true, ".glb": true, ".xyz": true, ".ply": true,
	".e57": true, ".las": true, ".laz": true,
}

// ValidateConversionSettings checks what the service accepted but then failed on
// (malformed container URIs were echoed back and failed later; names with '&' failed
// in practice), so that a bad conversion is rejected before it is started.
func ValidateConversionSettings(s ConversionSettings) error {
	if err := validateContainerURI("inputLocation.storageContainerUri", s.InputLocation.StorageContainerURI); err != nil {
		return err
	}
	if err := validateContainerURI("outputLocation.storageContainerUri", s.OutputLocation.StorageContainerURI); err != nil {
		return err
	}
	// SAS marshals as "REDACTED": settings that went through JSON lost their SAS.
	if s.InputLocation.StorageContainerReadListSAS == redacted {
		return &ValidationError{Field: "inputLocation.storageContainerReadListSas", Reason: "is the redacted placeholder, not a SAS"}
	}
	if s.OutputLocation.StorageContainerWriteSAS == redacted {
		return &ValidationError{Field: "outputLocation.storageContainerWriteSas", Reason: "is the redacted placeholder, not a SAS"}
	}
	p := s.InputLocation.RelativeInputAssetPath
	if p == "" {
		return &ValidationError{Field: "inputLocation.relativeInputAssetPath", Reason: "must not be empty"}
	}
	if err := validateBlobName("inputLocation.relativeInputAssetPath", p); err != nil {
		return err
	}
	if ext := strings.ToLower(path.Ext(p)); !inputFormats[ext] {
		return &ValidationError{Field: "inputLocation.relativeInputAssetPath", Reason: fmt.Sprintf("extension %q is not one of .fbx .gltf .glb .xyz .ply .e57 .las .laz", truncate(ext, 16))}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"inputLocation.blobPrefix", s.InputLocation.BlobPrefix},
		{"outputLocation.blobPrefix", s.OutputLocation.BlobPrefix},
		{"outputLocation.outputAssetFilename", s.OutputLocation.OutputAssetFilename},
	} {
		if f.v != nil && *f.v != "" {
			if err := validateBlobName(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	if n := s.OutputLocation.OutputAssetFilename; n != nil && *n != "" && strings.Contains(*n, "/") {
		return &ValidationError{Field: "outputLocation.outputAssetFilename", Reason: "must be a file name without '/'"}
	}
	return nil
}

func validateContainerURI(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Do not echo the value: a caller may have pasted a SAS URL here.
		return &ValidationError{Field: field, Reason: "must be an absolute http(s) container URI"}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return &ValidationError{Field: field, Reason: "must not carry a query (pass the SAS separately)"}
	}
	return nil
}

func validateBlobName(field, s string) error {
	if len(s) > 1024 {
		return &ValidationError{Field: field, Reason: "longer than 1024 characters"}
	}
	if strings.HasPrefix(s, "/") {
		return &ValidationError{Field: field, Reason: "must be relative (no leading '/')"}
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`&?#\%"<>|*`, r) {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("character %q is not allowed", r)}
		}
	}
	return nil
}
