package functions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/pool"
	"github.com/arrops/arrops/schedule"
)

// PoolRecords is what the warm pool reads and writes: session records, the
// active ones, recent finished ones (observed start times), and the claim
// record of its armed edge.
type PoolRecords interface {
	SessionRecords
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error)
	GetDueMark(ctx context.Context, name string) (*arrops.FollowUpChain, error)
	SaveDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error
	DeleteDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error
}

// Default start times, used as the lead of the pool window until
// MinStartObservations sessions of a size have become Ready in the last
// StartObservationDays: ARR documents "minutes", Premium slower.
var DefaultStartLead = map[arrops.SessionSize]time.Duration{
	arrops.SizeStandard: 5 * time.Minute,
	arrops.SizePremium:  10 * time.Minute,
}

// Observed start times: how many and how far back.
const (
	MinStartObservations = 5
	StartObservationDays = 7
	// poolEdgeMark names the claim record of the pool's armed edge.
	poolEdgeMark = "pool-edge"
	// poolStopReason is the StopReason of an unclaimed session at window close.
	poolStopReason = "pool window closed (unclaimed pool session)"
)

// StartTimes returns the p50 and p95 of create->Ready over ss of size sz
// and how many were observed.
func StartTimes(ss []*arrops.Session, sz arrops.SessionSize) (p50, p95 time.Duration, n int) {
	var d []time.Duration
	for _, s := range ss {
		if s.Size == sz && !s.ReadyAt.IsZero() && !s.CreatedAt.IsZero() && s.ReadyAt.After(s.CreatedAt) {
			d = append(d, s.ReadyAt.Sub(s.CreatedAt))
		}
	}
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[int(math.Ceil(p*float64(len(d))))-1] }
	return q(0.50), q(0.95), len(d)
}

// StartLead is how far ahead of the window (or a reservation) a session of
// size sz is started: the observed p95 start time, or DefaultStartLead with
// fewer than MinStartObservations observations.
func StartLead(observed []*arrops.Session, sz arrops.SessionSize) time.Duration {
	if _, p95, n := StartTimes(observed, sz); n >= MinStartObservations {
		return p95
	}
	return DefaultStartLead[sz]
}

// PoolSessionID is the deterministic id of slot n of the pool of size sz in
// the window opening on date (YYYYMMDD): two maintainers that decide to start
// the same slot make one ARR session (ARR answers a repeated PUT with the same
// settings with 200) and one record (a conditional insert).
func PoolSessionID(sz arrops.SessionSize, date string, n int) string {
	return "pool-" + strings.ToLower(string(sz)) + "-" + date + "-" + strconv.Itoa(n)
}

// poolSlot returns the slot number of a pool session id of size sz on date.
func poolSlot(id string, sz arrops.SessionSize, date string) (int, bool) {
	rest, ok := strings.CutPrefix(id, "pool-"+strings.ToLower(string(sz))+"-"+date+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// Pool keeps the warm pool: while the window is open (from the observed
// start time before it opens), Config.Size(sz) unclaimed sessions of each
// size run; claimed and failed ones are replaced, leases of unclaimed ones
// are renewed, and unclaimed ones stop when the window closes. Maintain
// re-reads everything and decides afresh, so any number of callers (the
// watch timer, due messages at the window's edges, a claim asking for a
// replacement) may run it at once; a nil *Pool or a pool of size 0 is off.
type Pool struct {
	Config  config.Pool
	ARR     *Lazy[*arr.Client]
	Records *Lazy[PoolRecords]
	// Due receives the message for the next edge (nil: the watch timer
	// alone maintains the pool, to the minute).
	Due *Lazy[schedule.Scheduler]
	// FollowUps is kicked when pool sessions start or stop, so they are
	// seen Ready (claimable) within seconds.
	FollowUps *FollowUps
	// Bus publishes a started pool session's SessionStarting (nil: a later
	// sweep publishes it).
	Bus *Lazy[Publisher]
}

// Enabled reports whether the pool keeps any session.
func (p *Pool) Enabled() bool { return p != nil && p.Config.Enabled() }

// PoolStats counts what one maintenance did.
type PoolStats struct {
	Free, Started, Renewed, Stopped int
	// NextEdge is the instant the pool is looked at next (zero: none).
	NextEdge time.Time
}

// poolSizes are the sizes in a fixed order.
var poolSizes = []arrops.SessionSize{arrops.SizeStandard, arrops.SizePremium}

// Maintain brings the pool to its target at now and arms the next edge.
func (p *Pool) Maintain(ctx context.Context, now time.Time, log *slog.Logger) (PoolStats, error) {
	var st PoolStats
	if p == nil {
		return st, nil
	}
	recs, err := p.Records.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open records: %w", err)
	}
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return st, fmt.Errorf("read active sessions: %w", err)
	}
	var free []*arrops.Session
	for _, s := range active {
		if s.PoolFree() {
			free = append(free, s)
		}
	}
	if !p.Enabled() && len(free) == 0 {
		return st, nil
	}
	observed := active
	if p.Enabled() {
		finished, err := recs.FinishedSessionsSince(ctx, now.AddDate(0, 0, -StartObservationDays), now)
		if err != nil {
			return st, fmt.Errorf("read finished sessions: %w", err)
		}
		observed = append(slices.Clone(active), finished...)
	}
	arrc, err := p.ARR.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open ARR client: %w", err)
	}
	var errs []error
	for _, sz := range poolSizes {
		target := p.Config.Size(sz)
		lead := StartLead(observed, sz)
		iv, ok := p.Config.Window.Next(now)
		open := ok && target > 0 && !now.Before(iv.Open.Add(-lead))
		var mine []*arrops.Session
		for _, s := range free {
			if s.Size == sz {
				mine = append(mine, s)
			}
		}
		if !open {
			for _, s := range mine {
				if err := p.stop(ctx, arrc, recs, s, now); err != nil {
					errs = append(errs, err)
					continue
				}
				st.Stopped++
				log.Info("pool session stopped: window closed", "sessionId", s.ID, "size", sz)
			}
			if ok && target > 0 {
				st.NextEdge = earliest(st.NextEdge, iv.Open.Add(-lead))
			}
			continue
		}
		st.NextEdge = earliest(st.NextEdge, iv.Close)
		for _, s := range mine {
			if s.Status == arrops.SessionRequested {
				// An intent a maintainer left (it failed after the
				// insert): carry it on. ARR answers a repeated create
				// with the same settings with 200.
				if ok, err := p.create(ctx, arrc, recs, s, now, log); err != nil {
					errs = append(errs, err)
				} else if ok {
					st.Started++
					log.Info("pool session start resumed", "sessionId", s.ID, "size", sz)
				}
				continue
			}
			renewed, err := p.renew(ctx, arrc, recs, s, now)
			if err != nil {
				errs = append(errs, err)
			} else if renewed {
				st.Renewed++
			}
			if s.Status == arrops.SessionReady && s.ReadyAt.Add(time.Duration(s.MaxLeaseMinutes)*time.Minute).After(now) {
				st.NextEdge = earliest(st.NextEdge, s.ReadyAt.Add(time.Duration(s.MaxLeaseMinutes)*time.Minute/2))
			}
		}
		st.Free += len(mine)
		missing := target - len(mine)
		if missing <= 0 {
			continue
		}
		started, err := p.start(ctx, arrc, recs, active, sz, iv, missing, now, log)
		st.Started += started
		st.Free += started
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.arm(ctx, recs, st.NextEdge, now); err != nil {
		errs = append(errs, err)
	}
	if st.Started+st.Stopped > 0 {
		KickFollowUps(ctx, p.FollowUps, now, log)
	}
	return st, errors.Join(errs...)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// start starts missing sessions of size sz in the slots after the highest
// one known for the window's date: claimed, failed and stopped sessions keep
// their slots, so a replacement never reuses an id ARR still remembers.
func (p *Pool) start(ctx context.Context, arrc *arr.Client, recs PoolRecords, active []*arrops.Session, sz arrops.SessionSize, iv pool.Interval, missing int, now time.Time, log *slog.Logger) (int, error) {
	next := 0
	for _, s := range active {
		if n, ok := poolSlot(s.ID, sz, iv.Date); ok && n >= next {
			next = n + 1
		}
	}
	started := 0
	for ; missing > 0; next++ {
		id := PoolSessionID(sz, iv.Date, next)
		// A slot above the active ones may belong to a session that ended.
		if old, err := recs.GetSession(ctx, id); err == nil {
			if !old.Status.Terminal() && old.PoolFree() {
				missing-- // started since the list was read
			}
			continue
		} else if arrops.ErrorCode(err) != arrops.ENOTFOUND {
			return started, fmt.Errorf("read pool slot %s: %w", id, err)
		}
		// Intent first, as for a command's start: the Requested record
		// exists before ARR is asked; a maintainer that fails after the
		// insert leaves it to the next one (resume below), or to the sweep.
		rec, resume, err := RecordIntent(ctx, recs, &arrops.Session{ID: id, Size: sz, Origin: arrops.OriginPool,
			RequestedBy: arrops.PoolRequester, MaxLeaseMinutes: p.Config.LeaseMinutes, CreatedAt: now})
		if err != nil {
			return started, err
		}
		if !resume {
			if !rec.Status.Terminal() && rec.PoolFree() {
				missing-- // started since the list was read
			}
			continue
		}
		ok, err := p.create(ctx, arrc, recs, rec, now, log)
		if err != nil {
			return started, err
		}
		if !ok {
			continue // ARR refused the id (taken with other settings): next slot
		}
		started++
		log.Info("pool session started", "sessionId", id, "size", sz, "windowOpens", iv.Open, "windowCloses", iv.Close)
		missing--
	}
	return started, nil
}

// create asks ARR for the pool session of the Requested record rec
// (CreateIntent) and announces it. ok is false when ARR refused it for good
// (the record is settled: adopted or abandoned).
func (p *Pool) create(ctx context.Context, arrc *arr.Client, recs PoolRecords, rec *arrops.Session, now time.Time, log *slog.Logger) (ok bool, err error) {
	var bus Publisher
	if p.Bus != nil {
		if bus, err = p.Bus.Get(ctx); err != nil {
			return false, fmt.Errorf("open messaging: %w", err)
		}
	}
	res, err := CreateIntent(ctx, arrc, recs, bus, rec, false, now)
	if err != nil {
		return false, fmt.Errorf("start pool session %s: %w", rec.ID, err)
	}
	if res.Refused != nil {
		log.Warn("pool session refused by ARR", "sessionId", rec.ID, "err", res.Refused)
		return false, nil
	}
	if res.Abandoned {
		return false, nil
	}
	if bus != nil {
		// Without a bus the claim is published by a later sweep (stale claim).
		if err := PublishSessionClaim(ctx, recs, bus, res.Session, now, res.Won); err != nil {
			return true, err
		}
	}
	return true, nil
}

// renew lengthens the ARR lease of an unclaimed Ready session when less than
// half of a pool lease is left, to LeaseMinutes from now.
func (p *Pool) renew(ctx context.Context, arrc *arr.Client, recs PoolRecords, s *arrops.Session, now time.Time) (bool, error) {
	if s.Status != arrops.SessionReady || s.ReadyAt.IsZero() {
		return false, nil
	}
	lease := time.Duration(p.Config.LeaseMinutes) * time.Minute
	end := s.ReadyAt.Add(time.Duration(s.MaxLeaseMinutes) * time.Minute)
	if end.Sub(now) >= lease/2 {
		return false, nil
	}
	want := min(int(math.Ceil(now.Sub(s.ReadyAt).Minutes()+lease.Minutes())), arrops.MaxLeaseMinutes)
	if want <= s.MaxLeaseMinutes {
		return false, nil // at ARR's 24 h cap: the session expires, and is replaced
	}
	resp, err := arrc.UpdateSession(ctx, s.ID, int32(want), nil)
	if err != nil {
		return false, fmt.Errorf("renew lease of pool session %s: %w", s.ID, err)
	}
	err = modifySession(ctx, recs, s, func(r *arrops.Session) bool {
		if !r.PoolFree() {
			return false // claimed meanwhile: the claim set its own lease
		}
		Apply(r, &resp.Session, now)
		r.MaxLeaseMinutes = max(r.MaxLeaseMinutes, want)
		return true
	})
	return err == nil, err
}

// stop stops an unclaimed pool session at window close. The record is
// re-read first: a session claimed since the list was read is left alone.
func (p *Pool) stop(ctx context.Context, arrc *arr.Client, recs PoolRecords, s *arrops.Session, now time.Time) error {
	fresh, err := recs.GetSession(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("re-read pool session %s: %w", s.ID, err)
	}
	if !fresh.PoolFree() || fresh.Status.Terminal() {
		return nil
	}
	if fresh.Status == arrops.SessionRequested {
		// An intent ARR may not have yet: abandoned, so a maintainer that
		// creates it late stops it again (CreateIntent), as does the sweep.
		_, _, err := AbandonSession(ctx, recs, nil, s.ID, "", poolStopReason, false, now)
		return err
	}
	// Mark it first (ETag-conditional): a claim that read the record before
	// now fails its write instead of taking a session being stopped.
	if err := modifySession(ctx, recs, fresh, func(r *arrops.Session) bool {
		if !r.PoolFree() || r.Status.Terminal() {
			return false
		}
		r.StopReason = poolStopReason
		return true
	}); err != nil {
		return err
	}
	if !fresh.PoolFree() || fresh.StopReason != poolStopReason {
		return nil
	}
	if _, err := arrc.StopSession(ctx, s.ID, nil); err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		return fmt.Errorf("stop pool session %s: %w", s.ID, err)
	}
	_, _, err = Finalize(ctx, nil, recs, fresh, s.ID, poolStopReason, now)
	return err
}

// arm records the next edge and schedules a pool message for it, once: the
// mark is an ETag-conditional write, so of many maintainers deciding on the
// same edge one sends it.
func (p *Pool) arm(ctx context.Context, recs PoolRecords, at, now time.Time) error {
	if at.IsZero() || p.Due == nil {
		return nil
	}
	at = at.UTC().Truncate(time.Second).Add(time.Second) // never early
	m, err := recs.GetDueMark(ctx, poolEdgeMark)
	if err != nil {
		return err
	}
	if m.DueAt.Equal(at) {
		return nil
	}
	m.DueAt = at
	if err := recs.SaveDueMark(ctx, poolEdgeMark, m); errors.Is(err, ErrConcurrentUpdate) {
		return nil // another maintainer armed an edge just now
	} else if err != nil {
		return err
	}
	due, err := p.Due.Get(ctx)
	if err != nil {
		return fmt.Errorf("open due queue: %w", err)
	}
	return due.Schedule(ctx, arrops.DueMessage{Kind: arrops.DuePool, At: at}, at)
}

// Replenish asks for a maintenance now (after a claim took a session): a due
// message, so the claim's reply does not wait for ARR.
func (p *Pool) Replenish(ctx context.Context, now time.Time) error {
	if !p.Enabled() || p.Due == nil {
		return nil
	}
	due, err := p.Due.Get(ctx)
	if err != nil {
		return fmt.Errorf("open due queue: %w", err)
	}
	return due.Schedule(ctx, arrops.DueMessage{Kind: arrops.DuePool, At: now.UTC()}, now)
}

// modifySession is ModifySession for changes that cannot fail.
func modifySession(ctx context.Context, recs SessionRecords, s *arrops.Session, change func(*arrops.Session) bool) error {
	_, err := ModifySession(ctx, recs, s.ID, s, func(x *arrops.Session) (bool, error) { return change(x), nil })
	return err
}

// PoolClaim is a start command asking for a pool session.
type PoolClaim struct {
	// Key identifies the command (the session id a cold start would get):
	// a redelivery finds the session its first delivery claimed by it.
	Key string
	// CallerID is the sessionId the start named (empty: none): replies and
	// events name the session by it.
	CallerID               string
	Size                   arrops.SessionSize
	LeaseMinutes           int
	RequestedBy            string
	Tags                   map[string]string
	ReplyTo, CorrelationID string
	// RequestedAt is when the start was asked for (its enqueued time).
	RequestedAt time.Time
}

// Claim takes a Ready unclaimed pool session of c.Size for c with one
// ETag-conditional write (ClaimedBy, ClaimedAt, requester, tags, ReplyTo),
// so two commands never take the same session; a redelivered command gets
// the session it claimed before (fresh false). It returns nil when no pool
// session is free. The caller then sets the lease (ClaimLease).
func (p *Pool) Claim(ctx context.Context, recs PoolRecords, c PoolClaim, now time.Time) (s *arrops.Session, fresh bool, err error) {
	mine, free, err := poolView(ctx, recs, c, now)
	if mine != nil || err != nil || len(free) == 0 {
		return mine, false, err
	}
	// One delivery of a command claims at a time: two copies of it racing
	// would otherwise each take a session. The lock is a named claim record,
	// taken by a conditional insert (or over a stale one: its holder
	// crashed before it claimed; one that claimed is found by poolView). It
	// is removed when this claim is done, so no row per start stays behind.
	lock, err := lockClaim(ctx, recs, c.Key, now)
	if err != nil {
		return nil, false, err
	}
	defer unlockClaim(ctx, recs, c.Key, lock)
	// Look again under the lock: another delivery of this command may have
	// claimed and released the lock since the first look, and a session it
	// claimed must be this delivery's answer too, not a second session.
	if mine, free, err = poolView(ctx, recs, c, now); mine != nil || err != nil || len(free) == 0 {
		return mine, false, err
	}
	// Commands arriving together start at different sessions (by their key),
	// so they rarely collide on one record.
	slices.SortFunc(free, func(a, b *arrops.Session) int { return cmp.Compare(a.ID, b.ID) })
	h := fnv.New32a()
	h.Write([]byte(c.Key))
	off := int(h.Sum32() % uint32(len(free)))
	for i := range free {
		s := free[(off+i)%len(free)]
		for attempt := 0; attempt < 3; attempt++ {
			s.ClaimedBy, s.ClaimedAt, s.CallerID, s.RequestedAt = c.Key, now, c.CallerID, c.RequestedAt
			s.RequestedBy, s.Tags, s.ReplyTo, s.CorrelationID = c.RequestedBy, c.Tags, c.ReplyTo, c.CorrelationID
			err := recs.UpdateSession(ctx, s)
			if err == nil {
				return s, true, nil
			}
			if !errors.Is(err, ErrConcurrentUpdate) {
				return nil, false, fmt.Errorf("claim pool session %s: %w", s.ID, err)
			}
			// Someone wrote it since it was read: a claim (another command,
			// or this one's earlier delivery), a renewal, a sweep.
			if s, err = recs.GetSession(ctx, s.ID); err != nil {
				return nil, false, fmt.Errorf("re-read pool session: %w", err)
			}
			if s.ClaimedBy == c.Key {
				return s, false, nil
			}
			if !claimable(s, c.Size) {
				break
			}
		}
	}
	return nil, false, nil
}

// poolView reads the active sessions once: the pool session c's command has
// claimed already (an earlier delivery's), or the free ones of its size.
func poolView(ctx context.Context, recs PoolRecords, c PoolClaim, now time.Time) (mine *arrops.Session, free []*arrops.Session, err error) {
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return nil, nil, fmt.Errorf("read active sessions: %w", err)
	}
	for _, s := range active {
		if claimedUnder(s, c.Key) {
			// This command's earlier delivery claimed it; a lock it left
			// (it stopped between its claim and the lock's removal) goes.
			if m, err := recs.GetDueMark(ctx, claimLockName(c.Key)); err == nil && m.ETag != "" {
				unlockClaim(ctx, recs, c.Key, m)
			}
			return s, nil, nil
		}
		if claimable(s, c.Size) {
			free = append(free, s)
		}
	}
	return nil, free, nil
}

// ErrClaimInProgress: another delivery of the same command is claiming a
// pool session right now. Transient: the redelivery finds its claim.
var ErrClaimInProgress = fmt.Errorf("another delivery of this command is claiming a pool session: %w", ErrConcurrentUpdate)

// claimLockStale is when a claim lock counts as left by a crashed delivery:
// a claim takes well under a second, and a killed delivery's message comes
// back after the queue's lock (30 s or more), by when its lock is stale.
const claimLockStale = 20 * time.Second

// claimLockName names the claim lock of a command's claim key.
func claimLockName(key string) string { return "claim-" + key }

func lockClaim(ctx context.Context, recs PoolRecords, key string, now time.Time) (*arrops.FollowUpChain, error) {
	name := claimLockName(key)
	m, err := recs.GetDueMark(ctx, name)
	if err != nil {
		return nil, err
	}
	if m.ETag != "" && now.Sub(m.DueAt) < claimLockStale {
		return nil, ErrClaimInProgress
	}
	m.DueAt = now
	if err := recs.SaveDueMark(ctx, name, m); errors.Is(err, ErrConcurrentUpdate) {
		return nil, ErrClaimInProgress
	} else if err != nil {
		return nil, err
	}
	return m, nil
}

// unlockClaim removes the claim lock m of key, if it is still as taken (one
// taken over since is the taker's to remove). Best effort: a lock left
// behind is taken over by its command's next delivery once stale, and
// removed by it (or by the redelivery that finds the claim).
func unlockClaim(ctx context.Context, recs PoolRecords, key string, m *arrops.FollowUpChain) {
	if m == nil || m.ETag == "" {
		return
	}
	// Gone or replaced already (a later look under the same lock found the
	// claim and removed it, or a redelivery took it over): nothing to do.
	if err := recs.DeleteDueMark(ctx, claimLockName(key), m); err != nil && !errors.Is(err, ErrConcurrentUpdate) && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		Logger(ctx).Warn("claim lock not removed", "key", key, "err", err)
	}
}

// ClaimedSession returns the active pool session claimed under key (the
// sessionId a pooled start was given, or the id derived from its message),
// or nil.
func ClaimedSession(ctx context.Context, recs PoolRecords, key string, now time.Time) (*arrops.Session, error) {
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("read active sessions: %w", err)
	}
	for _, s := range active {
		if claimedUnder(s, key) {
			return s, nil
		}
	}
	return nil, nil
}

// claimedUnder reports whether s is a pool session claimed under key.
func claimedUnder(s *arrops.Session, key string) bool {
	return s.Origin == arrops.OriginPool && s.ClaimedBy == key
}

func claimable(s *arrops.Session, sz arrops.SessionSize) bool {
	return s.PoolFree() && s.Size == sz && s.Status == arrops.SessionReady && s.Hostname != "" && s.StopReason == ""
}

// ClaimLease sets the ARR lease of a claimed pool session to its requested
// minutes counted from the claim (ARR counts the lease from Ready). ARR only
// lengthens leases: when the pool lease left is longer than asked for, it
// stays. Idempotent: a redelivery computes the same lease from ClaimedAt.
func ClaimLease(ctx context.Context, arrc *arr.Client, recs SessionRecords, s *arrops.Session, lease int, now time.Time) error {
	want := min(int(math.Ceil(s.ClaimedAt.Sub(s.ReadyAt).Minutes()))+lease, arrops.MaxLeaseMinutes)
	if want <= s.MaxLeaseMinutes {
		return nil
	}
	resp, err := arrc.UpdateSession(ctx, s.ID, int32(want), nil)
	if err != nil {
		return fmt.Errorf("set lease of claimed session %s: %w", s.ID, err)
	}
	return modifySession(ctx, recs, s, func(r *arrops.Session) bool {
		if r.MaxLeaseMinutes >= want {
			return false
		}
		Apply(r, &resp.Session, now)
		r.MaxLeaseMinutes = max(r.MaxLeaseMinutes, want)
		return true
	})
}
