package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// linkRE finds the handler's log line of one follow-up link.
var linkRE = regexp.MustCompile(`"msg":"follow-up".*?"gen":(\d+),"outcome":"(\w+)"`)

// links counts the follow-up outcomes per generation in the logs so far.
func (s *system) links() map[int]map[string]int {
	out := map[int]map[string]int{}
	for _, m := range linkRE.FindAllStringSubmatch(s.logs.String(), -1) {
		g, _ := strconv.Atoi(m[1])
		if out[g] == nil {
			out[g] = map[string]int{}
		}
		out[g][m[2]]++
	}
	return out
}

// TestFollowUpHandlerKilled SIGKILLs the handler while a follow-up link is
// inside its ARR List (held there by injected latency). The link's message
// comes back after the queue's visibility timeout and, still being the
// claimed generation, carries the chain on: every requester hears
// SessionReady, every generation continues at most once (one chain), and the
// chain ends when nothing is in transition. The timers are off, so only the
// follow-ups can see the sessions become Ready.
func TestFollowUpHandlerKilled(t *testing.T) {
	s := startSystem(t, stack.Options{
		SimArgs:  []string{"-ready-after", "20s"},
		Settings: map[string]string{"WATCH_SCHEDULE": "0 0 0 1 1 *", "SHUTDOWN_SCHEDULE": "0 0 0 1 1 *", "WATCH_FOLLOWUP_SECONDS": "2"},
	})
	ids := []string{"fu-1", "fu-2", "fu-3"}
	for _, id := range ids {
		s.send(`{"action":"start","sessionId":"`+id+`","requestedBy":"fu"}`, notify.Message{MessageID: "m-" + id, ReplyTo: "fu-replies"})
	}
	s.eventually(20*time.Second, "the chain runs", func() error {
		if n := len(s.links()); n < 2 {
			return fmt.Errorf("%d links so far", n)
		}
		return nil
	})
	// The simulator counts a call on arrival and then holds it 4 s: a List
	// counted after the fault is set is a link inside its sweep.
	s.setFaults(`{"latency":"4s"}`)
	lists := s.simStats().ListSessions
	s.eventually(20*time.Second, "a link inside its List", func() error {
		if s.simStats().ListSessions == lists {
			return fmt.Errorf("no new List yet")
		}
		return nil
	})
	before := len(s.links())
	killed, err := s.stack.KillHandler()
	if err != nil {
		t.Fatal(err)
	}
	s.setFaults(`{}`)
	t.Logf("handler %d killed after %d links", killed, before)

	ready := map[string]bool{}
	s.eventually(90*time.Second, "every requester hears SessionReady", func() error {
		for _, m := range s.receive("fu-replies", 32, 200*time.Millisecond) {
			if m.Subject == string(arrops.EventSessionReady) {
				var id string
				if v, ok := m.ApplicationProperties["sessionId"].(string); ok {
					id = v
				}
				ready[id] = true
			}
		}
		if len(ready) < len(ids) {
			return fmt.Errorf("%d of %d Ready", len(ready), len(ids))
		}
		return nil
	})
	s.eventually(30*time.Second, "the chain ends", func() error {
		for _, o := range s.links() {
			if o["ended"] > 0 {
				return nil
			}
		}
		return fmt.Errorf("not ended")
	})
	ended := 0
	for g, o := range s.links() {
		if o["continued"]+o["ended"] > 1 {
			t.Errorf("generation %d acted %d times: %v (two chains)", g, o["continued"]+o["ended"], o)
		}
		ended += o["ended"]
	}
	if ended != 1 {
		t.Errorf("the chain ended %d times", ended)
	}
	t.Logf("links per generation: %v", s.links())
}
