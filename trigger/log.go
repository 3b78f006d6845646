package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"
)

// Limits of an InvocationLog when NewInvocationLog is given zero: the host
// keeps Logs in memory and writes each line as a log entry, so a runaway loop
// must not turn into a huge reply.
const (
	DefaultMaxLogLines     = 200
	DefaultMaxLogLineBytes = 4096
)

// InvocationLog collects the lines returned in Response.Logs. It is an
// io.Writer taking one line per Write, safe for concurrent use, and bounded:
// lines past the limit are counted, not kept, and long lines are cut.
type InvocationLog struct {
	mu           sync.Mutex
	lines        []string
	dropped      int
	maxLines     int
	maxLineBytes int
}

// NewInvocationLog returns a log keeping at most maxLines lines of at most
// maxLineBytes bytes each; zero or negative values select the defaults.
func NewInvocationLog(maxLines, maxLineBytes int) *InvocationLog {
	if maxLines <= 0 {
		maxLines = DefaultMaxLogLines
	}
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLogLineBytes
	}
	return &InvocationLog{maxLines: maxLines, maxLineBytes: maxLineBytes}
}

// Write appends p as one line (a trailing newline is removed).
func (l *InvocationLog) Write(p []byte) (int, error) {
	n := len(p)
	line := strings.TrimRight(string(p), "\n")
	if len(line) > l.maxLineBytes {
		cut := l.maxLineBytes
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= l.maxLines {
		l.dropped++
		return n, nil
	}
	l.lines = append(l.lines, line)
	return n, nil
}

// Lines returns a copy of the collected lines, followed by a note of how many
// were dropped, if any. Use it for Response.Logs.
func (l *InvocationLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.lines), len(l.lines)+1)
	copy(out, l.lines)
	if l.dropped > 0 {
		out = append(out, fmt.Sprintf("trigger: %d more log lines dropped (limit %d)", l.dropped, l.maxLines))
	}
	return out
}

// NewLogHandler returns a slog.Handler writing each record both to stdout as
// a JSON line (the host logs handler stdout as Information) and to invLog as
// a text line without a timestamp (the host stamps Logs itself). Either may
// be nil. Nothing is ever written to stderr, which the host logs as Error.
func NewLogHandler(stdout io.Writer, invLog *InvocationLog, opts *slog.HandlerOptions) slog.Handler {
	var hs []slog.Handler
	if stdout != nil {
		hs = append(hs, slog.NewJSONHandler(stdout, opts))
	}
	if invLog != nil {
		var o slog.HandlerOptions
		if opts != nil {
			o = *opts
		}
		next := o.ReplaceAttr
		o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			if next != nil {
				return next(groups, a)
			}
			return a
		}
		hs = append(hs, slog.NewTextHandler(invLog, &o))
	}
	return teeHandler(hs)
}

// NewLogger is slog.New(NewLogHandler(stdout, invLog, opts)).
func NewLogger(stdout io.Writer, invLog *InvocationLog, opts *slog.HandlerOptions) *slog.Logger {
	return slog.New(NewLogHandler(stdout, invLog, opts))
}

type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, level) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
