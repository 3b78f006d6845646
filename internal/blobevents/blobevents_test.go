package blobevents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/functions/convert"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/trigger"
)

// TestEventMatchesFixture: the event has exactly the fields of the
// published Event Grid BlobCreated example, decodes with the trigger
// decoder and passes convert's validation.
func TestEventMatchesFixture(t *testing.T) {
	ev := Event("devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", "arr-input", "plant/a.glb", "0x8DD0BB4F2A3C7E1",
		"model/gltf-binary", "BlockBlob", 76, time.Date(2026, 12, 4, 15, 0, 0, 123456700, time.UTC))
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var fixture []map[string]any
	if err := json.Unmarshal(functest.Fixture(t, "eventgrid-blobcreated-event.json"), &fixture); err != nil {
		t.Fatal(err)
	}
	var mine map[string]any
	if err := json.Unmarshal(got, &mine); err != nil {
		t.Fatal(err)
	}
	if a, b := keys(mine), keys(fixture[0]); !slices.Equal(a, b) {
		t.Errorf("event fields %v, fixture %v", a, b)
	}
	if a, b := keys(mine["data"].(map[string]any)), keys(fixture[0]["data"].(map[string]any)); !slices.Equal(a, b) {
		t.Errorf("data fields %v, fixture %v", a, b)
	}
	evs, err := trigger.DecodeBlobEvents(got)
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %v", err)
	}
	in, err := convert.Validate(&evs[0], "arr-input", "")
	if err != nil || in.Path != "plant/a.glb" || in.ETag != "0x8DD0BB4F2A3C7E1" || in.Size != 76 {
		t.Fatalf("validate: %+v %v", in, err)
	}
	if again := Event("devstoreaccount1", "http://x", "arr-input", "plant/a.glb", "0x8DD0BB4F2A3C7E1", "", "", 76, time.Now()); again.ID != ev.ID {
		t.Errorf("the same blob version got another event id")
	}
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// TestWatcher drives the watcher against Azurite: the subscription's
// filter, one event per version, re-uploads, deletes, and a restart that
// announces nothing twice.
func TestWatcher(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Azurite")
	}
	az := azuritetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	blobs, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := qs.NewQueueClient("arr-blob-created")
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, "arr-input", nil); err != nil {
		t.Fatal(err)
	}
	upload := func(name string, data string) string {
		t.Helper()
		r, err := blobs.UploadBuffer(ctx, "arr-input", name, []byte(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(string(*r.ETag), `"`)
	}
	// received drains the queue: subject -> eTag of every event.
	received := func() []string {
		t.Helper()
		var out []string
		for {
			r, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: ptr(int32(32))})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Messages) == 0 {
				slices.Sort(out)
				return out
			}
			for _, m := range r.Messages {
				b, err := base64.StdEncoding.DecodeString(*m.MessageText)
				if err != nil {
					t.Fatalf("message is not base64: %v", err)
				}
				evs, err := trigger.DecodeBlobEvents(b)
				if err != nil || len(evs) != 1 {
					t.Fatalf("decode %s: %v", b, err)
				}
				out = append(out, evs[0].BlobPath+"@"+strings.Trim(evs[0].Data.ETag, `"`))
				if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	poll := func(w *Watcher, want int) {
		t.Helper()
		if n, err := w.Poll(ctx); err != nil || n != want {
			t.Fatalf("Poll = %d, %v; want %d", n, err, want)
		}
	}

	old := upload("before.glb", "x")
	w := New(Options{Blobs: blobs, Queue: q, Container: "arr-input", Prefix: "models/"})
	if err := w.Init(ctx); err != nil {
		t.Fatal(err)
	}
	poll(w, 0) // uploaded before the subscription existed
	a1 := upload("models/a.glb", "glTF")
	upload("models/notes.txt", "hello") // filtered: suffix
	upload("elsewhere/b.glb", "glTF")   // filtered: prefix
	b1 := upload("models/B.FBX", "")    // the filter is case-insensitive; convert rejects the empty blob
	poll(w, 2)
	if got, want := received(), []string{"models/B.FBX@" + b1, "models/a.glb@" + a1}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	poll(w, 0)
	a2 := upload("models/a.glb", "glTF") // the same bytes again: a new version
	if a2 == a1 {
		t.Fatal("Azurite reused the eTag")
	}
	// A restart: a new watcher over the same state announces only a2.
	w = New(Options{Blobs: blobs, Queue: q, Container: "arr-input", Prefix: "models/"})
	poll(w, 1)
	if got, want := received(), []string{"models/a.glb@" + a2}; !slices.Equal(got, want) {
		t.Fatalf("events after restart %v, want %v", got, want)
	}
	if _, err := blobs.DeleteBlob(ctx, "arr-input", "models/a.glb", nil); err != nil {
		t.Fatal(err)
	}
	poll(w, 0)
	a3 := upload("models/a.glb", "glTF2")
	poll(w, 1)
	if got := received(); !slices.Equal(got, []string{"models/a.glb@" + a3}) || old == "" {
		t.Fatalf("events after delete and upload %v", got)
	}
}

func ptr[T any](v T) *T { return &v }
