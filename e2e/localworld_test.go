package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/modroot"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// TestLocalWorld runs what `make run` runs (the cmd/localstack binary, on
// free ports, with a data folder and a local.settings.json) and uses it as
// a newcomer would: models are uploaded with the plain Azure SDK, nothing
// else. A .glb converts (Succeeded record, .arrAsset in arr-output), an
// empty .fbx is Rejected (EmptyBlob), a .txt leads to nothing (the
// subscription's filter), a re-upload is a second conversion. Mid-way the
// stack is stopped with SIGINT (exit status 0) and started again: nothing
// is announced twice and the running session is still Ready. The rates and
// currency set only in local.settings.json reach the handler's report.
func TestLocalWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	if _, err := azurite.FindBin(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("azurite is not installed (npm ci): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildLocalstack(ctx, t)
	dir := t.TempDir()
	settings := filepath.Join(dir, "local.settings.json")
	writeJSON(t, settings, map[string]any{"IsEncrypted": false, "Values": map[string]string{
		"ARR_CURRENCY": "EUR", "ARR_RATE_STANDARD_PER_HOUR": "2.5", "ARR_RATE_PREMIUM_PER_HOUR": "7.5",
		"WATCH_SCHEDULE": "*/1 * * * * *",
	}})
	var ports []string
	for _, p := range secretFreePorts(t, 5) {
		ports = append(ports, strconv.Itoa(p))
	}
	ls := &localstack{t: t, ctx: ctx, bin: bin, logs: &syncbuf.Buffer{}, args: []string{
		"-bin", bin, "-data", filepath.Join(dir, "data"), "-settings", settings,
		"-sim-port", ports[0], "-devhost-port", ports[1], "-blob-port", ports[2], "-queue-port", ports[3], "-table-port", ports[4],
		"-ready-after", "1s", "-conversion-after", "2s"}}
	ls.devhost = "http://127.0.0.1:" + ports[1]
	defer func() {
		ls.stop()
		if t.Failed() {
			t.Logf("make run output:\n%s", ls.logs.String())
		}
	}()
	began := time.Now()
	ls.start()
	t.Logf("make run start took %s", time.Since(began).Round(time.Millisecond))

	// Plain SDK clients on the well-known Azurite account.
	cs := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%[3]s/%[1]s;QueueEndpoint=http://127.0.0.1:%[4]s/%[1]s;TableEndpoint=http://127.0.0.1:%[5]s/%[1]s;",
		azurite.AccountName, azurite.AccountKey, ports[2], ports[3], ports[4])
	blobs, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	records, err := store.NewFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	upload := func(name string, data []byte) string {
		t.Helper()
		r, err := blobs.UploadBuffer(ctx, "arr-input", name, data, nil)
		if err != nil {
			t.Fatalf("upload %s (the container must exist after make run): %v", name, err)
		}
		return strings.Trim(string(*r.ETag), `"`)
	}
	conversions := func() map[string]*arrops.Conversion { // by path@eTag
		out := map[string]*arrops.Conversion{}
		now := time.Now().UTC()
		for c, err := range records.ConversionsByDay(ctx, now.Add(-24*time.Hour), now.Add(time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			out[c.InputPath+"@"+c.InputETag] = c
		}
		return out
	}
	// waitConversion waits for the record of key with status want ("": any).
	waitConversion := func(key string, want arrops.ConversionStatus) *arrops.Conversion {
		t.Helper()
		var c *arrops.Conversion
		eventually(t, ctx, 30*time.Second, "conversion "+key+" "+string(want), func() error {
			if c = conversions()[key]; c == nil || want != "" && c.Status != want {
				return fmt.Errorf("record %+v", c)
			}
			return nil
		})
		return c
	}

	// A session, started the way another app would (arr-commands).
	qs, err := azqueue.NewServiceClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := notify.NewLocal(qs).Publish(ctx, config.CommandsQueue, notify.Message{MessageID: "localworld-start-1",
		Body: []byte(`{"action":"start","sessionId":"localworld-1","size":"Standard","maxLeaseTimeMinutes":60,"requestedBy":"newcomer"}`)}); err != nil {
		t.Fatal(err)
	}
	sessionReady := func(what string) {
		t.Helper()
		eventually(t, ctx, 30*time.Second, what, func() error {
			s, err := records.GetSession(ctx, "localworld-1")
			if err != nil {
				return err
			}
			if s.Status != arrops.SessionReady {
				return fmt.Errorf("status %s %s", s.Status, s.ErrorMessage)
			}
			return nil
		})
	}
	sessionReady("session Ready")

	glb1 := upload("plant/model.glb", functest.SampleGLB)
	empty := upload("plant/empty.fbx", nil)
	upload("plant/notes.txt", []byte("not a model"))
	waitConversion("plant/empty.fbx@"+empty, arrops.ConversionRejected)
	if c := conversions()["plant/empty.fbx@"+empty]; c.ErrorCode != "EmptyBlob" {
		t.Errorf("empty upload: %+v", c)
	}
	// Restart while the conversion of model.glb may still run at ARR (once
	// ARR has it: an invocation cut off before ARR answered is redelivered
	// only after the queue's 30 s visibility timeout, a wait this test skips).
	eventually(t, ctx, 30*time.Second, "ARR has the conversion of model.glb", func() error {
		if c := conversions()["plant/model.glb@"+glb1]; c == nil || c.Status == arrops.ConversionRequested {
			return fmt.Errorf("record %+v", c)
		}
		return nil
	})
	began = time.Now()
	ls.stop()
	ls.start()
	t.Logf("restart (Ctrl-C, make run again) took %s", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(ls.logs.String(), `msg="arrsim state restored"`) {
		t.Error("the simulator did not restore its state")
	}
	sessionReady("session still Ready after the restart")

	c1 := waitConversion("plant/model.glb@"+glb1, arrops.ConversionSucceeded)
	began = time.Now()
	glb2 := upload("plant/model.glb", functest.SampleGLB) // the same bytes again
	waitConversion("plant/model.glb@"+glb2, "")
	t.Logf("upload to conversion record took %s", time.Since(began).Round(time.Millisecond))
	c2 := waitConversion("plant/model.glb@"+glb2, arrops.ConversionSucceeded)
	t.Logf("upload to Succeeded took %s (conversion-after 2s, watch every second)", time.Since(began).Round(time.Millisecond))
	if c1.ID == c2.ID || glb1 == glb2 {
		t.Errorf("a re-upload is a new conversion: %s/%s, %s/%s", c1.ID, glb1, c2.ID, glb2)
	}
	out, err := blobs.DownloadStream(ctx, "arr-output", "plant/model.arrAsset", nil)
	if err != nil {
		t.Fatalf("the .arrAsset is not in arr-output: %v", err)
	}
	out.Body.Close()
	all := conversions()
	for k := range all {
		if strings.HasSuffix(strings.SplitN(k, "@", 2)[0], ".txt") {
			t.Errorf("a .txt upload led to conversion %s: the subscription filters it", k)
		}
	}
	if len(all) != 3 {
		t.Errorf("%d conversion records, want 3 (two versions of model.glb, empty.fbx): %v", len(all), keys(all))
	}
	// Each blob version was announced exactly once over both runs.
	for _, v := range []string{glb1, empty, glb2} {
		if n := strings.Count(ls.logs.String(), "eTag="+v); n != 1 {
			t.Errorf("version %s announced %d times, want once", v, n)
		}
	}
	if n := strings.Count(ls.logs.String(), "BlobCreated announced"); n != 3 {
		t.Errorf("%d BlobCreated events over both runs, want 3", n)
	}

	// Many watch sweeps after the restart, the session is still Ready: the
	// simulator kept it (a forgetful one makes watch record Error).
	if s, err := records.GetSession(ctx, "localworld-1"); err != nil || s.Status != arrops.SessionReady {
		t.Errorf("session after the restart and %s of watch sweeps: %+v, %v", time.Since(began).Round(time.Second), s, err)
	}

	// Settings only in local.settings.json reach the handler.
	var report struct {
		RatesConfigured bool               `json:"ratesConfigured"`
		Currency        string             `json:"currency"`
		RatesPerHour    map[string]float64 `json:"ratesPerHour"`
	}
	getJSON(t, ctx, ls.devhost+"/api/report?format=json", &report)
	if !report.RatesConfigured || report.Currency != "EUR" || report.RatesPerHour["Standard"] != 2.5 {
		t.Errorf("report %+v, want the EUR rates of local.settings.json", report)
	}
}

// localstack is the `make run` program under test.
type localstack struct {
	t       *testing.T
	ctx     context.Context
	bin     string
	args    []string
	logs    *syncbuf.Buffer
	devhost string
	cmd     *exec.Cmd
	done    chan error
}

func (l *localstack) start() {
	l.t.Helper()
	root, err := modroot.Dir()
	if err != nil {
		l.t.Fatal(err)
	}
	runs := strings.Count(l.logs.String(), "Press Ctrl-C")
	l.cmd = exec.Command(filepath.Join(l.bin, "localstack"), l.args...)
	l.cmd.Dir = root
	l.cmd.Stdout, l.cmd.Stderr = l.logs, l.logs
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := l.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	cmd, done := l.cmd, make(chan error, 1)
	l.done = done
	go func() { done <- cmd.Wait() }()
	eventually(l.t, l.ctx, 60*time.Second, "make run ready", func() error {
		select {
		case err := <-l.done:
			l.done <- err
			l.t.Fatalf("localstack exited: %v", err)
		default:
		}
		if strings.Count(l.logs.String(), "Press Ctrl-C") == runs {
			return errors.New("not started")
		}
		return nil
	})
}

// stop sends SIGINT (Ctrl-C) and expects exit status 0.
func (l *localstack) stop() {
	l.t.Helper()
	if l.cmd == nil {
		return
	}
	cmd := l.cmd
	l.cmd = nil
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-l.done:
		if err != nil {
			l.t.Errorf("Ctrl-C: localstack exited with %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		l.t.Errorf("localstack did not stop within 30 s of Ctrl-C")
	}
}

// buildLocalstack builds the stack's binaries and cmd/localstack into one
// folder, as make build does into bin/.
func buildLocalstack(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin, err := stack.BuildOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin+string(os.PathSeparator), "./cmd/localstack")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/localstack: %v\n%s", err, out)
	}
	return bin
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, ctx context.Context, url string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("x-functions-key", devhost.DevFunctionKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}

// eventually polls check every 100 ms until it returns nil.
func eventually(t *testing.T, ctx context.Context, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
