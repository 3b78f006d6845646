package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/loadresult"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// replyArrivals collects CommandReply messages from queue by correlation id,
// stamped on arrival, until want have arrived or limit has passed.
func (s *system) replyArrivals(queue string, want int, limit time.Duration) map[string]struct {
	r   arrops.CommandReply
	got time.Time
} {
	s.pollFast()
	out := map[string]struct {
		r   arrops.CommandReply
		got time.Time
	}{}
	deadline := time.Now().Add(limit)
	for len(out) < want && time.Now().Before(deadline) {
		msgs, err := s.bus.Receive(s.ctx, queue, 32, time.Second)
		got := time.Now()
		if err != nil {
			s.t.Fatal(err)
		}
		for _, m := range msgs {
			var r arrops.CommandReply
			if m.Subject != "CommandReply" || json.Unmarshal(m.Body, &r) != nil {
				continue
			}
			out[m.CorrelationID] = struct {
				r   arrops.CommandReply
				got time.Time
			}{r, got}
		}
	}
	return out
}

func collect(c <-chan arrival) []arrival {
	var out []arrival
	for a := range c {
		out = append(out, a)
	}
	return out
}

func (s *system) poolReady(n int, limit time.Duration) {
	s.eventually(limit, fmt.Sprintf("%d Ready pool sessions", n), func() error {
		free := 0
		for _, x := range s.sessions() {
			if x.PoolFree() && x.Status == arrops.SessionReady {
				free++
			}
		}
		if free < n {
			return fmt.Errorf("%d Ready", free)
		}
		return nil
	})
}

// TestPoolLatency: during pool hours a start on the queue is answered with
// a hostname at once: 60 starts, one every 400 ms (the pool of 20 Standard
// refills faster than that), against cold starts ("pool": false) in the
// same run, which wait for the simulator's start time (5 s). The latency
// includes the local host's polling of the commands queue (100 ms, doubling
// while the queue is empty).
func TestPoolLatency(t *testing.T) {
	s := startSystem(t, stack.Options{
		SimArgs: []string{"-ready-after", "5s"},
		Settings: map[string]string{"POOL_STANDARD": "20", "POOL_HOURS": "00:00-00:00", "POOL_LEASE_MINUTES": "30",
			"WATCH_SCHEDULE": "*/5 * * * * *", "WATCH_FOLLOWUP_SECONDS": "1"},
	})
	s.fire("watch") // the timer maintains the pool; fire once instead of waiting
	s.poolReady(20, 60*time.Second)
	s.replyQueue("pool-replies")
	const warmN, coldN = 60, 10
	sent := map[string]time.Time{}
	for i := range coldN {
		id := fmt.Sprintf("cold-%d", i)
		sent[id] = time.Now()
		s.send(`{"action":"start","size":"Standard","pool":false,"requestedBy":"bench"}`, notify.Message{MessageID: id, ReplyTo: "cold-replies"})
	}
	colds := s.arrivals("cold-replies", coldN, 90*time.Second, arrops.EventSessionReady)
	warmReplies := make(chan map[string]struct {
		r   arrops.CommandReply
		got time.Time
	}, 1)
	var mu sync.Mutex
	go func() { warmReplies <- s.replyArrivals("pool-replies", warmN, 90*time.Second) }()
	for i := range warmN {
		id := fmt.Sprintf("warm-%d", i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		s.send(`{"action":"start","size":"Standard","requestedBy":"bench"}`, notify.Message{MessageID: id, ReplyTo: "pool-replies"})
		time.Sleep(400 * time.Millisecond) // the pacing of the scenario, not a wait for a result
	}
	replies := <-warmReplies
	mu.Lock()
	defer mu.Unlock()
	var warm []time.Duration
	cold := 0
	for id, a := range replies {
		if a.r.Pooled != nil && *a.r.Pooled && a.r.Session != nil && a.r.Session.Hostname != "" {
			warm = append(warm, a.got.Sub(sent[id]))
		} else {
			cold++
		}
	}
	var coldLat []time.Duration
	mu.Unlock()
	arrived := collect(colds)
	mu.Lock()
	for _, a := range arrived {
		coldLat = append(coldLat, a.got.Sub(sent[a.ev.SessionID]))
	}
	lw, lc := loadresult.Summarise(warm), loadresult.Summarise(coldLat)
	t.Logf("warm: %d of %d starts served from the pool, queue -> reply with hostname p50 %.0f ms p95 %.0f ms max %.0f ms", len(warm), len(replies), lw.P50Ms, lw.P95Ms, lw.MaxMs)
	t.Logf("cold: queue -> SessionReady p50 %.0f ms p95 %.0f ms (n=%d)", lc.P50Ms, lc.P95Ms, lc.N)
	writeTiming(t, func(r *loadresult.Timing) { r.PoolWarm, r.PoolCold = lw, lc })
	if len(warm) < 50 {
		t.Errorf("%d starts served warm, want at least 50 (%d cold)", len(warm), cold)
	}
	if lw.P95Ms >= 1000 {
		t.Errorf("warm p95 %.0f ms, want < 1 s", lw.P95Ms)
	}
}

// TestPoolBurst: 200 starts at once against a pool of 20 Ready sessions
// whose replacements take far longer (60 s, the simulator's clock moved on
// only for the first pool) than the burst: exactly 20 are served warm, 180
// cold, and no pool session goes to two commands.
func TestPoolBurst(t *testing.T) {
	s := startSystem(t, stack.Options{
		SimArgs: []string{"-ready-after", "60s"},
		Settings: map[string]string{"POOL_STANDARD": "20", "POOL_HOURS": "00:00-00:00",
			"WATCH_SCHEDULE": "*/5 * * * * *", "WATCH_FOLLOWUP_SECONDS": "1"},
	})
	s.fire("watch")
	s.eventually(60*time.Second, "20 pool sessions starting", func() error {
		if n := s.simStats().CreateSession; n < 20 {
			return fmt.Errorf("%d created", n)
		}
		return nil
	})
	s.advanceSim(61 * time.Second)
	s.poolReady(20, 60*time.Second)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.send(`{"action":"start","size":"Standard","requestedBy":"burst"}`, notify.Message{MessageID: fmt.Sprintf("burst-%03d", i), ReplyTo: "burst-replies"})
		}()
	}
	wg.Wait()
	replies := s.replyArrivals("burst-replies", n, 3*time.Minute)
	warm, cold := 0, 0
	owner := map[string]string{}
	double := 0
	for id, a := range replies {
		if a.r.Outcome != arrops.OutcomeAccepted {
			t.Errorf("%s: %+v", id, a.r)
			continue
		}
		if a.r.Pooled != nil && *a.r.Pooled {
			warm++
			if o, ok := owner[a.r.SessionID]; ok && o != id {
				double++
			}
			owner[a.r.SessionID] = id
		} else {
			cold++
		}
	}
	for _, x := range s.sessions() {
		if x.Origin == arrops.OriginPool && x.ClaimedBy != "" && owner[x.ID] != "" && owner[x.ID] != x.ClaimedBy {
			double++
		}
	}
	t.Logf("%d starts vs a pool of 20: %d warm, %d cold, %d double claims (%d replies)", n, warm, cold, double, len(replies))
	writeTiming(t, func(r *loadresult.Timing) {
		r.PoolBurst = &loadresult.PoolBurst{Starts: n, Pool: 20, Warm: warm, Cold: cold, DoubleClaims: double}
	})
	if warm != 20 || cold != 180 || double != 0 {
		t.Errorf("warm %d, cold %d, double claims %d; want 20, 180, 0", warm, cold, double)
	}
}
