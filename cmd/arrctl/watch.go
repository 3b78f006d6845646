package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrops/arrops"
)

func runWatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags("watch")
	interval := fs.Duration("interval", 2*time.Second, "how often to read the record")
	pos, err := parseFlags(e, fs, args, "watch ID [--interval 2s]", 1)
	if err != nil {
		return err
	}
	id := pos[0]
	if err := arrops.ValidateID(id); err != nil {
		return usagef("watch: session id: %s", arrops.ErrorMessage(err))
	}
	if err := positiveDuration("interval", *interval); err != nil {
		return err
	}
	recs, err := e.records(ctx)
	if err != nil {
		return err
	}
	w := &watcher{out: e.stdout}
	for {
		s, err := recs.GetSession(ctx, id)
		if ctx.Err() != nil {
			return nil // Ctrl-C: a normal way to stop watching
		}
		if arrops.ErrorCode(err) == arrops.ENOTFOUND {
			return fmt.Errorf("watch: session %s has no record (not started by arrops and not adopted yet?)", id)
		}
		if err != nil {
			return fmt.Errorf("watch: read session %s: %w", id, err)
		}
		w.observe(s, e.now())
		if s.Status.Terminal() {
			if s.Status == arrops.SessionError {
				return errors.New("watch: session " + id + " ended in Error")
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

// watcher prints one line per change of a session's visible state.
type watcher struct {
	out    interface{ Write([]byte) (int, error) }
	last   string
	header bool
}

const watchLine = "%-19s  %-8s  %-40s  %s\n"

func (w *watcher) observe(s *arrops.Session, now time.Time) {
	reason := s.StopReason
	if s.ErrorCode != "" || s.ErrorMessage != "" {
		reason = s.ErrorCode + " " + s.ErrorMessage
	}
	key := string(s.Status) + "\x00" + s.Hostname + "\x00" + reason
	if key == w.last {
		return
	}
	w.last = key
	if !w.header {
		fmt.Fprintf(w.out, watchLine, "TIME (UTC)", "STATUS", "HOSTNAME", "REASON")
		w.header = true
	}
	fmt.Fprintf(w.out, watchLine, tableTime(transitionTime(s, now)), s.Status, dash(text(s.Hostname)), dash(text(reason)))
}

// transitionTime is when the record says the current status began; now when
// it does not say.
func transitionTime(s *arrops.Session, now time.Time) time.Time {
	var t time.Time
	switch {
	case s.Status.Terminal():
		t = s.StoppedAt
	case s.Status == arrops.SessionReady:
		t = s.ReadyAt
	case s.Status == arrops.SessionStarting, s.Status == arrops.SessionRequested:
		t = s.CreatedAt
	}
	if t.IsZero() {
		return now
	}
	return t
}
