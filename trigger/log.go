package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// Limits of an InvocationLog when NewInvocationLog is given zero: the host
// keeps Logs in memory and writes each entry as a log line, so a runaway
// loop must not turn into a huge reply.
const (
	DefaultMaxLogLines     = 200
	DefaultMaxLogLineBytes = 4096
)

// InvocationLog routes the log lines of one invocation so that each reaches
// the host exactly once: it collects them for Response.Logs, which the host
// writes to the invocation's log (as Information) only when the reply is
// 2xx. End it with Lines for a 2xx reply or with Flush for any other (or
// earlier, for an invocation that may not live to reply).
//
// It is an io.Writer taking one line per Write, safe for concurrent use, and
// bounded: a line past maxLines, a line longer than maxLineBytes, and every
// line written after Lines or Flush (by work the invocation left running) go
// to stdout at once, whole, instead of being cut or dropped.
type InvocationLog struct {
	stdout       io.Writer
	mu           sync.Mutex
	lines        []string
	overflow     int
	done         bool
	maxLines     int
	maxLineBytes int
}

// NewInvocationLog returns a log keeping at most maxLines lines of at most
// maxLineBytes bytes each for Response.Logs and passing the rest to stdout
// (nil: io.Discard); zero or negative limits select the defaults.
func NewInvocationLog(stdout io.Writer, maxLines, maxLineBytes int) *InvocationLog {
	if stdout == nil {
		stdout = io.Discard
	}
	if maxLines <= 0 {
		maxLines = DefaultMaxLogLines
	}
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLogLineBytes
	}
	return &InvocationLog{stdout: stdout, maxLines: maxLines, maxLineBytes: maxLineBytes}
}

// Write takes p as one line (a trailing newline is optional).
func (l *InvocationLog) Write(p []byte) (int, error) {
	line := p
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || len(l.lines) >= l.maxLines || len(line) > l.maxLineBytes {
		if !l.done {
			l.overflow++
		}
		// Written under the lock so that Flush keeps the lines in order.
		if _, err := l.stdout.Write(append(line[:len(line):len(line)], '\n')); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	l.lines = append(l.lines, string(line))
	return len(p), nil
}

// Lines ends the collection and returns the collected lines for the Logs of
// a 2xx reply, followed by a note when some went to stdout instead.
func (l *InvocationLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	out := l.lines
	l.lines = nil
	if l.overflow > 0 {
		b, _ := json.Marshal(map[string]any{"level": slog.LevelWarn.String(), "msg": fmt.Sprintf(
			"trigger: %d log lines of this invocation went to stdout (limit %d lines of %d bytes)",
			l.overflow, l.maxLines, l.maxLineBytes)})
		out = append(out, string(b))
	}
	return out
}

// Flush ends the collection and writes the collected lines to stdout, for a
// non-2xx reply: the host drops the Logs of a failed invocation.
func (l *InvocationLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	var errs []error
	for _, line := range l.lines {
		if _, err := io.WriteString(l.stdout, line+"\n"); err != nil {
			errs = append(errs, err)
		}
	}
	l.lines = nil
	return errors.Join(errs...)
}

// NewLogHandler returns the one log format of the handler: a JSON line per
// record, carrying "time" and "level", written to w, which is stdout (the
// host logs handler stdout as Information) or an invocation's InvocationLog.
// Never stderr, which the host logs as Error.
func NewLogHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	return slog.NewJSONHandler(w, opts)
}

// NewLogger is slog.New(NewLogHandler(w, opts)).
func NewLogger(w io.Writer, opts *slog.HandlerOptions) *slog.Logger {
	return slog.New(NewLogHandler(w, opts))
}
