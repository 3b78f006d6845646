package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// runArgs runs arrctl with an empty environment and returns exit code,
// stdout and stderr.
func runArgs(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), append([]string{"arrctl"}, args...), getenv, strings.NewReader(""), &out, &errw)
	return code, out.String(), errw.String()
}

func TestUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string // substring of the one stderr line
	}{
		{"no command", nil, ""},
		{"unknown command", []string{"reboot"}, `unknown command "reboot"`},
		{"unknown global flag", []string{"--colour", "start"}, "flag provided but not defined"},
		{"start bad size", []string{"start", "--size", "Huge"}, "--size"},
		{"start lease too long", []string{"start", "--lease", "2000"}, "outside 1..1440"},
		{"start bad lease", []string{"start", "--lease", "ten"}, "invalid value"},
		{"start bad id", []string{"start", "--session-id", "a b"}, "--session-id"},
		{"start tag without value", []string{"start", "--tag", "project"}, "not key=value"},
		{"start tag twice", []string{"start", "--tag", "a=1", "--tag", "a=2"}, "given twice"},
		{"start zero timeout", []string{"start", "--timeout", "0s"}, "--timeout"},
		{"start positional", []string{"start", "now"}, `unexpected argument "now"`},
		{"stop without id", []string{"stop"}, "want 1 argument"},
		{"stop two ids", []string{"stop", "a", "b"}, "got 2"},
		{"stop bad id", []string{"stop", "a&b"}, "session id"},
		{"extend without lease", []string{"extend", "s1"}, "maxLeaseTimeMinutes 0 is outside 1..1440"},
		{"extend lease too long", []string{"extend", "s1", "--lease", "1441"}, "outside 1..1440"},
		{"sessions bad format", []string{"sessions", "--format", "xml"}, `--format "xml"`},
		{"sessions bad status", []string{"sessions", "--status", "Running"}, `--status "Running"`},
		{"sessions bad date", []string{"sessions", "--from", "2026-13-01"}, "--from"},
		{"sessions reversed range", []string{"sessions", "--from", "2026-02-01", "--to", "2026-01-01"}, "before --from"},
		{"sessions range too long", []string{"sessions", "--from", "2024-01-01", "--to", "2026-01-01"}, "at most 366"},
		{"conversions bad status", []string{"conversions", "--status", "Ready"}, `--status "Ready"`},
		{"report bad group", []string{"report", "--group-by", "colour"}, "--group-by"},
		{"report empty tag", []string{"report", "--group-by", "tag:"}, "tag key"},
		{"report bad from", []string{"report", "--from", "yesterday"}, "--from"},
		{"report bad format", []string{"report", "--format", "html"}, `--format "html"`},
		{"report dataset in a table", []string{"report", "--dataset", "conversions"}, "--dataset conversions needs"},
		{"report bad dataset", []string{"report", "--dataset", "commands", "--format", "csv"}, "--dataset"},
		{"watch without id", []string{"watch"}, "want 1 argument"},
		{"watch bad interval", []string{"watch", "s1", "--interval", "-1s"}, "--interval"},
		{"missing settings", []string{"--settings", missing, "sessions"}, "ARR_ACCOUNT_ID"},
		{"broken settings file", []string{"--settings", bad, "sessions"}, "bad.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, nil, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if tt.wantErr == "" {
				return
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "arrctl: ") {
				t.Errorf("stderr %q is not one arrctl: line", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Exit codes:", "0  success", "2  usage error", "3  command rejected", "watch ID"}},
		{[]string{"help"}, []string{"Exit codes:"}},
		{[]string{"start", "-h"}, []string{"Usage: arrctl start", "-no-wait", "-tag"}},
		{[]string{"extend", "-h"}, []string{"Usage: arrctl extend ID --lease MIN", "-lease"}},
		{[]string{"report", "--help"}, []string{"-group-by", "requester, size, day or tag:KEY"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runArgs(t, nil, tt.args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestExitCodeOfErrors(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{usagef("bad"), exitUsage},
		{&rejectedError{msg: "no"}, exitRejected},
		{os.ErrNotExist, exitFailure},
		{errHelpShown, exitOK},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if got := fail(&b, tt.err); got != tt.want {
			t.Errorf("fail(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestDescribeIsOneLine(t *testing.T) {
	var b bytes.Buffer
	fail(&b, errorsJoin("first line", "second\tline"))
	if got := b.String(); got != "arrctl: first line second line\n" {
		t.Fatalf("got %q", got)
	}
}

type textErr string

func (e textErr) Error() string { return string(e) }

func errorsJoin(a, b string) error { return textErr(a + "\n" + b) }

// TestDescribeResponseError: azcore errors become one short line without
// the request's query string (a SAS would be there).
func TestDescribeResponseError(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://acct.queue.core.windows.net/arr-commands/messages?sig=SECRETSIG&se=2026", nil)
	resp := &http.Response{StatusCode: 404, Status: "404 Not Found", Request: req,
		Header: http.Header{"X-Ms-Error-Code": {"QueueNotFound"}}, Body: io.NopCloser(strings.NewReader("<Error/>"))}
	err := fmt.Errorf("send command to queue arr-commands: %w", runtime.NewResponseError(resp))
	var b bytes.Buffer
	if code := fail(&b, err); code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	got := b.String()
	want := "arrctl: send command to queue arr-commands: GET https://acct.queue.core.windows.net/arr-commands/messages: HTTP 404 QueueNotFound\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
