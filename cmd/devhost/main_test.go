package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"
)

func TestRunErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"stray argument", []string{"-root", empty, "extra"}, `unexpected argument "extra"`},
		{"no host.json", []string{"-root", empty}, "host.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"devhost"}, tt.args...), func(string) string { return "" }, &out)
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("run error %v, want one line containing %q", err, tt.err)
			}
		})
	}
}

func TestRunStartsHandlerAndStopsOnCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	dir := t.TempDir()
	handler := filepath.Join(dir, "handler")
	if out, err := exec.Command("go", "build", "-o", handler, "../../internal/devhost/testdata/echohandler").CombinedOutput(); err != nil {
		t.Fatalf("build handler: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "watch"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "watch", "function.json"), []byte(`{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"%WATCH_SCHEDULE%","runOnStartup":true}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), []byte(`{"Values":{"WATCH_SCHEDULE":"0 0 0 1 1 *"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"devhost", "-root", dir, "-addr", "127.0.0.1:0"}, func(string) string { return "" }, out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "invocation succeeded") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no runOnStartup invocation:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	for _, want := range []string{"handler ready", "startup_ms=", "[handler] echohandler listening", "devhost stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
