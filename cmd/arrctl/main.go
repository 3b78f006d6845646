package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/arrops/arrops/config"
)

// Exit codes (documented in the package doc and in `arrctl -h`).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitRejected = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line; it exits with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// rejectedError is a command that arrops answered with outcome "rejected";
// it exits with 3.
type rejectedError struct{ msg string }

func (e *rejectedError) Error() string { return e.msg }

const usageText = `arrctl operates arrops: session commands, records, usage report.

Usage:
  arrctl [--settings FILE] <command> [flags]

Commands:
  start        start a session and wait until it is Ready; prints hostname and ports
  stop ID      stop a session
  extend ID    extend a session's lease (--lease MIN)
  reserve      reserve a session Ready at --at TIME; prints the session id
  sessions     list session records, newest first
  conversions  list conversion records, newest first
  report       usage and cost totals (same numbers as GET /api/report)
  watch ID     print each status change of a session until it ends or Ctrl-C
  upload FILE  upload a model into the input container and follow its conversion
  audit        list the command audit rows (one per delivery), newest first
  events       print session and conversion events (--follow to keep reading)
  send FILE|-  send a raw command body to arr-commands and print the reply

Settings are read from the environment, then from the Values of
local.settings.json: the one in this folder or the nearest folder above it
inside the checkout, or --settings FILE. Run "arrctl <command> -h" for its flags.

Exit codes:
  0  success
  1  operational failure (timeout, storage, ARR or messaging error)
  2  usage error (unknown command, bad flag or value, invalid settings)
  3  command rejected by arrops (upload: the upload was rejected)
`

// env is what a subcommand runs with: streams, settings and the ways to reach
// storage and the bus. Tests replace nothing here but the settings: the
// end-to-end test runs arrctl against the real local stack.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	settingsPath   string
	now            func() time.Time
	// tty reports whether stderr is a terminal (spinner instead of lines).
	tty bool
}

// config loads and validates the settings. Errors name the setting and exit 2.
func (e *env) config() (*config.Config, error) {
	getenv, err := config.WithLocalSettings(e.settingsPath, e.getenv)
	if err != nil {
		return nil, usagef("settings: %v", err)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, usagef("%v (from the environment or %s)", err, e.settingsPath)
	}
	return cfg, nil
}

type subcommand struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

func subcommands() []subcommand {
	return []subcommand{
		{"start", runStart},
		{"stop", runStop},
		{"extend", runExtend},
		{"reserve", runReserve},
		{"sessions", runSessions},
		{"conversions", runConversions},
		{"report", runReport},
		{"watch", runWatch},
		{"upload", runUpload},
		{"audit", runAudit},
		{"events", runEvents},
		{"send", runSend},
	}
}

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, stdin: stdin, getenv: getenv, now: time.Now, tty: isTerminal(stderr)}
	fs := flag.NewFlagSet("arrctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.settingsPath, "settings", settingsName, "settings file to read after the environment (default: the local.settings.json of this folder or the nearest one above it in the checkout)")
	if len(args) == 0 {
		args = []string{"arrctl"}
	}
	err := fs.Parse(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		return fail(stderr, usagef("%v", err))
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "settings" })
	if !explicit {
		if wd, err := os.Getwd(); err == nil {
			e.settingsPath = findSettings(wd)
		}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	for _, c := range subcommands() {
		if c.name == rest[0] {
			return fail(stderr, c.run(ctx, e, rest[1:]))
		}
	}
	return fail(stderr, usagef("unknown command %q (want start, stop, extend, sessions, conversions, report, watch, upload, audit, events or send; see arrctl -h)", rest[0]))
}

// fail prints err as one line on stderr and returns its exit code.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var re *rejectedError
	code := exitFailure
	switch {
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &re):
		code = exitRejected
	case errors.Is(err, errHelpShown):
		return exitOK
	}
	fmt.Fprintln(stderr, "arrctl: "+describe(err))
	return code
}

// errHelpShown ends a subcommand after it printed its -h text.
var errHelpShown = errors.New("help shown")

// describe renders err on one line. azcore's ResponseError spans a dozen
// lines (request, headers, body); it is shortened to status and error code.
func describe(err error) string {
	s := err.Error()
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		short := fmt.Sprintf("HTTP %d", re.StatusCode)
		if re.ErrorCode != "" {
			short += " " + re.ErrorCode
		}
		if re.RawResponse != nil && re.RawResponse.Request != nil {
			u := *re.RawResponse.Request.URL
			u.RawQuery = "" // may hold a SAS
			short = re.RawResponse.Request.Method + " " + u.String() + ": " + short
		}
		s = strings.Replace(s, re.Error(), short, 1)
	}
	return strings.Join(strings.Fields(s), " ")
}

// isTerminal reports whether w is a character device (a terminal), without
// a dependency on x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
