package convert

import (
	"fmt"
	"path"
	"strings"
	"unicode"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/trigger"
)

// Rejection codes recorded as the conversion's error code when an upload is
// not converted.
const (
	RejectNotBlobCreated   = "NotBlobCreated"
	RejectOutsideInput     = "OutsideInputContainer"
	RejectUnsupported      = "UnsupportedFormat"
	RejectInvalidName      = "InvalidBlobName"
	RejectEmpty            = "EmptyBlob"
	RejectUndecodableEvent = "UndecodableEvent"
)

// Input is a validated upload.
type Input struct {
	Container, Path, ETag string
	Size                  int64
	Note                  string
}

// Skip is returned for events that are a normal part of an upload but must not
// start a conversion (ADLS CreateFile before FlushWithClose).
type Skip struct{ Reason string }

func (s *Skip) Error() string { return s.Reason }

// Rejection is a permanent, recorded refusal.
type Rejection struct{ Code, Reason string }

func (r *Rejection) Error() string { return r.Code + ": " + r.Reason }

// Validate checks one blob event against the ARR input rules and settings.
func Validate(ev *trigger.BlobEvent, inputContainer, inputPrefix string) (Input, error) {
	in := Input{Container: ev.Container, Path: ev.BlobPath, ETag: strings.Trim(ev.Data.ETag, `"`), Size: ev.Data.ContentLength}
	if ev.EventType != trigger.BlobCreatedType {
		return in, &Rejection{RejectNotBlobCreated, fmt.Sprintf("event type %q is not %s", ev.EventType, trigger.BlobCreatedType)}
	}
	switch ev.Data.API {
	case "CreateFile":
		// Data Lake uploads raise CreateFile (empty) and then FlushWithClose
		// (complete); only the latter starts a conversion.
		return in, &Skip{"CreateFile event: waiting for FlushWithClose"}
	case "PutBlob", "PutBlockList", "FlushWithClose", "CopyBlob", "PutBlockFromURL", "":
	default:
		return in, &Skip{fmt.Sprintf("api %s does not complete an upload", ev.Data.API)}
	}
	if in.Container == "" || in.Path == "" {
		return in, &Rejection{RejectOutsideInput, fmt.Sprintf("subject %q does not name a blob", ev.Subject)}
	}
	if err := checkInput(in.Container, in.Path, inputContainer, inputPrefix); err != nil {
		return in, err
	}
	if in.Size == 0 && ev.Data.API != "FlushWithClose" || in.Size < 0 {
		return in, &Rejection{RejectEmpty, "the uploaded blob is empty (0 bytes)"}
	}
	if strings.EqualFold(path.Ext(in.Path), ".gltf") {
		in.Note = gltfNote
	}
	return in, nil
}

// checkInput applies the input rules to a blob path: inside the input
// location, a format ARR converts, a name ARR does not fail on. Side files
// are skipped: they are read when their model is converted.
func checkInput(container, blobPath, inputContainer, inputPrefix string) error {
	if container != inputContainer || !strings.HasPrefix(blobPath, inputPrefix) {
		return &Rejection{RejectOutsideInput, fmt.Sprintf("blob %s/%s is outside the input location %s/%s", container, blobPath, inputContainer, inputPrefix)}
	}
	if IsSideFile(blobPath) {
		return &Skip{"side file: ARR reads it when its model is converted (upload it before the model, or send a convert command)"}
	}
	if !arrops.IsInputFormat(blobPath) {
		ext := path.Ext(blobPath)
		if ext == "" {
			ext = "(none)"
		}
		return &Rejection{RejectUnsupported, fmt.Sprintf("extension %s is not converted by ARR (accepted: %s)", ext, strings.Join(arrops.InputFormats, " "))}
	}
	return checkName(blobPath)
}

// forbidden are characters that ARR's conversion pipeline or its SAS/URL
// handling has failed on in practice ('&' above all).
const forbidden = `&#%?\"<>|*:'` + "`"

func checkName(p string) error {
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return &Rejection{RejectInvalidName, fmt.Sprintf("blob path %q has an empty or relative segment", p)}
		}
		if seg != strings.TrimSpace(seg) {
			return &Rejection{RejectInvalidName, fmt.Sprintf("blob path %q has a segment with leading or trailing spaces", p)}
		}
	}
	for _, r := range p {
		if strings.ContainsRune(forbidden, r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return &Rejection{RejectInvalidName, fmt.Sprintf("blob name %q contains %q, which ARR conversions fail on; rename the file (letters, digits, spaces, - _ . / are safe)", p, r)}
		}
	}
	if len(p) > 1024 {
		return &Rejection{RejectInvalidName, "blob path is longer than 1024 characters"}
	}
	return nil
}

// ConversionID is arrops.ConversionID: the id convert gives the upload of
// container/blobPath at eTag (arrctl upload computes it too).
func ConversionID(container, blobPath, etag string) string {
	return arrops.ConversionID(container, blobPath, etag)
}

const gltfNote = ".gltf references side files (.bin, textures): they must be uploaded next to it before the conversion reads them"
