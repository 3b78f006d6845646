package watch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/store/memstore"
)

const (
	raceReplyTo = "race-requester-replies"
	raceReady   = time.Minute // simulated create-to-Ready time
)

// raceBus records every published message per entity. Publishing takes a
// random 0–3 ms (seeded), as a network call would, which widens the window
// between an announcement claim and its clearing.
func raceBus(seed1, seed2 uint64) *functest.Bus {
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(seed1, seed2))
	return &functest.Bus{Before: func() {
		mu.Lock()
		d := time.Duration(rnd.IntN(3000)) * time.Microsecond
		mu.Unlock()
		time.Sleep(d)
	}}
}

// raceWatcher is one watch instance: its own ARR client and table client,
// as two function hosts would have, sharing the recording bus.
type raceWatcher struct {
	deps  watch.Deps
	store *memstore.Store
}

// TestSweepRace runs two watch instances against the same records, both
// sweeping at the same moment after each change in ARR, while a third writer
// keeps updating a tag on every record (read-modify-write with ETags, as an
// extend command does). Sessions go through Starting, Ready and then Stopped
// or Error; half were recorded by a start command (with a ReplyTo), half are
// adopted by the racing sweeps.
//
// No lost update: every record ends with ARR's status and error and with
// every tag write. No duplicate event: each transition is published exactly
// once per entity under its deterministic message id, and nothing else is.
func TestSweepRace(t *testing.T) {
	t.Run("two sweeps and a writer", testSweepRace)
	t.Run("stale view after a conflict", testStaleView)
	t.Run("claim cleared after a conflict", testClaimCleared)
}

func testSweepRace(t *testing.T) {
	const sessions = 24
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: raceReady, Seed: 7}, nil)
	newARR := func() *arr.Client { return functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.FastRetries}) }
	// One record store: the table both instances (and the writer) share.
	records := functest.Records()
	newStore := func() *memstore.Store { return records }
	cfg := functest.Config(t, functest.NoStorage, map[string]string{"WATCH_CONCURRENCY": "8"})
	bus := raceBus(1, 2)
	var watchers [2]raceWatcher
	for i := range watchers {
		st := newStore()
		watchers[i] = raceWatcher{store: st, deps: watch.Deps{Config: cfg, ARR: functions.Value(newARR()),
			Records: functions.Value[watch.Records](st), Bus: functions.Value[functions.Publisher](bus),
			Now: func() time.Time { return time.Now().UTC() }}}
	}
	arrc, st := newARR(), newStore()

	// Start the sessions in ARR; record the even ones as the commands
	// function does (Starting already announced to the requester).
	ids := make([]string, sessions)
	recorded := map[string]bool{}
	for i := range ids {
		ids[i] = fmt.Sprintf("race-%02d", i)
		resp, err := arrc.CreateSession(ctx, ids[i], arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: "Standard"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			recorded[ids[i]] = true
			s := &arrops.Session{ID: ids[i], Origin: arrops.OriginCommand, RequestedBy: "race-requester", ReplyTo: raceReplyTo,
				CorrelationID: "msg-" + ids[i], CreatedAt: time.Now().UTC()}
			functions.Apply(s, &resp.Session, time.Now().UTC())
			s.Announced = s.Status
			if _, _, err := st.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}

	// touches counts the tag writes the third writer made per record.
	touches := map[string]int{}
	var touchMu sync.Mutex
	touch := func(id string) error {
		for attempt := 0; attempt < 20; attempt++ {
			rec, err := st.GetSession(ctx, id)
			if arrops.ErrorCode(err) == arrops.ENOTFOUND {
				return nil // not adopted yet
			}
			if err != nil {
				return err
			}
			touchMu.Lock()
			n := touches[id] + 1
			touchMu.Unlock()
			if rec.Tags == nil {
				rec.Tags = map[string]string{}
			}
			rec.Tags["touch"] = strconv.Itoa(n)
			err = st.UpdateSession(ctx, rec)
			if err == nil {
				touchMu.Lock()
				touches[id] = n
				touchMu.Unlock()
				return nil
			}
			if !errors.Is(err, functions.ErrConcurrentUpdate) {
				return err
			}
		}
		return fmt.Errorf("touch %s: 20 conflicts in a row", id)
	}

	// race runs both sweeps (and the tag writer) released at the same
	// instant, then returns the sweeps' stats.
	race := func(round string) [2]watch.Stats {
		t.Helper()
		var (
			wg    sync.WaitGroup
			stats [2]watch.Stats
			errs  [3]error
		)
		gate := make(chan struct{})
		for i := range watchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				stats[i], errs[i] = watch.Sweep(ctx, watchers[i].deps)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			for _, id := range ids {
				if err := touch(id); err != nil {
					errs[2] = err
					return
				}
			}
		}()
		close(gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: racer %d: %v", round, i, err)
			}
		}
		return stats
	}

	// Round 1: Starting. The sweeps adopt the odd sessions (one wins each
	// insert) and announce them; the recorded ones were announced already.
	r1 := race("starting")
	if a := r1[0].Adopted + r1[1].Adopted; a != sessions/2 {
		t.Fatalf("adopted %d sessions in total, want %d (one adoption each)", a, sessions/2)
	}
	// Round 2: every session Ready.
	sim.Advance(raceReady)
	race("ready")
	// Round 3: a third stopped, a third failed, a third still Ready.
	final := map[string]arrops.SessionStatus{}
	for i, id := range ids {
		switch i % 3 {
		case 0:
			if _, err := arrc.StopSession(ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			final[id] = arrops.SessionStopped
		case 1:
			if err := sim.FailSession(id, "RaceFailure", "failed while two watchers looked"); err != nil {
				t.Fatal(err)
			}
			final[id] = arrops.SessionError
		}
	}
	race("stopped or failed")
	// Round 4: nothing changed in ARR: neither sweep writes.
	if r4 := race("unchanged"); r4[0].Writes+r4[1].Writes != 0 {
		t.Fatalf("unchanged round wrote %d and %d records, want 0", r4[0].Writes, r4[1].Writes)
	}
	// Round 5: the rest stopped.
	for _, id := range ids {
		if final[id] == "" {
			if _, err := arrc.StopSession(ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			final[id] = arrops.SessionStopped
		}
	}
	race("rest stopped")

	// No lost update.
	for _, id := range ids {
		rec, err := st.GetSession(ctx, id)
		if err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		if rec.Status != final[id] || rec.Announced != final[id] || !rec.AnnounceClaimedAt.IsZero() {
			t.Errorf("record %s: status %s announced %s (claim %v), want %s announced", id, rec.Status, rec.Announced, rec.AnnounceClaimedAt, final[id])
		}
		if final[id] == arrops.SessionError && (rec.ErrorCode != "RaceFailure" || rec.ErrorMessage == "") {
			t.Errorf("record %s: error %q %q lost", id, rec.ErrorCode, rec.ErrorMessage)
		}
		if got, want := rec.Tags["touch"], strconv.Itoa(touches[id]); got != want {
			t.Errorf("record %s: tag touch=%s, want %s: a tag write was lost", id, got, want)
		}
		if recorded[id] && (rec.Origin != arrops.OriginCommand || rec.RequestedBy != "race-requester" || rec.ReplyTo != raceReplyTo) {
			t.Errorf("record %s lost its command attribution: %+v", id, rec)
		}
		if !recorded[id] && rec.Origin != arrops.OriginExternal {
			t.Errorf("record %s: origin %s, want external (adopted)", id, rec.Origin)
		}
	}

	// No duplicate event, none missing, none extra.
	want := map[string]map[string]int{config.EventsTopic: {}, raceReplyTo: {}}
	for _, id := range ids {
		statuses := []arrops.SessionStatus{arrops.SessionReady, final[id]}
		if !recorded[id] {
			statuses = append([]arrops.SessionStatus{arrops.SessionStarting}, statuses...)
		}
		for _, s := range statuses {
			typ := string(arrops.SessionEventType(s))
			want[config.EventsTopic][functions.MessageID(id, typ, string(s))] = 1
			if recorded[id] {
				want[raceReplyTo][functions.MessageID(id, typ, string(s), "reply")] = 1
			}
		}
	}
	got := bus.Counts()
	total, distinct := 0, 0
	for entity, ids := range got {
		for id, n := range ids {
			total += n
			distinct++
			if n != 1 {
				t.Errorf("%s: message %s published %d times", entity, id, n)
			}
			if want[entity][id] == 0 {
				t.Errorf("%s: unexpected message %s", entity, id)
			}
		}
	}
	for entity, ids := range want {
		var missing []string
		for id := range ids {
			if got[entity][id] == 0 {
				missing = append(missing, id)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: transitions never announced: %v", entity, missing)
		}
	}
	touchMu.Lock()
	tagWrites := 0
	for _, n := range touches {
		tagWrites += n
	}
	touchMu.Unlock()
	t.Logf("%d sessions, 5 racing rounds: %d messages published, %d distinct ids; %d concurrent tag writes kept", sessions, total, distinct, tagWrites)
}

// testStaleView replays the lost update the load scenario found: a sweep
// reads a Starting record and lists the session as Ready; meanwhile a stop
// command records it Stopped. The sweep's write fails on the ETag, it
// re-reads — and must not apply its older Ready view over Stopped, nor
// announce anything.
func testStaleView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := functest.Records()
	now := time.Now().UTC()
	rec, _, err := st.CreateSession(ctx, &arrops.Session{ID: "stale-1", Status: arrops.SessionStarting,
		Announced: arrops.SessionStarting, Origin: arrops.OriginCommand, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	sweepCopy := *rec // what the sweep read
	stopped, err := st.GetSession(ctx, "stale-1")
	if err != nil {
		t.Fatal(err)
	}
	stopped.Status, stopped.StoppedAt, stopped.StopReason = arrops.SessionStopped, now, "stopped by command"
	stopped.Announced = arrops.SessionStopped
	if err := st.UpdateSession(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	bus := raceBus(3, 4)
	view := &arr.Session{ID: "stale-1", Status: arr.SessionStatus(arrops.SessionReady)}
	if _, err := functions.SyncSession(ctx, st, bus, &sweepCopy, view, now); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSession(ctx, "stale-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != arrops.SessionStopped || got.StopReason != "stopped by command" || !got.ReadyAt.IsZero() {
		t.Fatalf("record after the stale sweep: status %s, reason %q, ReadyAt %v; want the stop kept", got.Status, got.StopReason, got.ReadyAt)
	}
	if c := bus.Counts(); len(c) != 0 {
		t.Fatalf("the stale sweep published %v", c)
	}
}

// testClaimCleared: another writer updates the record while the sweep
// publishes its claimed announcement. Clearing the claim then meets an ETag
// conflict; the claim must still be cleared (on the fresh record, keeping the
// other write), or a later sweep would publish the event again once the
// claim is stale.
func testClaimCleared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := functest.Records()
	now := time.Now().UTC()
	rec, _, err := st.CreateSession(ctx, &arrops.Session{ID: "claim-1", Status: arrops.SessionStarting,
		Announced: arrops.SessionStarting, Origin: arrops.OriginExternal, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	// The other writer updates the record on every publish, before the
	// message is sent.
	otherWrite := func() {
		other, err := st.GetSession(ctx, "claim-1")
		if err != nil {
			t.Error(err)
			return
		}
		other.Tags = map[string]string{"owner": "someone"}
		if err := st.UpdateSession(ctx, other); err != nil {
			t.Error(err)
		}
	}
	bus := raceBus(5, 6)
	delay := bus.Before
	bus.Before = func() { otherWrite(); delay() }
	view := &arr.Session{ID: "claim-1", Status: arr.SessionStatus(arrops.SessionReady)}
	if _, err := functions.SyncSession(ctx, st, bus, rec, view, now); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSession(ctx, "claim-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != arrops.SessionReady || got.Announced != arrops.SessionReady || !got.AnnounceClaimedAt.IsZero() || got.Tags["owner"] != "someone" {
		t.Fatalf("record: status %s announced %s claim %v tags %v; want Ready announced, claim cleared, the other write kept",
			got.Status, got.Announced, got.AnnounceClaimedAt, got.Tags)
	}
	if n := bus.Counts()[config.EventsTopic][functions.MessageID("claim-1", "SessionReady", "Ready")]; n != 1 {
		t.Fatalf("SessionReady published %d times, want 1", n)
	}
}
