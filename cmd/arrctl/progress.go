package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows what a waiting command is doing on stderr. On a terminal it
// redraws one line: a spinner, the elapsed time and the last status. Anywhere
// else (CI logs, pipes) it prints one plain line per status change, so logs
// stay readable and carry no control characters.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	now   func() time.Time

	mu     sync.Mutex
	status string
	frame  int
	drawn  bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

var spinnerFrames = [...]string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinnerEvery is the redraw period of the spinner.
const spinnerEvery = 100 * time.Millisecond

func newProgress(w io.Writer, tty bool, now func() time.Time) *progress {
	p := &progress{w: w, tty: tty, now: now, start: now()}
	if tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

func (p *progress) spin() {
	defer close(p.done)
	t := time.NewTicker(spinnerEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			p.draw()
			p.mu.Unlock()
		}
	}
}

// Set records a new status; unchanged statuses print nothing in plain mode.
func (p *progress) Set(status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == p.status {
		return
	}
	p.status = status
	if p.tty {
		p.draw()
		return
	}
	fmt.Fprintf(p.w, "%s %s\n", elapsed(p.now().Sub(p.start)), status)
}

// draw writes the spinner line; callers hold mu.
func (p *progress) draw() {
	fmt.Fprintf(p.w, "\r%s %s %s\x1b[K", spinnerFrames[p.frame%len(spinnerFrames)], elapsed(p.now().Sub(p.start)), clipText(p.status, 100))
	p.drawn = true
}

// Done stops the spinner and clears its line, leaving the terminal clean for
// the result on stdout. Calling it again does nothing.
func (p *progress) Done() {
	if !p.tty {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.drawn {
			fmt.Fprint(p.w, "\r\x1b[K")
		}
	})
}

// elapsed formats a duration as the fixed-width [m]m:ss a person reads at a
// glance.
func elapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%2d:%02d", s/60, s%60)
}
