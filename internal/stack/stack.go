// Package stack starts the whole local system as real processes: Azurite, the
// ARR simulator (cmd/arrsim), and devhost (cmd/devhost) running the handler.
// `make run` uses it with fixed ports; the end-to-end tests, the load scenario
// and the benchmarks use it with free ports.
package stack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/modroot"
)

// Binaries are the programs the stack runs.
var Binaries = []string{"handler", "arrsim", "devhost"}

// Build compiles the stack's binaries into dir (go build, no race detector:
// the processes under test are the shipped ones).
func Build(ctx context.Context, dir string) error {
	root, err := modroot.Dir()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, b := range Binaries {
		if b == "handler" {
			args = append(args, "./handler")
		} else {
			args = append(args, "./cmd/"+b)
		}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// BuildOnce builds the binaries once per process into a temporary directory.
func BuildOnce(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "arrops-bin-")
		if buildErr == nil {
			buildErr = Build(ctx, buildDir)
		}
	})
	return buildDir, buildErr
}

// AccountID and AccountKey are the simulator's account for local runs: a
// made-up id and a throwaway key that only the local simulator accepts.
const (
	AccountID  = "11111111-2222-4333-8444-555555555555"
	AccountKey = "local-simulator-key-not-a-secret"
)

// Options configure Start.
type Options struct {
	// BinDir holds handler, arrsim and devhost; empty builds them (BuildOnce).
	BinDir string
	// Root holds host.json and functions/; default the module root.
	Root string
	// Ports: 0 picks free ones.
	SimPort, DevhostPort int
	AzuriteOptions       azurite.Options
	// Settings override or add app settings passed to the handler.
	Settings map[string]string
	// SimArgs are extra arrsim flags (e.g. -ready-after=2s -clock-speed=60).
	SimArgs []string
	// DevhostArgs are extra devhost flags.
	DevhostArgs []string
	// Log receives every process's output, prefixed with its name; nil discards.
	Log io.Writer
	// BlobEvents runs the stand-in for the Event Grid subscription
	// (internal/blobevents): uploads to the input container become
	// BlobCreated events on arr-blob-created. make run sets it; tests that
	// deliver their own events leave it off.
	BlobEvents bool
}

// Stack is a running local system.
type Stack struct {
	Azurite    *azurite.Instance
	SimURL     string
	DevhostURL string
	// Settings are the app settings the handler runs with.
	Settings map[string]string
	procs    []*exec.Cmd
	waits    []chan struct{}
	devhost  *exec.Cmd
	stopOnce sync.Once
	// azOpts are the options Azurite was started with (RestartAzurite).
	azOpts azurite.Options
	// stopEvents ends the blob event stand-in; eventsDone closes when it has.
	stopEvents context.CancelFunc
	eventsDone chan struct{}
}

// Start launches Azurite, the simulator and devhost (which starts the handler)
// and waits until all answer.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.BinDir == "" {
		if opts.BinDir, err = BuildOnce(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Root == "" {
		if opts.Root, err = modroot.Dir(); err != nil {
			return nil, err
		}
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	azOpts := opts.AzuriteOptions
	if azOpts.Log == nil && opts.Log != nil {
		azOpts.Log = prefixWriter(opts.Log, "azurite")
	}
	if s.Azurite, err = azurite.Start(ctx, azOpts); err != nil {
		return nil, err
	}
	s.azOpts = azOpts
	simPort, err := freePort(opts.SimPort)
	if err != nil {
		return nil, err
	}
	s.SimURL = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	simArgs := append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", simPort), "-account-id", AccountID, "-account-key", AccountKey}, opts.SimArgs...)
	if err := s.spawn(ctx, filepath.Join(opts.BinDir, "arrsim"), simArgs, nil, opts.Root, opts.Log, "arrsim"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, s.SimURL+"/_sim/stats", 30*time.Second); err != nil {
		return nil, fmt.Errorf("arrsim: %w", err)
	}
	s.Settings = map[string]string{
		"ARR_ACCOUNT_ID":      AccountID,
		"ARR_ACCOUNT_DOMAIN":  "eastus.mixedreality.azure.com",
		"ARR_ENDPOINT":        s.SimURL,
		"ARR_STS_ENDPOINT":    s.SimURL,
		"ARR_ACCOUNT_KEY":     AccountKey,
		"AzureWebJobsStorage": s.Azurite.ConnectionString(),
		"WATCH_SCHEDULE":      "*/10 * * * * *",
		"SHUTDOWN_SCHEDULE":   "*/15 * * * * *",
		"ARR_STORAGE_ACCESS":  "accountSas",
	}
	for k, v := range opts.Settings {
		s.Settings[k] = v
	}
	// Containers, queues and tables exist before anything uses them, as
	// the Bicep makes them exist in Azure.
	// On the account the handler uses (a test may give it another one).
	if err := LocalResources(s.Settings).Ensure(ctx, s.Settings["AzureWebJobsStorage"]); err != nil {
		return nil, fmt.Errorf("create the storage resources: %w", err)
	}
	if opts.BlobEvents {
		if err := s.startBlobEvents(ctx, opts.Log); err != nil {
			return nil, err
		}
	}
	devPort, err := freePort(opts.DevhostPort)
	if err != nil {
		return nil, err
	}
	s.DevhostURL = fmt.Sprintf("http://127.0.0.1:%d", devPort)
	devArgs := append([]string{"-root", opts.Root, "-handler", filepath.Join(opts.BinDir, "handler"),
		"-addr", fmt.Sprintf("127.0.0.1:%d", devPort), "-settings", os.DevNull}, opts.DevhostArgs...)
	if err := s.spawn(ctx, filepath.Join(opts.BinDir, "devhost"), devArgs, s.Settings, opts.Root, opts.Log, "devhost"); err != nil {
		return nil, err
	}
	s.devhost = s.procs[len(s.procs)-1]
	if err := waitHTTP(ctx, s.DevhostURL+"/", 60*time.Second); err != nil {
		return nil, fmt.Errorf("devhost: %w", err)
	}
	return s, nil
}

func (s *Stack) spawn(ctx context.Context, bin string, args []string, settings map[string]string, dir string, log io.Writer, name string) error {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if log == nil {
		log = io.Discard
	}
	w := prefixWriter(log, name)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.procs = append(s.procs, cmd)
	s.waits = append(s.waits, done)
	return nil
}

// Stop ends every process (devhost stops the handler) and Azurite.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		if s.stopEvents != nil {
			s.stopEvents()
			<-s.eventsDone
		}
		for i := len(s.procs) - 1; i >= 0; i-- {
			p := s.procs[i]
			syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
			select {
			case <-s.waits[i]:
			case <-time.After(10 * time.Second):
				syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
				<-s.waits[i]
			}
		}
		if s.Azurite != nil {
			s.Azurite.Stop()
		}
	})
}

// Done is closed when any stack process exits.
func (s *Stack) Done() <-chan struct{} {
	out := make(chan struct{})
	var once sync.Once
	for _, w := range s.waits {
		go func() { <-w; once.Do(func() { close(out) }) }()
	}
	go func() { <-s.Azurite.Done(); once.Do(func() { close(out) }) }()
	return out
}

// HandlerPID returns the process id of the handler that devhost runs now.
// It reads /proc (Linux): the handler is the child of devhost whose
// executable is named "handler". Between a crash and devhost's restart there
// is none, and HandlerPID returns an error.
func (s *Stack) HandlerPID() (int, error) {
	if s.devhost == nil || s.devhost.Process == nil {
		return 0, errors.New("devhost is not running")
	}
	parent := s.devhost.Process.Pid
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("find the handler process: %w", err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // it exited while we looked
		}
		if comm, ppid, ok := parseStat(stat); ok && ppid == parent && comm == "handler" {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("devhost (pid %d) runs no handler process now", parent)
}

// KillHandler SIGKILLs the handler process, as a crash or an out-of-memory
// kill would, and returns its pid. devhost restarts it; invocations in
// flight fail and their messages are delivered again.
func (s *Stack) KillHandler() (int, error) {
	pid, err := s.HandlerPID()
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill handler %d: %w", pid, err)
	}
	return pid, nil
}

// parseStat reads the command name and parent pid from /proc/<pid>/stat:
// "pid (comm) state ppid ...". comm may hold spaces and parentheses, so the
// fields after it are found from the last ')'.
func parseStat(b []byte) (comm string, ppid int, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return "", 0, false
	}
	return string(b[open+1 : end]), ppid, true
}

func freePort(p int) (int, error) {
	if p != 0 {
		return p, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			// devhost answers 503 until the handler it started is up.
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer at %s after %s: %w", url, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// prefixWriter writes each line as "name | line".
func prefixWriter(w io.Writer, name string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			fmt.Fprintf(w, "%-8s| %s\n", name, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return pw
}
