package arrsim

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// wall is a settable wall clock for restart tests.
type wall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wall) now() time.Time      { w.mu.Lock(); defer w.mu.Unlock(); return w.t }
func (w *wall) add(d time.Duration) { w.mu.Lock(); w.t = w.t.Add(d); w.mu.Unlock() }

// TestPersistAcrossRestart: a Ready session is still Ready after a
// restart, with its hostname and the old token still accepted; its lease
// counts the time the simulator was down; a finished conversion keeps its
// result and no SAS stays in the file.
func TestPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	w := &wall{t: t0}
	h := newHarness(t, Options{Clock: w.now, ReadyAfter: time.Second})
	if err := h.sim.Persist(path); err != nil {
		t.Fatal(err)
	}
	if r := h.do("PUT", "/sessions/s1", `{"size":"Standard","maxLeaseTimeMinutes":30}`); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	w.add(2 * time.Second)
	before := h.do("GET", "/sessions/s1", "").json(t)
	if before["status"] != "Ready" {
		t.Fatalf("before restart: %v", before)
	}
	h.sim.Close() // saves
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}

	w.add(10 * time.Minute) // down for ten minutes
	h2 := newHarness(t, Options{Clock: w.now, ReadyAfter: time.Second})
	if err := h2.sim.Persist(path); err != nil {
		t.Fatalf("restore %s: %v", b, err)
	}
	if err := h2.sim.Persist(path); err == nil {
		t.Error("a second restore into a simulator with state succeeded")
	}
	h2.token = h.token // issued before the restart
	after := h2.do("GET", "/sessions/s1", "").json(t)
	if after["status"] != "Ready" || after["hostname"] != before["hostname"] {
		t.Fatalf("after restart: %v (before %v)", after, before)
	}
	if got := after["elapsedTimeMinutes"]; got != float64(10) {
		t.Errorf("elapsedTimeMinutes %v, want 10 (the downtime counts)", got)
	}
	w.add(21 * time.Minute) // the 30-minute lease ends during this wait
	if st := h2.do("GET", "/sessions/s1", "").json(t)["status"]; st != "Expired" {
		t.Errorf("status after the lease %v, want Expired", st)
	}
	if r := h2.do("GET", "/sessions/nope", ""); r.status != http.StatusNotFound {
		t.Errorf("unknown session: %d", r.status)
	}
}
