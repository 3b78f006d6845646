package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// system is one running local stack plus clients to drive and inspect it.
type system struct {
	t      testing.TB
	ctx    context.Context
	stack  *stack.Stack
	logs   *syncbuf.Buffer
	store  *store.Store
	bus    *notify.Local
	queues *azqueue.ServiceClient
	blobs  *azblob.Client
	// fastPoll sets the bus's poll interval once, before any receiving
	// goroutine reads it.
	fastPoll sync.Once
}

// pollFast makes the test's receives poll every 20 ms (arrival stamps).
func (s *system) pollFast() {
	s.fastPoll.Do(func() { s.bus.PollInterval = 20 * time.Millisecond })
}

// startSystem starts the stack (built once per test binary) and stops it at
// cleanup, printing every process's output when the test failed. Settings in
// opts override the stack's defaults (timers every 10 and 15 seconds).
func startSystem(t testing.TB, opts stack.Options) *system {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	if _, err := azurite.FindBin(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("azurite is not installed (npm ci): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	logs := &syncbuf.Buffer{}
	if opts.Log == nil {
		opts.Log = logs
	}
	st, err := stack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start the local system: %v\n%s", err, logs.String())
	}
	s := &system{t: t, ctx: ctx, stack: st, logs: logs}
	t.Cleanup(func() {
		st.Stop()
		if t.Failed() {
			t.Logf("process output:\n%s", logs.String())
		}
	})
	cs := st.Azurite.ConnectionString()
	if s.store, err = store.NewFromConnectionString(cs, nil); err != nil {
		t.Fatal(err)
	}
	// The handler creates the tables on its first invocation; create them now
	// so that reading records before then finds none instead of failing.
	if err := s.store.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	if s.queues, err = notify.QueueService(cs, "", nil); err != nil {
		t.Fatal(err)
	}
	s.bus = notify.NewLocal(s.queues, config.EventsTopic, config.CommandsQueue)
	if s.blobs, err = azblob.NewClientFromConnectionString(cs, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// send puts a command message on arr-commands as another app would (through
// the local Service Bus stand-in). body is sent as is; msg supplies the id,
// ReplyTo and the rest.
func (s *system) send(body string, msg notify.Message) {
	s.t.Helper()
	msg.Body = []byte(body)
	if msg.MessageID == "" {
		s.t.Fatal("send: a command needs a MessageID")
	}
	if msg.ReplyTo != "" {
		s.replyQueue(msg.ReplyTo)
	}
	if err := s.bus.Publish(s.ctx, config.CommandsQueue, msg); err != nil {
		s.t.Fatalf("send command: %v", err)
	}
}

// fire runs a non-HTTP function now through devhost's admin API and waits
// for the invocation to finish (202), failing the test on any other answer.
func (s *system) fire(function string) {
	s.t.Helper()
	if code, body := s.fireStatus(function); code != http.StatusAccepted {
		s.t.Fatalf("fire %s: %d %s", function, code, body)
	}
}

// fireStatus is fire without the assertion.
func (s *system) fireStatus(function string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.ctx, http.MethodPost, s.stack.DevhostURL+"/admin/functions/"+function, strings.NewReader("{}"))
	req.Header.Set("x-functions-key", devhost.DevMasterKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("fire %s: %v", function, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// get fetches path from devhost with the function key and returns status,
// content type and body.
func (s *system) get(path string) (int, string, []byte) {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.ctx, http.MethodGet, s.stack.DevhostURL+path, nil)
	req.Header.Set("x-functions-key", devhost.DevFunctionKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// eventually polls check every 100 ms until it returns nil, failing the
// test with check's last error after limit.
func (s *system) eventually(limit time.Duration, what string, check func() error) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			s.t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// session reads a session record; nil when there is none.
func (s *system) session(id string) *arrops.Session {
	s.t.Helper()
	rec, err := s.store.GetSession(s.ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		return nil
	}
	if err != nil {
		s.t.Fatalf("read session %s: %v", id, err)
	}
	return rec
}

// waitSession polls the record of id until want accepts it.
func (s *system) waitSession(id string, limit time.Duration, want func(*arrops.Session) error) *arrops.Session {
	s.t.Helper()
	var rec *arrops.Session
	s.eventually(limit, "session "+id, func() error {
		if rec = s.session(id); rec == nil {
			return fmt.Errorf("no record")
		}
		return want(rec)
	})
	return rec
}

// hasStatus is a waitSession condition.
func hasStatus(st arrops.SessionStatus) func(*arrops.Session) error {
	return func(s *arrops.Session) error {
		if s.Status != st {
			return fmt.Errorf("status %s, want %s", s.Status, st)
		}
		return nil
	}
}

// sessions returns every session record of the last two UTC days.
func (s *system) sessions() []*arrops.Session {
	s.t.Helper()
	now := time.Now().UTC()
	var out []*arrops.Session
	for rec, err := range s.store.SessionsByDay(s.ctx, now.Add(-24*time.Hour), now.Add(time.Hour)) {
		if err != nil {
			s.t.Fatalf("list sessions: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

// conversions returns every conversion record of the last two UTC days.
func (s *system) conversions() []*arrops.Conversion {
	s.t.Helper()
	now := time.Now().UTC()
	var out []*arrops.Conversion
	for rec, err := range s.store.ConversionsByDay(s.ctx, now.Add(-24*time.Hour), now.Add(time.Hour)) {
		if err != nil {
			s.t.Fatalf("list conversions: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

// audit returns the audit rows of messageID ("" for all) of the last two UTC
// days.
func (s *system) audit(messageID string) []*arrops.CommandAudit {
	s.t.Helper()
	now := time.Now().UTC()
	var out []*arrops.CommandAudit
	for a, err := range s.store.AuditByDay(s.ctx, now.Add(-24*time.Hour), now.Add(time.Hour)) {
		if err != nil {
			s.t.Fatalf("list audit rows: %v", err)
		}
		if messageID == "" || a.MessageID == messageID {
			out = append(out, a)
		}
	}
	return out
}

// replyQueue creates the queue entity as a requester does before it sends
// a command with ReplyTo entity: arrops never creates reply queues.
func (s *system) replyQueue(entity string) {
	s.t.Helper()
	name, err := notify.QueueName(entity)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.queues.CreateQueue(s.ctx, name, nil); err != nil && !strings.Contains(err.Error(), "QueueAlreadyExists") {
		s.t.Fatalf("create reply queue %s: %v", name, err)
	}
}

// receive takes up to max messages from a local queue (a reply queue, or
// arr-events which stands in for the topic locally), waiting up to wait for
// the first.
func (s *system) receive(queue string, max int, wait time.Duration) []notify.Message {
	s.t.Helper()
	msgs, err := s.bus.Receive(s.ctx, queue, max, wait)
	if err != nil {
		s.t.Fatalf("receive from %s: %v", queue, err)
	}
	return msgs
}

// queueLength is the approximate number of messages on a storage queue (0
// when it does not exist), e.g. a poison or dead-letter queue.
func (s *system) queueLength(name string) int {
	s.t.Helper()
	props, err := s.queues.NewQueueClient(name).GetProperties(s.ctx, nil)
	if err != nil {
		if strings.Contains(err.Error(), "QueueNotFound") {
			return 0
		}
		s.t.Fatalf("queue %s: %v", name, err)
	}
	if props.ApproximateMessagesCount == nil {
		return 0
	}
	return int(*props.ApproximateMessagesCount)
}

// simStats reads the simulator's call counters.
func (s *system) simStats() arrsim.Stats {
	s.t.Helper()
	var st arrsim.Stats
	s.simAdmin(http.MethodGet, "/_sim/stats", "", &st)
	return st
}

// setFaults replaces the simulator's injected faults.
func (s *system) setFaults(f string) {
	s.t.Helper()
	s.simAdmin(http.MethodPost, "/_sim/faults", f, nil)
}

// advanceSim moves the simulator's clock forward.
func (s *system) advanceSim(d time.Duration) {
	s.t.Helper()
	s.simAdmin(http.MethodPost, "/_sim/clock?advance="+d.String(), "", nil)
}

func (s *system) simAdmin(method, path, body string, out any) {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.ctx, method, s.stack.SimURL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("simulator %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("simulator %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("simulator %s %s: %v", method, path, err)
		}
	}
}
