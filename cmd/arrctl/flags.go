package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// newFlags returns a flag set for a subcommand whose errors are returned, not
// printed, so they become one usage line.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("arrctl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args allowing flags after positional arguments
// (`arrctl stop ID --timeout 1m`), and checks the positional count. On -h
// it prints the subcommand's usage to stdout.
func parseFlags(e *env, fs *flag.FlagSet, args []string, synopsis string, positional int) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			var b bytes.Buffer
			fmt.Fprintf(&b, "Usage: arrctl %s\n\nFlags:\n", synopsis)
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			e.stdout.Write(b.Bytes())
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		if positional == 0 {
			return nil, usagef("%s: unexpected argument %q (usage: arrctl %s)", fs.Name(), pos[0], synopsis)
		}
		return nil, usagef("%s: want %d argument(s), got %d (usage: arrctl %s)", fs.Name(), positional, len(pos), synopsis)
	}
	return pos, nil
}

// tagsFlag collects repeated --tag k=v.
type tagsFlag map[string]string

func (t tagsFlag) String() string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+t[k])
	}
	return strings.Join(parts, ",")
}

func (t tagsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	if _, dup := t[k]; dup {
		return fmt.Errorf("tag %q given twice", k)
	}
	t[k] = v
	return nil
}

// positiveDuration rejects zero and negative durations for timeouts and
// intervals.
func positiveDuration(name string, d time.Duration) error {
	if d <= 0 {
		return usagef("--%s %s must be positive", name, d)
	}
	return nil
}

const dateLayout = "2006-01-02"

// dateRange parses --from/--to (inclusive UTC dates). Defaults: to = today,
// from = days-1 before to.
func dateRange(from, to string, now time.Time, days int) (start, end time.Time, err error) {
	today := now.UTC().Truncate(24 * time.Hour)
	end = today
	if to != "" {
		if end, err = time.Parse(dateLayout, to); err != nil {
			return start, end, usagef("--to %q is not a date YYYY-MM-DD", to)
		}
	}
	start = end.AddDate(0, 0, -(days - 1))
	if from != "" {
		if start, err = time.Parse(dateLayout, from); err != nil {
			return start, end, usagef("--from %q is not a date YYYY-MM-DD", from)
		}
	}
	if end.Before(start) {
		return start, end, usagef("--to %s is before --from %s", end.Format(dateLayout), start.Format(dateLayout))
	}
	if n := int(end.Sub(start).Hours()/24) + 1; n > 366 {
		return start, end, usagef("--from..--to spans %d days; at most 366 are allowed", n)
	}
	// The store's day ranges are half-open: [start, end+1 day).
	return start, end.AddDate(0, 0, 1), nil
}
