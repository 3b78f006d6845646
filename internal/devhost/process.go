package devhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcessConfig describes how to run the custom handler.
type ProcessConfig struct {
	Path string
	Args []string
	Dir  string
	// Env is the complete environment of the handler, without
	// FUNCTIONS_CUSTOMHANDLER_PORT, which the supervisor adds per start.
	Env []string
	// Output receives the handler's stdout and stderr, and the Logs of its
	// 2xx replies, one prefixed line at a time (see handlerLine).
	Output io.Writer
	Logger *slog.Logger
	// StartTimeout bounds the wait for the handler's first HTTP answer.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between restarts after a crash.
	MinBackoff, MaxBackoff time.Duration
}

// Supervisor runs the custom handler like the Functions host: it picks a free
// port, waits until GET / answers, and restarts the process when it exits or
// when Kill is called (function timeout).
type Supervisor struct {
	cfg ProcessConfig

	mu      sync.Mutex
	base    string        // http://127.0.0.1:port of the ready instance
	ready   chan struct{} // closed when the current instance answers
	cmd     *exec.Cmd
	starts  int
	stopped bool
}

// NewSupervisor returns a supervisor; Run starts the handler.
func NewSupervisor(cfg ProcessConfig) *Supervisor {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return &Supervisor{cfg: cfg, ready: make(chan struct{})}
}

// Starts returns how many times the handler process was started.
func (s *Supervisor) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// Ready waits until a handler instance answers and returns its base URL.
func (s *Supervisor) Ready(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		ready, stopped := s.ready, s.stopped
		s.mu.Unlock()
		if stopped {
			return "", errors.New("handler stopped")
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-ready:
		}
		s.mu.Lock()
		base := s.base
		s.mu.Unlock()
		if base != "" {
			return base, nil
		}
	}
}

// Kill ends the current handler process (SIGKILL); Run starts a new one. The host
// does this when an invocation exceeds functionTimeout.
func (s *Supervisor) Kill(reason string) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		s.cfg.Logger.Warn("killing handler", "reason", reason, "pid", cmd.Process.Pid)
		_ = cmd.Process.Kill()
	}
}

// Run starts the handler and keeps it running until ctx ends, then stops it
// (interrupt, then kill after 5 s). It fails only when the first start cannot
// exec the handler at all (missing or not executable), which a restart would not
// fix.
func (s *Supervisor) Run(ctx context.Context) error {
	backoff := s.cfg.MinBackoff
	for first := true; ; first = false {
		started := time.Now()
		err := s.runOnce(ctx)
		if ctx.Err() != nil {
			s.mu.Lock()
			s.stopped = true
			close(s.ready) // wake waiters; they see stopped
			s.ready = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		var execErr *exec.Error
		if first && (errors.As(err, &execErr) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission)) {
			return fmt.Errorf("start handler %s: %w", s.cfg.Path, err)
		}
		if time.Since(started) > 30*time.Second {
			backoff = s.cfg.MinBackoff // it ran for a while: a fresh crash, not a crash loop
		}
		s.cfg.Logger.Warn("handler exited; restarting", "err", err, "backoff", backoff.String())
		select {
		case <-ctx.Done():
			continue // handled at the top of the loop
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// runOnce runs one handler process until it exits or ctx ends.
func (s *Supervisor) runOnce(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(s.cfg.Path, s.cfg.Args...)
	cmd.Dir = s.cfg.Dir
	cmd.Env = append(append([]string(nil), s.cfg.Env...), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.mu.Lock()
	s.cmd = cmd
	s.starts++
	s.mu.Unlock()
	var copying sync.WaitGroup
	copying.Add(2)
	go s.forward(&copying, stdout, handlerLine)
	go s.forward(&copying, stderr, func(line string) string { return stderrPrefix + line })
	exited := make(chan error, 1)
	go func() {
		copying.Wait() // Wait closes the pipes: read them to the end first
		exited <- cmd.Wait()
	}()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	probeCtx, cancelProbe := context.WithTimeout(ctx, s.cfg.StartTimeout)
	probeDone := make(chan error, 1)
	go func() { probeDone <- probe(probeCtx, base) }()

	var result error
	select {
	case err := <-probeDone:
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Error("handler did not answer GET / in time", "timeout", s.cfg.StartTimeout.String())
			}
			_ = cmd.Process.Kill()
			cancelProbe()
			result = <-exited
			if result == nil {
				result = err
			}
			break
		}
		cancelProbe()
		s.cfg.Logger.Info("handler ready", "pid", cmd.Process.Pid, "port", port,
			"startup_ms", time.Since(start).Milliseconds())
		s.mu.Lock()
		s.base = base
		close(s.ready)
		s.mu.Unlock()
		select {
		case result = <-exited:
		case <-ctx.Done():
			result = s.stop(cmd, exited)
		}
	case result = <-exited:
		cancelProbe()
		<-probeDone
	}
	s.mu.Lock()
	s.base = ""
	s.cmd = nil
	select {
	case <-s.ready:
		s.ready = make(chan struct{})
	default:
	}
	s.mu.Unlock()
	if result == nil {
		result = errors.New("handler exited with status 0")
	}
	return result
}

// stop interrupts the handler and kills it if it has not exited after 5 s.
func (s *Supervisor) stop(cmd *exec.Cmd, exited <-chan error) error {
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		_ = cmd.Process.Kill()
	}
	select {
	case err := <-exited:
		return err
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		return <-exited
	}
}

func (s *Supervisor) forward(wg *sync.WaitGroup, r io.Reader, render func(line string) string) {
	defer wg.Done()
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		// A line longer than the buffer is forwarded in pieces, each prefixed,
		// rather than dropped or allowed to stall the handler's pipe.
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			line := strings.TrimRight(string(chunk), "\r\n")
			_, _ = io.WriteString(s.cfg.Output, render(line)+"\n")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// probe polls GET / until the handler answers with any HTTP status.
func probe(ctx context.Context, base string) error {
	client := &http.Client{Timeout: time.Second}
	delay := 5 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("handler not answering on %s: %w", base, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick handler port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lockedWriter serializes writes from slog and the output forwarders so lines
// never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// handlerLog prints one line of a reply's Logs as forward prints stdout.
func (s *Supervisor) handlerLog(line string) {
	_, _ = io.WriteString(s.cfg.Output, handlerLine(line)+"\n")
}
