package devhost

import (
	"context"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// timerFunc is one timerTrigger function with its schedule status: in blob
// storage like the host when AzureWebJobsStorage is set, else in memory.
type timerFunc struct {
	fn      *Function
	sched   Schedule
	monitor bool

	run    sync.Mutex // one invocation at a time, as the host's singleton lock
	mu     sync.Mutex
	status TimerStatus
}

func newTimerFunc(fn *Function, now time.Time) (*timerFunc, error) {
	s, err := ParseSchedule(fn.Trigger.Schedule)
	if err != nil {
		return nil, err
	}
	t := &timerFunc{fn: fn, sched: s, monitor: !s.SubMinute()}
	if fn.Trigger.UseMonitor != nil {
		t.monitor = *fn.Trigger.UseMonitor
	}
	// No stored status yet: Last is DateTime.MinValue, Next the coming occurrence.
	t.status = TimerStatus{Next: s.Next(now)}
	return t, nil
}

// fire invokes the function once. Scheduled ticks that find a run still going
// are skipped; other calls (admin, start-up) wait for it.
func (t *timerFunc) fire(ctx context.Context, h *Host, scheduled, pastDue bool) error {
	if scheduled {
		if !t.run.TryLock() {
			h.log.Warn("timer tick skipped: previous run still going", "function", t.fn.Name)
			return nil
		}
	} else {
		t.run.Lock()
	}
	defer t.run.Unlock()
	now := h.now().In(h.loc)
	var status *TimerStatus
	if t.monitor {
		t.mu.Lock()
		st := t.status
		t.mu.Unlock()
		status = &st
	}
	payload, err := TimerPayload(t.fn.Name, t.fn.Trigger.Name, status, pastDue, now, NewUUID())
	if err != nil {
		return err
	}
	_, err = h.invokeWithOutputs(ctx, t.fn, "timer", payload)
	// The host records the run whatever its outcome: a failed timer run is not
	// retried, the next occurrence comes.
	next := TimerStatus{Last: now, Next: t.sched.Next(h.now().In(h.loc)), LastUpdated: now}
	t.mu.Lock()
	t.status = next
	t.mu.Unlock()
	if t.monitor && h.statuses != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if serr := h.statuses.save(sctx, t.fn.Name, next); serr != nil {
			h.log.Warn("cannot store timer status", "function", t.fn.Name, "err", serr.Error())
		}
	}
	return err
}

// restore loads the stored status and reports whether an occurrence was missed
// while devhost was not running (the host then runs the function at once with
// IsPastDue true).
func (t *timerFunc) restore(ctx context.Context, h *Host) bool {
	if !t.monitor || h.statuses == nil {
		return false
	}
	now := h.now().In(h.loc)
	st, err := h.statuses.load(ctx, t.fn.Name)
	if err != nil {
		h.log.Warn("cannot read timer status; starting without", "function", t.fn.Name, "err", err.Error())
		return false
	}
	if st == nil {
		return false // keep the initial status; it is stored after the first run
	}
	t.mu.Lock()
	t.status = *st
	t.mu.Unlock()
	return now.After(st.Next)
}

func (h *Host) startTimers(ctx context.Context, wg *sync.WaitGroup) {
	c := cron.New(cron.WithLocation(h.loc))
	for _, t := range h.timers {
		c.Schedule(t.sched.Schedule, cron.FuncJob(func() {
			if ctx.Err() == nil {
				_ = t.fire(ctx, h, true, false)
			}
		}))
	}
	for _, t := range h.timers {
		pastDue := t.restore(ctx, h)
		if pastDue || t.fn.Trigger.RunOnStartup {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if pastDue {
					h.log.Info("timer past due: running now", "function", t.fn.Name)
				}
				_ = t.fire(ctx, h, false, pastDue)
			}()
		}
	}
	c.Start()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		<-c.Stop().Done() // wait for running jobs
	}()
}
