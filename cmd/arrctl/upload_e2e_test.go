package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/stack"
)

// TestUploadEndToEnd runs arrctl upload, send, audit and events against the local stack with the
// Event Grid stand-in (what make run runs), through every exit code: a
// .glb converts (0, the output URI printed), an empty .fbx is rejected (3),
// a .txt is refused before uploading (2), and a missing output container
// fails the conversion at once, naming it (1).
func TestUploadEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := startStack(t, ctx, stack.Options{
		SimArgs:    []string{"-conversion-after", "2s"},
		Settings:   map[string]string{"WATCH_SCHEDULE": "*/1 * * * * *"},
		BlobEvents: true,
	})
	dir := t.TempDir()
	// The settings file make run writes, found from a folder below it.
	writeSettingsFile(t, filepath.Join(dir, "local.settings.json"), st.Settings)
	sub := filepath.Join(dir, "models", "plant")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if err := os.WriteFile("plant.glb", functest.SampleGLB, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("empty.fbx", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("notes.txt", []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	arrctl := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errw bytes.Buffer
		code := run(ctx, append([]string{"arrctl"}, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errw)
		return code, out.String(), errw.String()
	}

	began := time.Now()
	code, out, errOut := arrctl("upload", "plant.glb", "--as", "site-7/plant.glb", "--timeout", "40s")
	if code != exitOK {
		t.Fatalf("upload .glb: exit %d\n%s\n%s", code, out, errOut)
	}
	f := keyValues(out)
	if f["status"] != "Succeeded" || !strings.HasSuffix(f["output"], "/arr-output/site-7/plant.arrAsset") || !strings.Contains(errOut, "Succeeded") {
		t.Errorf("upload printed %q, progress %q", out, errOut)
	}
	t.Logf("arrctl upload .glb to Succeeded: %s", time.Since(began).Round(time.Millisecond))

	if code, out, errOut = arrctl("upload", "empty.fbx", "--timeout", "40s"); code != exitRejected ||
		!strings.Contains(out, "EmptyBlob") || !strings.Contains(errOut, "rejected") {
		t.Errorf("upload empty .fbx: exit %d, want %d\n%s\n%s", code, exitRejected, out, errOut)
	}
	if code, _, errOut = arrctl("upload", "notes.txt"); code != exitUsage || !strings.Contains(errOut, "not a format ARR converts") {
		t.Errorf("upload .txt: exit %d, want %d: %s", code, exitUsage, errOut)
	}

	blobs, err := azblob.NewClientFromConnectionString(st.Azurite.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.DeleteContainer(ctx, "arr-output", nil); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = arrctl("upload", "plant.glb", "--timeout", "40s"); code != exitFailure ||
		!strings.Contains(out, "OutputContainerNotFound") || !strings.Contains(errOut, `"arr-output"`) {
		t.Errorf("upload with no output container: exit %d, want %d\n%s\n%s", code, exitFailure, out, errOut)
	}

	// send: another app's raw message, the reply printed here.
	if err := os.WriteFile("start.json", []byte(`{"action":"start","sessionId":"flow-1","size":"Standard","maxLeaseTimeMinutes":30,"requestedBy":"other-app"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = arrctl("send", "start.json", "--message-id", "flow-msg-1"); code != exitOK || !strings.Contains(out, `"outcome": "accepted"`) {
		t.Errorf("send start: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(ctx, []string{"arrctl", "send", "-"}, func(string) string { return "" }, strings.NewReader(`{"action":"reboot"}`), &bytes.Buffer{}, &bytes.Buffer{}), "", ""
	if code != exitRejected {
		t.Errorf("send a bad command from stdin: exit %d, want %d", code, exitRejected)
	}
	// With --reply-to the reply goes to the other app's (existing) queue.
	qs, err := azqueue.NewServiceClientFromConnectionString(st.Azurite.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qs.CreateQueue(ctx, "other-app-replies", nil); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = arrctl("send", "start.json", "--reply-to", "other-app-replies"); code != exitOK || !strings.Contains(out, "other-app-replies") {
		t.Errorf("send --reply-to: exit %d\n%s\n%s", code, out, errOut)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := qs.NewQueueClient("other-app-replies").PeekMessages(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reply on other-app-replies")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// audit: one row per delivery, the rejected one with its reason.
	if code, out, errOut = arrctl("audit", "--format", "json"); code != exitOK || !strings.Contains(out, `"messageId": "flow-msg-1"`) ||
		!strings.Contains(out, `"outcome": "rejected"`) {
		t.Errorf("audit: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = arrctl("audit", "--session", "flow-1"); code != exitOK || !strings.Contains(out, "accepted") || strings.Contains(out, "rejected") {
		t.Errorf("audit --session: exit %d\n%s", code, out)
	}
	// events: what arrops announced (the local arr-events queue).
	if code, out, errOut = arrctl("events", "--format", "json"); code != exitOK || !strings.Contains(out, `"type":"ConversionSucceeded"`) ||
		!strings.Contains(out, `"type":"ConversionFailed"`) || !strings.Contains(out, `"SessionStarting"`) {
		t.Errorf("events: exit %d\n%s\n%s", code, out, errOut)
	}
}
