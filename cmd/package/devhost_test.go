package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/internal/syncbuf"
)

// TestPackagedHandlerStartsUnderDevhost is the deployment check a person
// would make: package the real handler (linux/amd64, CGO off, as `make
// package` does), unpack the zip into an empty folder, and run that folder
// under devhost exactly as the Functions host would see it (host.json and
// <function>/function.json at the root, ./handler beside them). The shipped
// binary must start, serve an HTTP function and run a timer function.
//
// The cross-build is a separate build-cache flavour: about two minutes on a
// cold cache on this 2-core machine, seconds once cached. -short skips it.
func TestPackagedHandlerStartsUnderDevhost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real handler for linux/amd64 and starts the local stack: skipped with -short")
	}
	if _, err := azurite.FindBin(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("azurite is not installed (npm ci): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	zipPath, _ := build(t)
	app := t.TempDir()
	unzip(t, zipPath, app)

	// The simulator and devhost come from the ordinary stack build; the
	// handler is the one from the zip.
	built, err := stack.BuildOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for name, target := range map[string]string{
		"handler": filepath.Join(app, HandlerName),
		"arrsim":  filepath.Join(built, "arrsim"),
		"devhost": filepath.Join(built, "devhost"),
	} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncbuf.Buffer{}
	st, err := stack.Start(ctx, stack.Options{BinDir: bin, Root: app, Log: logs,
		Settings: map[string]string{"WATCH_SCHEDULE": "0 0 0 1 1 *", "SHUTDOWN_SCHEDULE": "0 0 0 1 1 *"}})
	if err != nil {
		t.Fatalf("start the stack on the unpacked zip: %v\n%s", err, logs.String())
	}
	defer func() {
		st.Stop()
		if t.Failed() {
			t.Logf("process output:\n%s", logs.String())
		}
	}()

	call := func(method, path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, st.DevhostURL+path, strings.NewReader("{}"))
		key := devhost.DevFunctionKey
		if strings.HasPrefix(path, "/admin/") {
			key = devhost.DevMasterKey
		}
		req.Header.Set("x-functions-key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// HTTP trigger through the host to the packaged handler and its storage.
	code, body := call(http.MethodGet, "/api/report?format=json")
	var rep struct {
		Totals *struct {
			Sessions int `json:"sessions"`
		} `json:"totals"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &rep) != nil || rep.Totals == nil {
		t.Fatalf("GET /api/report from the packaged handler: %d %s", code, body)
	}
	// A timer function, which calls the ARR simulator.
	if code, body := call(http.MethodPost, "/admin/functions/watch"); code != http.StatusAccepted {
		t.Fatalf("fire watch on the packaged handler: %d %s", code, body)
	}
	// devhost loaded every function folder from the zip's root (it logs one
	// "function" line per function it serves).
	for _, fn := range []string{"commands", "convert", "report", "shutdown", "watch"} {
		if !strings.Contains(logs.String(), "function="+fn+" trigger=") {
			t.Errorf("devhost did not load function %s from the unpacked zip", fn)
		}
	}
}

// unzip extracts every entry of zipPath into dir with its recorded mode.
func unzip(t *testing.T, zipPath, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, dir+string(os.PathSeparator)) {
			t.Fatalf("entry %q escapes the folder", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
