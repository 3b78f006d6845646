package convert

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/internal/functest"
)

// TestOutputContainerChecked: before ARR is called, the output container is
// checked with the write SAS ARR would get. A missing container is recorded
// as Failed at once, naming it, announced as ConversionFailed, and ARR is
// never asked; a redelivery changes nothing.
func TestOutputContainerChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Azurite")
	}
	e := newEnv(t, map[string]string{"ARR_OUTPUT_CONTAINER": "no-such-output"}, arrsim.Options{})
	// newEnv made it; this test is about its absence.
	if _, err := e.blobs.DeleteContainer(e.ctx, "no-such-output", nil); err != nil {
		t.Fatal(err)
	}
	etag := e.upload("arr-input", "plant.glb", functest.SampleGLB)
	ev := functest.BlobEvent{Container: "arr-input", Path: "plant.glb", ETag: etag, Size: int64(len(functest.SampleGLB))}
	if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
		t.Fatalf("HTTP %d, want 200: a missing output container is permanent", code)
	}
	if puts := e.tap.bodies(); len(puts) != 0 {
		t.Fatalf("ARR was asked to convert into a missing container: %d calls", len(puts))
	}
	r := e.record(ConversionID("arr-input", "plant.glb", strings.Trim(etag, `"`)))
	if r == nil || r.Status != arrops.ConversionFailed || r.ErrorCode != FailOutputMissing || !strings.Contains(r.ErrorMessage, `"no-such-output"`) {
		t.Fatalf("record %+v", r)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Type != arrops.EventConversionFailed || evs[0].ErrorCode != FailOutputMissing {
		t.Fatalf("events %+v", evs)
	}
	if code := e.deliver(ev.JSON(t)); code != http.StatusOK || len(e.tap.bodies()) != 0 || len(e.events()) != 0 {
		t.Errorf("a redelivery called ARR or announced again")
	}
	assertNoSAS(t, e)
}

// TestRejectionAnnounced: a rejected upload is announced once as
// ConversionFailed with its code (README, Events), also when the event is
// delivered again.
func TestRejectionAnnounced(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Azurite")
	}
	e := newEnv(t, nil, arrsim.Options{})
	ev := functest.BlobEvent{Container: "arr-input", Path: "empty.fbx", ETag: "0x1", Size: 0}
	for range 2 {
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
			t.Fatalf("HTTP %d", code)
		}
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Type != arrops.EventConversionFailed || evs[0].ErrorCode != RejectEmpty || evs[0].InputBlob != "arr-input/empty.fbx" {
		t.Fatalf("events %+v, want one ConversionFailed EmptyBlob", evs)
	}
	if r := e.record(ConversionID("arr-input", "empty.fbx", "0x1")); r == nil || r.Announced != arrops.ConversionRejected || !r.AnnounceClaimedAt.IsZero() {
		t.Errorf("record %+v: the announcement is not recorded as done", r)
	}
}
