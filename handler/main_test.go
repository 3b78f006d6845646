package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/trigger"
)

// handlerEnv is a complete, valid set of settings. Storage points at a port
// nobody listens on: start-up must not touch it (clients are built lazily).
func handlerEnv(port string) map[string]string {
	return map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": port,
		"ARR_ACCOUNT_ID":               "11111111-2222-4333-8444-555555555555",
		"ARR_ACCOUNT_DOMAIN":           "eastus.mixedreality.azure.com",
		"ARR_ACCOUNT_KEY":              "handler-test-key",
		"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
			"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
			"TableEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;",
	}
}

func getenvOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// TestRunSettings: each missing or malformed setting stops start-up with one
// line naming it, before anything listens.
func TestRunSettings(t *testing.T) {
	cases := []struct {
		name    string
		key     string
		value   string // "" removes the setting
		setting string // the name the error must carry
	}{
		{"no port", "FUNCTIONS_CUSTOMHANDLER_PORT", "", "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"port not a number", "FUNCTIONS_CUSTOMHANDLER_PORT", "http", "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"port out of range", "FUNCTIONS_CUSTOMHANDLER_PORT", "70000", "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"no account id", "ARR_ACCOUNT_ID", "", "ARR_ACCOUNT_ID"},
		{"account id not a UUID", "ARR_ACCOUNT_ID", "my-account", "ARR_ACCOUNT_ID"},
		{"no account domain", "ARR_ACCOUNT_DOMAIN", "", "ARR_ACCOUNT_DOMAIN"},
		{"domain is a URL", "ARR_ACCOUNT_DOMAIN", "https://eastus.mixedreality.azure.com", "ARR_ACCOUNT_DOMAIN"},
		{"no storage", "AzureWebJobsStorage", "", "AzureWebJobsStorage"},
		{"storage not a connection string", "AzureWebJobsStorage", "devstoreaccount1", "AzureWebJobsStorage"},
		{"endpoint not a URL", "ARR_ENDPOINT", "remoterendering", "ARR_ENDPOINT"},
		{"bad default size", "ARR_DEFAULT_SIZE", "Huge", "ARR_DEFAULT_SIZE"},
		{"lease too long", "ARR_DEFAULT_LEASE_MINUTES", "1441", "ARR_DEFAULT_LEASE_MINUTES"},
		{"bad service bus", "ServiceBusConnection", "myns.servicebus.windows.net", "ServiceBusConnection"},
		{"bad watch schedule", "WATCH_SCHEDULE", "*/5 * * * *", "WATCH_SCHEDULE"},
		{"bad shutdown schedule", "SHUTDOWN_SCHEDULE", "every 5 minutes", "SHUTDOWN_SCHEDULE"},
		{"bad time zone", "SHUTDOWN_TIME_ZONE", "Mars/Olympus", "SHUTDOWN_TIME_ZONE"},
		{"Local time zone", "SHUTDOWN_TIME_ZONE", "Local", "SHUTDOWN_TIME_ZONE"},
		{"25:00 quiet hours", "SHUTDOWN_QUIET_HOURS", "25:00-07:00", "SHUTDOWN_QUIET_HOURS"},
		{"quiet hours without end", "SHUTDOWN_QUIET_HOURS", "19:00", "SHUTDOWN_QUIET_HOURS"},
		{"empty quiet window", "SHUTDOWN_QUIET_HOURS", "07:00-07:00", "SHUTDOWN_QUIET_HOURS"},
		{"negative budget", "SHUTDOWN_DAILY_BUDGET_MINUTES", "-5", "SHUTDOWN_DAILY_BUDGET_MINUTES"},
		{"budget not a number", "SHUTDOWN_DAILY_BUDGET_MINUTES", "lots", "SHUTDOWN_DAILY_BUDGET_MINUTES"},
		{"max ready 0", "SHUTDOWN_MAX_READY_MINUTES", "0", "SHUTDOWN_MAX_READY_MINUTES"},
		{"bad dry run", "SHUTDOWN_DRY_RUN", "maybe", "SHUTDOWN_DRY_RUN"},
		{"bad weekends", "SHUTDOWN_QUIET_WEEKENDS", "sometimes", "SHUTDOWN_QUIET_WEEKENDS"},
		{"concurrency 0", "SHUTDOWN_CONCURRENCY", "0", "SHUTDOWN_CONCURRENCY"},
		{"warning too long", "SHUTDOWN_WARNING_MINUTES", "500", "SHUTDOWN_WARNING_MINUTES"},
		{"bad storage access", "ARR_STORAGE_ACCESS", "public", "ARR_STORAGE_ACCESS"},
		{"bad container", "ARR_INPUT_CONTAINER", "Input_Files", "ARR_INPUT_CONTAINER"},
		{"one rate only", "ARR_RATE_STANDARD_PER_HOUR", "3", "ARR_RATE_PREMIUM_PER_HOUR"},
		{"bad log level", "ARROPS_LOG_LEVEL", "verbose", "ARROPS_LOG_LEVEL"},
		{"pool without hours", "POOL_STANDARD", "2", "POOL_HOURS"},
		{"pool days without hours", "POOL_DAYS", "Mon-Fri", "POOL_DAYS"},
		{"bad pool hours", "POOL_HOURS", "8-18", "POOL_HOURS"},
		{"bad pool zone", "POOL_TIME_ZONE", "Local", "POOL_TIME_ZONE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := freePort(t)
			env := handlerEnv(port)
			if c.value == "" {
				delete(env, c.key)
			} else {
				env[c.key] = c.value
			}
			var stdout bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := run(ctx, getenvOf(env), &stdout)
			if err == nil {
				t.Fatal("run accepted the settings")
			}
			msg := err.Error()
			if !strings.Contains(msg, "setting "+c.setting+":") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, c.setting)
			}
			if strings.Contains(msg, "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq") || strings.Contains(msg, "handler-test-key") {
				t.Errorf("error quotes a secret: %q", msg)
			}
			if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
				t.Errorf("the port is taken after a failed start: %v", err)
			} else {
				ln.Close()
			}
		})
	}
	// A pool window the quiet hours would cut into: one line naming the
	// settings on both sides.
	t.Run("pool window overlaps quiet hours", func(t *testing.T) {
		env := handlerEnv(freePort(t))
		env["POOL_PREMIUM"], env["POOL_HOURS"], env["SHUTDOWN_QUIET_HOURS"] = "1", "06:00-20:00", "19:00-07:00"
		err := run(context.Background(), getenvOf(env), io.Discard)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "setting POOL_HOURS/POOL_DAYS:") ||
			!strings.Contains(err.Error(), "SHUTDOWN_QUIET_HOURS") {
			t.Fatalf("err = %v, want one line naming POOL_HOURS/POOL_DAYS and SHUTDOWN_QUIET_HOURS", err)
		}
	})
	// Every required setting in config.Settings is covered above.
	for _, s := range config.Settings {
		if !s.Required {
			continue
		}
		found := false
		for _, c := range cases {
			found = found || (c.key == s.Name && c.value == "")
		}
		if !found {
			t.Errorf("required setting %s has no missing-setting case", s.Name)
		}
	}
}

// startHandler runs the handler on a free port until the test ends.
func startHandler(t *testing.T, env map[string]string) (string, *syncbuf.Buffer, time.Duration) {
	t.Helper()
	port := freePort(t)
	env["FUNCTIONS_CUSTOMHANDLER_PORT"] = port
	stdout := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	began := time.Now()
	go func() { errc <- run(ctx, getenvOf(env), stdout) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("run after cancel: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	base := "http://127.0.0.1:" + port
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %d", resp.StatusCode)
			}
			return base, stdout, time.Since(began)
		}
		select {
		case err := <-errc:
			t.Fatalf("run ended: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(began) > 10*time.Second {
			t.Fatalf("no answer to GET / after 10 s: %v", err)
		}
	}
}

// TestRoutes: GET / answers at once (no storage or ARR I/O at start), one
// POST route per function folder, unknown routes 404.
func TestRoutes(t *testing.T) {
	base, stdout, took := startHandler(t, handlerEnv(""))
	// Generous bound for a loaded CI machine; start-up speed is measured by
	// the benchmarks, this only catches start-up I/O (a storage dial would
	// hang on the dead endpoint).
	if took > 3*time.Second {
		t.Errorf("first GET / answered after %s", took)
	}
	entries, err := os.ReadDir("../functions")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat("../functions/" + e.Name() + "/function.json"); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) != 6 {
		t.Errorf("function folders %v, want six", names)
	}
	for _, name := range names {
		// A broken envelope reaches the function adapter (400), proving the
		// route exists without needing storage.
		resp, err := http.Post(base+"/"+name, "application/json", strings.NewReader(`not json`))
		if err != nil {
			t.Fatal(err)
		}
		var out trigger.Response
		decErr := json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		// A failed invocation's Logs are dropped by the host: its lines are
		// on stdout instead, once.
		if resp.StatusCode != http.StatusBadRequest || decErr != nil || len(out.Logs) != 0 ||
			!strings.Contains(stdout.String(), `"function":"`+name+`"`) {
			t.Errorf("POST /%s: %d %v %v", name, resp.StatusCode, out.Logs, decErr)
		}
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/nosuchfunction"}, {http.MethodPost, "/api/report"}, {http.MethodGet, "/favicon.ico"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, resp.StatusCode)
		}
	}
	// The report function answers a bad query itself: 200 to the host with
	// a 400 in the http output, without touching storage.
	body, err := trigger.EncodeHTTPInvocation("req", trigger.HTTPRequest{URL: "http://localhost/api/report?from=yesterday",
		Method: http.MethodGet, Query: map[string]string{"from": "yesterday"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/report", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out, err := trigger.DecodeResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, ok, err := out.HTTPOutput("res")
	if resp.StatusCode != http.StatusOK || !ok || err != nil || res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, `"parameter":"from"`) {
		t.Errorf("bad report query: %d %+v %v", resp.StatusCode, res, err)
	}
	if !strings.Contains(stdout.String(), `"msg":"handler listening"`) {
		t.Errorf("stdout: %s", stdout.String())
	}
	if s := stdout.String(); strings.Contains(s, "handler-test-key") || strings.Contains(s, "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq") {
		t.Errorf("stdout quotes a secret: %s", s)
	}
}

// TestMainProcess runs the real main in a child process: a bad setting exits
// 1 with exactly one line on stderr and nothing on stdout.
func TestMainProcess(t *testing.T) {
	if os.Getenv("ARROPS_HANDLER_RUN_MAIN") == "1" {
		main()
		return
	}
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	env := handlerEnv(freePort(t))
	env["SHUTDOWN_TIME_ZONE"] = "Nowhere/Special"
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = []string{"ARROPS_HANDLER_RUN_MAIN=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "handler: setting SHUTDOWN_TIME_ZONE:") {
		t.Errorf("stderr %q: want one line naming SHUTDOWN_TIME_ZONE", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q", stdout.String())
	}
}
