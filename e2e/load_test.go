package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/loadresult"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/localbus"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// loadCommandsDefault keeps `make test` fast; `make bench` sets
// ARROPS_LOAD_COMMANDS=1000 for the full-size run.
const loadCommandsDefault = 150

// loadRequesters is the number of concurrent requesting apps.
const loadRequesters = 50

// TestLoad sends N command messages (default 150, ARROPS_LOAD_COMMANDS) from
// 50 requesters to the real system: start/stop pairs, 10% of them sent twice
// under the same MessageId right away (so both deliveries race), and 5%
// malformed. Every requester starts a session, waits for the reply, stops it,
// waits again. Afterwards every start has exactly one record and one ARR
// session, all Stopped by their stop command, every delivery left an audit
// row (malformed ones exactly one, rejected), nothing is left running in the
// simulator and no message ended in a poison or dead-letter queue.
func TestLoad(t *testing.T) {
	n := loadCommandsDefault
	if v := os.Getenv("ARROPS_LOAD_COMMANDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 20 {
			t.Fatalf("ARROPS_LOAD_COMMANDS=%q: want a number ≥ 20", v)
		}
	}
	plan := planLoad(n, loadRequesters)
	s := startSystem(t, stack.Options{
		SimArgs: []string{"-ready-after", "1s", "-quiet"},
		// The timers keep running during the load as in production.
		Settings: map[string]string{"WATCH_SCHEDULE": "*/5 * * * * *", "SHUTDOWN_SCHEDULE": "*/15 * * * * *"},
	})
	replies := s.collectReplies(loadReplyQueue, 4)

	limit := 30*time.Second + time.Duration(n)*150*time.Millisecond
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, loadRequesters)
	for _, r := range plan.requesters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.runRequester(r, replies, limit); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	res := loadresult.Result{Commands: n, DurationSeconds: elapsed.Seconds(), CommandsPerSecond: float64(n) / elapsed.Seconds(),
		Malformed: len(plan.malformed), Duplicates: plan.duplicates}
	lat := replies.latencies(plan.firstSends())
	if len(lat) != n-plan.duplicates {
		t.Fatalf("latencies of %d messages, want %d", len(lat), n-plan.duplicates)
	}
	res.P50Ms, res.P99Ms = percentileMs(lat, 50), percentileMs(lat, 99)

	res.Sessions, res.Poison = s.checkLoadInvariants(plan)
	t.Logf("load: %d commands (%d sessions, %d duplicates, %d malformed) from %d requesters in %s: %.1f commands/s, p50 %.0f ms, p99 %.0f ms, poison %d",
		n, res.Sessions, res.Duplicates, res.Malformed, loadRequesters, elapsed.Round(time.Millisecond), res.CommandsPerSecond, res.P50Ms, res.P99Ms, res.Poison)
	writeResult(t, loadresult.FileName, res)
}

// loadReplyQueue is the ReplyTo of every load command: one queue drained by a
// few collectors costs Azurite far less than 50 polled reply queues.
const loadReplyQueue = "load-replies"

// loadMessage is one command message of the plan.
type loadMessage struct {
	id, body  string
	malformed bool
	dup       bool // sent a second time right after the first
	sentAt    time.Time
}

type loadRequester struct {
	name      string
	pairs     [][2]*loadMessage // start, stop
	malformed []*loadMessage
}

type loadPlan struct {
	requesters []*loadRequester
	starts     []*loadMessage
	stops      []*loadMessage
	malformed  []*loadMessage
	duplicates int
}

// firstSends maps every message id to the time it was first sent.
func (p *loadPlan) firstSends() map[string]time.Time {
	out := map[string]time.Time{}
	for _, list := range [][]*loadMessage{p.starts, p.stops, p.malformed} {
		for _, m := range list {
			out[m.id] = m.sentAt
		}
	}
	return out
}

// malformedBodies are commands that can never succeed, one per kind of
// mistake a sender makes.
var malformedBodies = []string{
	`not json at all`,
	`{"action":"start","size":"Huge"}`,
	`{"action":"stop"}`,
	`{"action":"reboot","sessionId":"s1"}`,
	`{"action":"start","maxLeaseTimeMinutes":99999}`,
	`{"action":"start"} {"action":"stop"}`,
	`{"action":"extend","sessionId":"bad id!","maxLeaseTimeMinutes":5}`,
	`{"action":"start","colour":"blue"}`,
	`[]`,
	``,
}

// planLoad splits n messages into 10% duplicates, start/stop pairs and the
// rest (about 5%) malformed, spread over the requesters. The plan is the same
// for every run.
func planLoad(n, requesters int) *loadPlan {
	dups := n * 10 / 100
	pairs := (n - dups - n*5/100) / 2
	p := &loadPlan{duplicates: dups}
	for i := range requesters {
		p.requesters = append(p.requesters, &loadRequester{name: fmt.Sprintf("load-requester-%02d", i)})
	}
	for i := range pairs {
		r := p.requesters[i%requesters]
		id := fmt.Sprintf("ld-%02d-%04d", i%requesters, i)
		start := &loadMessage{id: id, body: fmt.Sprintf(`{"action":"start","maxLeaseTimeMinutes":30,"requestedBy":%q,"tags":{"run":"load"}}`, r.name)}
		stop := &loadMessage{id: id + "-stop", body: fmt.Sprintf(`{"action":"stop","sessionId":%q,"requestedBy":%q}`, id, r.name)}
		r.pairs = append(r.pairs, [2]*loadMessage{start, stop})
		p.starts = append(p.starts, start)
		p.stops = append(p.stops, stop)
	}
	valid := append(slices.Clone(p.starts), p.stops...)
	rnd := rand.New(rand.NewPCG(10, 3))
	for _, i := range rnd.Perm(len(valid))[:dups] {
		valid[i].dup = true
	}
	for i := range n - dups - 2*pairs {
		m := &loadMessage{id: fmt.Sprintf("ld-bad-%04d", i), body: malformedBodies[i%len(malformedBodies)], malformed: true}
		p.requesters[i%requesters].malformed = append(p.requesters[i%requesters].malformed, m)
		p.malformed = append(p.malformed, m)
	}
	return p
}

// runRequester plays one requesting app: malformed messages first (answered
// at once), then each session started, awaited, stopped and awaited.
func (s *system) runRequester(r *loadRequester, replies *replyCollector, limit time.Duration) error {
	send := func(m *loadMessage) error {
		msg := notify.Message{MessageID: m.id, ReplyTo: loadReplyQueue, ContentType: "application/json", Body: []byte(m.body)}
		m.sentAt = time.Now()
		for range 1 + b2i(m.dup) {
			if err := s.bus.Publish(s.ctx, config.CommandsQueue, msg); err != nil {
				return fmt.Errorf("%s: send %s: %w", r.name, m.id, err)
			}
		}
		return nil
	}
	await := func(m *loadMessage, want ...arrops.Outcome) error {
		rep, err := replies.wait(m.id, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if !slices.Contains(want, rep.Outcome) {
			return fmt.Errorf("%s: message %s (%s) answered %s %q, want %v", r.name, m.id, m.body, rep.Outcome, rep.Reason, want)
		}
		return nil
	}
	for _, m := range r.malformed {
		if err := send(m); err != nil {
			return err
		}
		if err := await(m, arrops.OutcomeRejected); err != nil {
			return err
		}
	}
	for _, p := range r.pairs {
		// A duplicate start may win the race for the record, and then both
		// deliveries answer noop; either way exactly one session exists.
		for i, m := range p {
			if err := send(m); err != nil {
				return err
			}
			want := []arrops.Outcome{arrops.OutcomeAccepted}
			if m.dup || i == 0 {
				want = append(want, arrops.OutcomeNoop)
			}
			if err := await(m, want...); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLoadInvariants asserts what must hold after the load and returns the
// number of session records and of poison/dead-letter messages.
func (s *system) checkLoadInvariants(plan *loadPlan) (sessions, poison int) {
	t := s.t
	t.Helper()
	recs := map[string]*arrops.Session{}
	for _, r := range s.sessions() {
		recs[r.ID] = r
	}
	for _, start := range plan.starts {
		rec := recs[start.id]
		if rec == nil {
			t.Errorf("start %s: no session record", start.id)
			continue
		}
		stopID := start.id + "-stop"
		if rec.Status != arrops.SessionStopped || rec.Origin != arrops.OriginCommand || rec.CorrelationID != start.id ||
			!strings.Contains(rec.StopReason, "(message "+stopID+")") {
			t.Errorf("record %s: status %s origin %s correlation %s stop reason %q; want Stopped by %s",
				rec.ID, rec.Status, rec.Origin, rec.CorrelationID, rec.StopReason, stopID)
		}
	}
	if len(recs) != len(plan.starts) {
		t.Errorf("%d session records, want exactly %d (one per start)", len(recs), len(plan.starts))
	}

	// Audit: one row per delivery. A duplicate may still be in flight when
	// its twin's reply arrived, so wait for the rows. Without faults every
	// delivery succeeds at once; redeliveries would add rows and are reported.
	all := append(slices.Clone(plan.starts), plan.stops...)
	var rows map[string][]*arrops.CommandAudit
	s.eventually(30*time.Second, "an audit row per delivery", func() error {
		rows = map[string][]*arrops.CommandAudit{}
		for _, a := range s.audit("") {
			rows[a.MessageID] = append(rows[a.MessageID], a)
		}
		for _, m := range append(slices.Clone(all), plan.malformed...) {
			if got, want := len(rows[m.id]), 1+b2i(m.dup); got < want {
				return fmt.Errorf("message %s sent %d times has %d audit rows", m.id, want, got)
			}
		}
		return nil
	})
	for _, m := range plan.malformed {
		if got := rows[m.id]; len(got) != 1 || got[0].Outcome != arrops.OutcomeRejected {
			t.Errorf("malformed %s (%q): audit rows %s, want one rejected", m.id, m.body, auditSummary(got))
		}
	}
	extra := 0
	for _, m := range all {
		got := rows[m.id]
		accepted := 0
		for _, a := range got {
			if a.Outcome == arrops.OutcomeRejected {
				t.Errorf("command %s: rejected: %s", m.id, a.Reason)
			}
			accepted += b2i(a.Outcome == arrops.OutcomeAccepted)
		}
		extra += max(0, len(got)-1-b2i(m.dup))
		if strings.HasSuffix(m.id, "-stop") && accepted == 0 {
			t.Errorf("stop %s: no accepted delivery: %s", m.id, auditSummary(got))
		}
	}
	if extra > 0 {
		t.Logf("%d redeliveries beyond the messages sent (at-least-once; each answered idempotently)", extra)
	}

	// ARR: every session exists once, Stopped, and none is left running.
	arrc := s.arrClient()
	for _, start := range plan.starts {
		resp, err := arrc.GetSession(s.ctx, start.id, nil)
		if err != nil {
			t.Errorf("ARR session %s: %v", start.id, err)
			continue
		}
		if resp.Status != arr.SessionStatus(arrops.SessionStopped) {
			t.Errorf("ARR session %s is %s, want Stopped", start.id, resp.Status)
		}
	}
	if running := s.runningSessions(); len(running) > 0 {
		t.Errorf("%d sessions left running in the simulator: %v", len(running), running)
	}
	poison = s.failedMessages()
	if poison != 0 {
		t.Errorf("%d messages in poison or dead-letter queues, want 0 (malformed commands are rejected and completed, not dead-lettered)", poison)
	}
	if left := s.queueLength(config.CommandsQueue); left != 0 {
		t.Errorf("%d messages still on %s", left, config.CommandsQueue)
	}
	return len(recs), poison
}

// failedMessages counts messages the host gave up on: the command queue's
// dead-letter stand-in and the storage queues' poison queues.
func (s *system) failedMessages() int {
	n := 0
	for _, q := range []string{config.CommandsQueue + "-deadletter", config.BlobCreatedQueue + "-poison"} {
		n += s.queueLength(q)
	}
	return n
}

// arrClient is an ARR client on the simulator with the stack's account.
func (s *system) arrClient() *arr.Client {
	s.t.Helper()
	key, err := arr.NewAccountKeyCredential(stack.AccountKey)
	if err != nil {
		s.t.Fatal(err)
	}
	c, err := arr.NewClient(s.stack.SimURL, stack.AccountID, key, &arr.ClientOptions{
		AccountDomain: s.stack.Settings["ARR_ACCOUNT_DOMAIN"], STSEndpoint: s.stack.SimURL})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// runningSessions lists the ids of the simulator's active sessions.
func (s *system) runningSessions() []string {
	s.t.Helper()
	var ids []string
	pager := s.arrClient().NewListSessionsPager(nil)
	for pager.More() {
		page, err := pager.NextPage(s.ctx)
		if err != nil {
			s.t.Fatalf("list ARR sessions: %v", err)
		}
		for _, a := range page.Sessions {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

func auditSummary(rows []*arrops.CommandAudit) string {
	if len(rows) == 0 {
		return "none"
	}
	var b strings.Builder
	for _, a := range rows {
		fmt.Fprintf(&b, "[#%d %s %q] ", a.DeliveryCount, a.Outcome, a.Reason)
	}
	return b.String()
}

// reply is a CommandReply as a requester receives it.
type reply struct {
	arrops.CommandReply
	at time.Time
}

// replyCollector drains a reply queue and keeps the first CommandReply per
// command (by CorrelationId) with the time it was seen. Messages are hidden
// for an hour instead of deleted: one storage call per batch, not per message.
type replyCollector struct {
	mu      sync.Mutex
	first   map[string]reply
	counts  map[string]int
	waiters map[string][]chan struct{}
	events  []notify.Message // everything else that arrived (session events)
}

// collectReplies starts workers goroutines draining queue until the test ends.
func (s *system) collectReplies(queue string, workers int) *replyCollector {
	s.t.Helper()
	q := s.queues.NewQueueClient(queue)
	if _, err := q.Create(s.ctx, nil); err != nil && !strings.Contains(err.Error(), "QueueAlreadyExists") {
		s.t.Fatalf("create %s: %v", queue, err)
	}
	c := &replyCollector{first: map[string]reply{}, counts: map[string]int{}, waiters: map[string][]chan struct{}{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	s.t.Cleanup(func() { close(done); wg.Wait() })
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Staggered polls: an empty queue is looked at every 25 ms in all.
			idle := time.Duration(workers) * 25 * time.Millisecond
			time.Sleep(time.Duration(w) * 25 * time.Millisecond)
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := q.DequeueMessages(s.ctx, &azqueue.DequeueMessagesOptions{
					NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(3600))})
				if err != nil || len(resp.Messages) == 0 {
					select {
					case <-done:
						return
					case <-time.After(idle):
					}
					continue
				}
				now := time.Now()
				for _, m := range resp.Messages {
					c.add(m, now)
				}
			}
		}()
	}
	return c
}

func (c *replyCollector) add(m *azqueue.DequeuedMessage, at time.Time) {
	if m.MessageText == nil {
		return
	}
	env, err := localbus.Decode([]byte(*m.MessageText))
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if env.Subject != "CommandReply" {
		c.events = append(c.events, notify.Message{MessageID: env.MessageID, CorrelationID: env.CorrelationID, Subject: env.Subject, Body: []byte(env.Body)})
		return
	}
	id := env.CorrelationID
	c.counts[id]++
	if _, ok := c.first[id]; ok {
		return
	}
	var r reply
	if err := json.Unmarshal([]byte(env.Body), &r.CommandReply); err != nil {
		r.Outcome, r.Reason = "undecodable", err.Error()
	}
	r.at = at
	c.first[id] = r
	for _, w := range c.waiters[id] {
		close(w)
	}
	delete(c.waiters, id)
}

// wait returns the first reply to command id.
func (c *replyCollector) wait(id string, limit time.Duration) (reply, error) {
	c.mu.Lock()
	if r, ok := c.first[id]; ok {
		c.mu.Unlock()
		return r, nil
	}
	ch := make(chan struct{})
	c.waiters[id] = append(c.waiters[id], ch)
	c.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(limit):
		return reply{}, fmt.Errorf("no reply to %s within %s", id, limit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first[id], nil
}

// eventsSeen returns the messages other than CommandReplies (session events
// sent to ReplyTo) that arrived so far.
func (c *replyCollector) eventsSeen() []notify.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// latencies returns reply time minus first send time of every message sent.
func (c *replyCollector) latencies(sent map[string]time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for id, at := range sent {
		if r, ok := c.first[id]; ok {
			out = append(out, r.at.Sub(at))
		}
	}
	return out
}

// percentileMs is the p-th percentile (nearest rank) in milliseconds.
func percentileMs(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return float64(s[max(0, min(i, len(s)-1))].Microseconds()) / 1000
}

// writeResult writes v as JSON to $ARROPS_RESULTS_DIR/name when that is set.
func writeResult(t testing.TB, name string, v any) {
	t.Helper()
	dir := os.Getenv("ARROPS_RESULTS_DIR")
	if dir == "" {
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
