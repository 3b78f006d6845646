package functest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arrops/arrops/trigger"
)

// SampleGLB is a real, minimal binary glTF: the 12-byte header (magic
// "glTF", version 2, total length 12) padded with spaces. The simulator only
// reads it through the SAS and hashes it.
var SampleGLB = append([]byte("glTF\x02\x00\x00\x00\x0c\x00\x00\x00"), bytes.Repeat([]byte{0x20}, 64)...)

// BlobEvent describes a storage event; JSON renders it from the captured
// Event Grid or CloudEvents example of the shared fixtures, so every field
// the service sends is there, with these replacing the example's values.
type BlobEvent struct {
	Cloud     bool   // CloudEvents 1.0 schema instead of the Event Grid schema
	EventType string // default Microsoft.Storage.BlobCreated
	API       string // default PutBlob
	Container string
	Path      string
	ETag      string // as storage returns it, with or without quotes
	Size      int64
	ID        string // default derived from container, path, eTag and API
}

// JSON renders e as the one event of its schema's captured example.
func (e BlobEvent) JSON(tb testing.TB) []byte {
	tb.Helper()
	name := "eventgrid-blobcreated-event.json"
	if e.Cloud {
		name = "cloudevents-blobcreated-event.json"
	}
	var evs []map[string]any
	if err := json.Unmarshal(Fixture(tb, name), &evs); err != nil || len(evs) != 1 {
		tb.Fatalf("fixture %s: %v", name, err)
	}
	ev := evs[0]
	if e.EventType == "" {
		e.EventType = trigger.BlobCreatedType
	}
	if e.API == "" {
		e.API = "PutBlob"
	}
	if e.ID == "" {
		sum := sha256.Sum256([]byte(e.Container + "/" + e.Path + "/" + e.ETag + "/" + e.API))
		e.ID = hex.EncodeToString(sum[:16])
	}
	if e.Cloud {
		ev["type"] = e.EventType
	} else {
		ev["eventType"] = e.EventType
	}
	ev["id"] = e.ID
	ev["subject"] = "/blobServices/default/containers/" + e.Container + "/blobs/" + e.Path
	data := ev["data"].(map[string]any)
	data["api"] = e.API
	data["eTag"] = `"` + strings.Trim(e.ETag, `"`) + `"`
	data["contentLength"] = e.Size
	data["contentType"] = "model/gltf-binary"
	data["url"] = "https://devstoreaccount1.blob.core.windows.net/" + e.Container + "/" + e.Path
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Decoded renders and decodes e: the one event a function would see.
func (e BlobEvent) Decoded(tb testing.TB) trigger.BlobEvent {
	tb.Helper()
	evs, err := trigger.DecodeBlobEvents(e.JSON(tb))
	if err != nil || len(evs) != 1 {
		tb.Fatalf("decode %+v: %v", e, err)
	}
	return evs[0]
}
