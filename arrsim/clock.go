package arrsim

import (
	"sync/atomic"
	"time"
)

// simClock maps the base clock onto simulated time running speed times
// faster, starting at the base time of creation, plus explicit advances.
type simClock struct {
	base   func() time.Time
	start  time.Time
	speed  float64
	offset atomic.Int64 // nanoseconds added by Advance
}

func newSimClock(base func() time.Time, speed float64) *simClock {
	return &simClock{base: base, start: base(), speed: speed}
}

// Now returns the simulated time.
func (c *simClock) Now() time.Time {
	elapsed := c.base().Sub(c.start)
	return c.start.Add(time.Duration(float64(elapsed)*c.speed) + time.Duration(c.offset.Load()))
}

// Advance jumps simulated time forward by d.
func (c *simClock) Advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}

// realUntil converts a simulated instant into a wait on the base clock.
func (c *simClock) realUntil(t time.Time) time.Duration {
	d := t.Sub(c.Now())
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) / c.speed)
}
