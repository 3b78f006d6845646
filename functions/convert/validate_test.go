package convert

import (
	"errors"
	"strings"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/functest"
)

// TestValidate covers every rule of issue 7 item 2 on events decoded from
// the captured Event Grid and CloudEvents examples.
func TestValidate(t *testing.T) {
	const in, prefix = "arr-input", "models/"
	ok := func(path string) functest.BlobEvent {
		return functest.BlobEvent{Container: in, Path: path, ETag: "0x8DD1", Size: 1234}
	}
	with := func(e functest.BlobEvent, f func(*functest.BlobEvent)) functest.BlobEvent { f(&e); return e }
	tests := []struct {
		name   string
		ev     functest.BlobEvent
		reject string // rejection code; "" accepted
		skip   bool
		note   bool
	}{
		{"glb", ok("models/plant.glb"), "", false, false},
		{"GLB upper case", ok("models/PLANT.GLB"), "", false, false},
		{"Fbx mixed case", ok("models/a/b/Engine.Fbx"), "", false, false},
		{"gltf needs side files", ok("models/scene.gltf"), "", false, true},
		{"GLTF upper case gets the note too", ok("models/scene.GLTF"), "", false, true},
		{"point clouds", ok("models/scan.E57"), "", false, false},
		{"xyz", ok("models/cloud.xyz"), "", false, false},
		{"ply", ok("models/mesh.ply"), "", false, false},
		{"las", ok("models/lidar.las"), "", false, false},
		{"laz", ok("models/lidar.LAZ"), "", false, false},
		{"spaces inside a name are fine", ok("models/my plant v2.glb"), "", false, false},
		{"CloudEvents schema", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.Cloud = true }), "", false, false},
		{"PutBlockList", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.API = "PutBlockList" }), "", false, false},
		{"FlushWithClose completes a Data Lake upload", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.API = "FlushWithClose" }), "", false, false},
		// Data Lake events may report the flushed length, not the file's:
		// a FlushWithClose with 0 is not judged empty (ARR reports a truly
		// empty file as a failed conversion, which is recorded).
		{"FlushWithClose with contentLength 0 is not judged empty", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.API = "FlushWithClose"; e.Size = 0 }), "", false, false},
		{"CreateFile is skipped, not rejected", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.API = "CreateFile"; e.Size = 0 }), "", true, false},
		{"an api that does not finish an upload is skipped", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.API = "SetBlobTier" }), "", true, false},

		{"obj is not an ARR format", ok("models/plant.obj"), RejectUnsupported, false, false},
		{"no extension", ok("models/README"), RejectUnsupported, false, false},
		{"glb.txt", ok("models/plant.glb.txt"), RejectUnsupported, false, false},
		{"ampersand", ok("models/R&D/plant.glb"), RejectInvalidName, false, false},
		{"ampersand in the file name", ok("models/plant&pump.fbx"), RejectInvalidName, false, false},
		{"hash", ok("models/plant#2.glb"), RejectInvalidName, false, false},
		{"percent", ok("models/100%.glb"), RejectInvalidName, false, false},
		{"question mark", ok("models/why?.glb"), RejectInvalidName, false, false},
		{"apostrophe", ok("models/o'brien.glb"), RejectInvalidName, false, false},
		{"control character", ok("models/a\tb.glb"), RejectInvalidName, false, false},
		{"trailing space in a folder", ok("models/site /plant.glb"), RejectInvalidName, false, false},
		{"dot-dot segment", ok("models/../plant.glb"), RejectInvalidName, false, false},
		{"empty segment", ok("models//plant.glb"), RejectInvalidName, false, false},
		{"too long", ok("models/" + strings.Repeat("a", 1100) + ".glb"), RejectInvalidName, false, false},
		{"zero-length PutBlob", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.Size = 0 }), RejectEmpty, false, false},
		{"zero-length PutBlockList", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.Size = 0; e.API = "PutBlockList" }), RejectEmpty, false, false},
		{"other container", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.Container = "elsewhere" }), RejectOutsideInput, false, false},
		{"outside the prefix", ok("other/plant.glb"), RejectOutsideInput, false, false},
		{"prefix is case-sensitive like blob names", ok("Models/plant.glb"), RejectOutsideInput, false, false},
		{"BlobDeleted", with(ok("models/plant.glb"), func(e *functest.BlobEvent) { e.EventType = "Microsoft.Storage.BlobDeleted"; e.API = "DeleteBlob" }), RejectNotBlobCreated, false, false},
		{"BlobTierChanged (CloudEvents)", with(ok("models/plant.glb"), func(e *functest.BlobEvent) {
			e.Cloud, e.EventType, e.API = true, "Microsoft.Storage.BlobTierChanged", "SetBlobTier"
		}), RejectNotBlobCreated, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.ev.Decoded(t)
			got, err := Validate(&ev, in, prefix)
			var rej *Rejection
			var skip *Skip
			switch {
			case tc.skip:
				if !errors.As(err, &skip) || skip.Reason == "" {
					t.Fatalf("Validate = %v, want a Skip with a reason", err)
				}
			case tc.reject != "":
				if !errors.As(err, &rej) || rej.Code != tc.reject {
					t.Fatalf("Validate = %v, want rejection %s", err, tc.reject)
				}
				if len(rej.Reason) < 10 || !strings.Contains(err.Error(), rej.Reason) {
					t.Errorf("reason %q is not a clear sentence", rej.Reason)
				}
			default:
				if err != nil {
					t.Fatalf("Validate = %v, want accepted", err)
				}
				if got.Container != in || got.Path != tc.ev.Path || got.ETag != "0x8DD1" || got.Size != tc.ev.Size {
					t.Errorf("input %+v does not describe %+v (eTag without quotes)", got, tc.ev)
				}
			}
			if tc.note != (got.Note != "") {
				t.Errorf("note %q, want a note: %v", got.Note, tc.note)
			}
			if tc.note && !strings.Contains(got.Note, "side files") {
				t.Errorf("note %q does not mention the side files", got.Note)
			}
		})
	}
}

// TestValidateWithoutPrefix: an empty ARR_INPUT_PREFIX accepts the whole
// container, and the rejection reason names the configured location.
func TestValidateWithoutPrefix(t *testing.T) {
	ev := functest.BlobEvent{Container: "arr-input", Path: "deep/a/b/plant.glb", ETag: "1", Size: 1}.Decoded(t)
	if _, err := Validate(&ev, "arr-input", ""); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	_, err := Validate(&ev, "models", "")
	var rej *Rejection
	if !errors.As(err, &rej) || !strings.Contains(rej.Reason, "models/") || !strings.Contains(rej.Reason, "arr-input/deep/a/b/plant.glb") {
		t.Fatalf("Validate = %v, want a reason naming blob and input location", err)
	}
}

// TestConversionID: deterministic, within ARR's limits, hashed when long, a
// new id for each new upload (eTag) and for each location.
func TestConversionID(t *testing.T) {
	long := strings.Repeat("very-long-folder-name/", 30) + "plant.glb"
	tests := []struct {
		name                  string
		container, path, etag string
		wantPrefix            string // readable part
	}{
		{"simple", "arr-input", "plant.glb", "0x1", "plant-"},
		{"folders become underscores", "arr-input", "site/a/Plant v2.glb", "0x1", "site_a_Plant_v2-"},
		{"unicode becomes underscores", "arr-input", "Ünïcode/模型.fbx", "0x1", "n_code-"},
		{"nothing readable: hash only", "arr-input", "模型.fbx", "0x1", ""},
		{"long path keeps its tail", "arr-input", long, "0x1", ""},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := ConversionID(tc.container, tc.path, tc.etag)
			if err := arrops.ValidateID(id); err != nil {
				t.Fatalf("ConversionID = %q: %v", id, err)
			}
			if id != ConversionID(tc.container, tc.path, tc.etag) {
				t.Fatal("not deterministic")
			}
			if !strings.HasPrefix(id, tc.wantPrefix) {
				t.Errorf("id %q, want the readable prefix %q", id, tc.wantPrefix)
			}
			if tc.path == long && (len(id) != arrops.MaxIDLength || !strings.Contains(id, "plant-")) {
				t.Errorf("long path: id %q (%d characters), want %d ending in the file name and hash", id, len(id), arrops.MaxIDLength)
			}
			for _, other := range []string{
				ConversionID(tc.container, tc.path, tc.etag+"2"), // re-upload
				ConversionID("other", tc.path, tc.etag),          // same path elsewhere
				ConversionID(tc.container, tc.path+"x", tc.etag), // another blob
			} {
				if other == id {
					t.Errorf("%q collides with a different upload", id)
				}
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("%q is also the id of %s", id, prev)
			}
			seen[id] = tc.name
		})
	}
	// Two long paths that differ only where the readable part was cut.
	a := ConversionID("c", "x/"+long, "e")
	b := ConversionID("c", "y/"+long, "e")
	if a == b || a[:200] != b[:200] {
		t.Errorf("long paths differing at the start: %q vs %q; want the same readable tail and distinct hashes", a, b)
	}
	// Quotes around an eTag are stripped by Validate before the id is made:
	// the event's "\"0x1\"" and storage's "0x1" are one upload.
	ev := functest.BlobEvent{Container: "c", Path: "p.glb", ETag: `"0x1"`, Size: 1}.Decoded(t)
	in, err := Validate(&ev, "c", "")
	if err != nil || ConversionID(in.Container, in.Path, in.ETag) != ConversionID("c", "p.glb", "0x1") {
		t.Errorf("quoted eTag gives another id (%v)", err)
	}
}
