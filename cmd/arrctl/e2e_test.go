package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/stack"
	rep "github.com/arrops/arrops/report"
)

// TestEndToEnd runs arrctl against the real local system (Azurite, the ARR
// simulator, devhost running the handler): start waits for Ready and prints
// the hostname, sessions lists the session, stop stops it, a rejected command
// exits 3, and the CLI report's totals equal the HTTP report's.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := startStack(t, ctx, stack.Options{
		SimArgs:  []string{"-ready-after", "2s"},
		Settings: map[string]string{"WATCH_SCHEDULE": "*/1 * * * * *"},
	})
	settings := filepath.Join(t.TempDir(), "absent.json") // settings come from the environment only
	arrctl := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errw bytes.Buffer
		getenv := func(k string) string { return st.Settings[k] }
		code := run(ctx, append([]string{"arrctl", "--settings", settings}, args...), getenv, strings.NewReader(""), &out, &errw)
		return code, out.String(), errw.String()
	}
	today := time.Now().UTC().Format(dateLayout)

	// start: waits for Ready, prints hostname and ports.
	began := time.Now()
	code, out, errOut := arrctl("start", "--requested-by", "e2e-operator", "--tag", "project=e2e", "--lease", "30", "--timeout", "40s")
	if code != exitOK {
		t.Fatalf("start: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	fields := keyValues(out)
	id, host := fields["session"], fields["hostname"]
	if id == "" || host == "" || fields["status"] != "Ready" || fields["handshakePort"] == "" || fields["handshakePort"] == "0" {
		t.Fatalf("start printed %q", out)
	}
	if !strings.Contains(errOut, "Ready") || strings.Contains(errOut, "\r") {
		t.Errorf("progress on a non-terminal stderr should be plain lines ending in Ready: %q", errOut)
	}
	t.Logf("start: Ready after %s", time.Since(began).Round(time.Millisecond))
	assertNoReplyQueues(t, ctx, st)

	// sessions: lists it as Ready, in every format.
	code, out, errOut = arrctl("sessions", "--format", "json", "--requester", "e2e-operator")
	if code != exitOK {
		t.Fatalf("sessions: exit %d: %s", code, errOut)
	}
	var listed []sessionView
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("sessions json: %v: %s", err, out)
	}
	if s := listed[0]; s.ID != id || s.Status != "Ready" || s.Hostname != host || s.Tags["project"] != "e2e" || s.MaxLeaseMinutes != 30 {
		t.Fatalf("listed session %+v, want %s Ready on %s", s, id, host)
	}
	code, out, _ = arrctl("sessions", "--status", "ready")
	if code != exitOK || !strings.Contains(out, id) || !strings.HasPrefix(out, "ID ") {
		t.Fatalf("sessions table: exit %d\n%s", code, out)
	}

	// extend of an unknown session: rejected by arrops, exit 3.
	code, _, errOut = arrctl("extend", "no-such-session", "--lease", "45", "--timeout", "30s")
	if code != exitRejected || !strings.Contains(errOut, "rejected") {
		t.Fatalf("extend unknown: exit %d, stderr %q; want %d", code, errOut, exitRejected)
	}

	// stop: accepted, then the record is Stopped.
	code, out, errOut = arrctl("stop", id, "--timeout", "30s")
	if code != exitOK {
		t.Fatalf("stop: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if f := keyValues(out); f["outcome"] != "accepted" || f["status"] != "Stopped" {
		t.Fatalf("stop printed %q", out)
	}
	code, out, errOut = arrctl("watch", id, "--interval", "100ms")
	if code != exitOK || !strings.Contains(out, "Stopped") {
		t.Fatalf("watch of a stopped session: exit %d\n%s%s", code, out, errOut)
	}

	// report: the CLI's totals equal the HTTP report's.
	code, out, errOut = arrctl("report", "--from", today, "--to", today, "--format", "json")
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	var cli reportTotals
	if err := json.Unmarshal([]byte(out), &cli); err != nil {
		t.Fatal(err)
	}
	httpReport := fetchReport(t, ctx, st.DevhostURL+"/api/report?code="+devhost.DevFunctionKey+"&format=json&from="+today+"&to="+today)
	if cli.Totals != httpReport.Totals {
		t.Fatalf("CLI totals %+v != HTTP totals %+v", cli.Totals, httpReport.Totals)
	}
	if cli.Savings.Totals != httpReport.Savings.Totals || cli.Waste.Totals != httpReport.Waste.Totals || cli.StartTimes.Ready != httpReport.StartTimes.Ready {
		t.Fatalf("CLI savings/waste/starts %+v %+v %d != HTTP %+v %+v %d", cli.Savings, cli.Waste, cli.StartTimes.Ready,
			httpReport.Savings, httpReport.Waste, httpReport.StartTimes.Ready)
	}
	if !equalGroups(cli.Groups, httpReport.Groups) {
		t.Fatalf("CLI groups %+v != HTTP groups %+v", cli.Groups, httpReport.Groups)
	}
	if cli.Totals.Count < 1 || cli.Totals.Running != 0 || cli.Totals.Minutes <= 0 {
		t.Fatalf("report totals %+v do not count the stopped session", cli.Totals)
	}
	code, out, _ = arrctl("report", "--from", today, "--to", today)
	if code != exitOK || !strings.Contains(out, "e2e-operator") || !strings.Contains(out, "TOTAL") {
		t.Fatalf("report table: exit %d\n%s", code, out)
	}
}

func keyValues(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			m[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return m
}

func equalGroups(a, b []rep.Group) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fetchReport(t *testing.T, ctx context.Context, url string) reportTotals {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/report: %d %s", resp.StatusCode, body)
	}
	var r reportTotals
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("HTTP report: %v: %s", err, body)
	}
	return r
}

// assertNoReplyQueues checks that arrctl deleted its private reply queue.
func assertNoReplyQueues(t *testing.T, ctx context.Context, st *stack.Stack) {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return st.Settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := queueService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pager := svc.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: ptr("arrctl-")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range page.Queues {
			t.Errorf("reply queue %s left behind", deref(q.Name))
		}
	}
}

// startStack starts the local system for an end-to-end test (skipped with
// -short, or without Azurite outside CI) and stops it at cleanup, printing
// its logs when the test failed.
func startStack(t *testing.T, ctx context.Context, opts stack.Options) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	if _, err := azurite.FindBin(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("azurite is not installed (npm ci): %v", err)
	}
	logs := &syncbuf.Buffer{}
	opts.Log = logs
	st, err := stack.Start(ctx, opts)
	if err != nil {
		if strings.Contains(err.Error(), "go build") && os.Getenv("CI") == "" {
			t.Skipf("the local stack does not build yet: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Stop()
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs.String())
		}
	})
	return st
}
