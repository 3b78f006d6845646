package convert

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/trigger"
)

// FuzzBlobEvents fuzzes the outside-input path of the function: queue body
// → trigger.DecodeBlobEvents → Validate → ConversionID. Seeds are the
// captured and assembled Event Grid / CloudEvents fixtures, their queue
// bodies (double-encoded, base64) and events built from them with names
// that must be rejected.
func FuzzBlobEvents(f *testing.F) {
	for _, name := range []string{"eventgrid-blobcreated-event.json", "cloudevents-blobcreated-event.json"} {
		b := functest.Fixture(f, name)
		f.Add(b)
		f.Add([]byte(base64.StdEncoding.EncodeToString(b)))
	}
	for _, name := range []string{"queue-trigger-blobcreated-eventgrid.json", "queue-trigger-blobcreated-cloudevents.json",
		"queue-trigger-blobcreated-base64.json", "queue-trigger-adls-flushwithclose.json"} {
		inv, err := trigger.DecodeInvocation(functest.Fixture(f, name))
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		msg, err := inv.QueueMessage(Binding)
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		f.Add(msg.Body)
	}
	for _, ev := range []functest.BlobEvent{
		{Container: "arr-input", Path: "models/R&D/plant.glb", ETag: "1", Size: 1},
		{Container: "arr-input", Path: "models/plant.GLTF", ETag: "1", Size: 1},
		{Container: "arr-input", Path: "models/../x.fbx", ETag: "1", Size: 0, API: "FlushWithClose"},
		{Container: "arr-input", Path: "models/x.glb", ETag: "1", API: "CreateFile", Cloud: true},
		{Container: "arr-input", Path: strings.Repeat("ü/", 200) + "x.glb", ETag: "1", Size: 1},
		{Container: "arr-input", Path: "models/x.glb", EventType: "Microsoft.Storage.BlobDeleted"},
	} {
		f.Add(ev.JSON(f))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := trigger.DecodeBlobEvents(body)
		if err != nil {
			return
		}
		for i := range events {
			ev := &events[i]
			for _, loc := range [][2]string{{"arr-input", "models/"}, {ev.Container, ""}} {
				in, err := Validate(ev, loc[0], loc[1])
				var rej *Rejection
				var skip *Skip
				switch {
				case err == nil:
					checkAccepted(t, ev, in, loc[0], loc[1])
				case errors.As(err, &rej):
					if rej.Code == "" || rej.Reason == "" {
						t.Fatalf("rejection without code or reason: %#v", rej)
					}
				case errors.As(err, &skip):
					if skip.Reason == "" {
						t.Fatal("skip without reason")
					}
				default:
					t.Fatalf("Validate returned %T %v; want nil, *Rejection or *Skip", err, err)
				}
				id := ConversionID(in.Container, in.Path, in.ETag)
				if err := arrops.ValidateID(id); err != nil {
					t.Fatalf("ConversionID(%q, %q, %q) = %q: %v", in.Container, in.Path, in.ETag, id, err)
				}
				if id != ConversionID(in.Container, in.Path, in.ETag) || id == ConversionID(in.Container, in.Path, in.ETag+"x") {
					t.Fatalf("ConversionID is not deterministic or ignores the eTag: %q", id)
				}
			}
		}
	})
}

// checkAccepted states what an accepted upload guarantees to the code that
// starts the conversion.
func checkAccepted(t *testing.T, ev *trigger.BlobEvent, in Input, container, prefix string) {
	t.Helper()
	if ev.EventType != trigger.BlobCreatedType {
		t.Fatalf("accepted event type %q", ev.EventType)
	}
	if ev.Data.API == "CreateFile" {
		t.Fatal("accepted CreateFile: the FlushWithClose would start the conversion a second time")
	}
	if in.Container != container || !strings.HasPrefix(in.Path, prefix) {
		t.Fatalf("accepted %s/%s outside %s/%s", in.Container, in.Path, container, prefix)
	}
	if !arrops.IsInputFormat(in.Path) {
		t.Fatalf("accepted format of %q", in.Path)
	}
	if strings.ContainsAny(in.Path, forbidden) || strings.Contains("/"+in.Path+"/", "/../") || strings.Contains(in.Path, "//") {
		t.Fatalf("accepted name %q", in.Path)
	}
	if in.Size < 0 || in.Size == 0 && ev.Data.API != "FlushWithClose" {
		t.Fatalf("accepted size %d (%s)", in.Size, ev.Data.API)
	}
	if strings.HasPrefix(in.ETag, `"`) || strings.HasSuffix(in.ETag, `"`) {
		t.Fatalf("eTag %q keeps its quotes", in.ETag)
	}
}
