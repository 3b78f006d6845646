// Package memstore keeps arrops' records in memory, with the semantics of
// store.Store on Table Storage: the same create-if-absent, ETag-conditional
// updates (arrops.ErrConcurrentUpdate), times as stored (UTC, 100 ns), range
// queries by creation day in (day, id) order and error codes. Both drivers
// pass the conformance suite in store/storetest, which is what lets the
// functions' unit tests run on this one, without Azurite.
//
// Records live as long as the Store; nothing is persisted. It is for tests
// and tools that need records without a storage account.
package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/store"
)

// Options configure a Store. The zero value (or nil) uses time.Now.
type Options struct {
	// Now is the clock for UpdatedAt, a zero CreatedAt and a zero audit At.
	Now func() time.Time
}

// Store is an in-memory record store. It is safe for concurrent use.
type Store struct {
	now func() time.Time

	mu          sync.Mutex
	etag        uint64
	sessions    map[string]entry[arrops.Session]
	conversions map[string]entry[arrops.Conversion]
	audit       map[auditKey]arrops.CommandAudit
	marks       map[string]*arrops.FollowUpChain // claim records by name; absent before the first write

	reads, writes atomic.Int64
}

type auditKey struct{ day, row string }

// entry is a stored record and its partition: the creation day it was
// first written under, which (as in Table Storage) an update never moves.
type entry[T any] struct {
	day string
	v   *T
}

// New returns an empty Store.
func New(opts *Options) *Store {
	s := &Store{now: time.Now, sessions: map[string]entry[arrops.Session]{}, conversions: map[string]entry[arrops.Conversion]{},
		audit: map[auditKey]arrops.CommandAudit{}, marks: map[string]*arrops.FollowUpChain{}}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	return s
}

// Requests counts the calls made so far, as store.Store's requests would:
// reads (get, list) and writes (create, update, audit, import).
func (s *Store) Requests() (reads, writes int64) { return s.reads.Load(), s.writes.Load() }

// EnsureTables does nothing: there are no tables to create. It exists so the
// Store can stand where store.Store is opened.
func (s *Store) EnsureTables(context.Context) error { return nil }

// kind is what the shared code needs to know of a record type.
type kind[T any] struct {
	name     string
	table    func(*Store) map[string]entry[T]
	id       func(*T) string
	created  func(*T) *time.Time
	updated  func(*T) *time.Time
	etag     func(*T) *string
	copy     func(*T) *T // a deep copy, times normalized as stored
	terminal func(*T) bool
	limits   func(*T) error // Table Storage's limits (store.CheckSession, ...)
}

var sessionKind = kind[arrops.Session]{
	name:    "session",
	table:   func(s *Store) map[string]entry[arrops.Session] { return s.sessions },
	id:      func(v *arrops.Session) string { return v.ID },
	created: func(v *arrops.Session) *time.Time { return &v.CreatedAt },
	updated: func(v *arrops.Session) *time.Time { return &v.UpdatedAt },
	etag:    func(v *arrops.Session) *string { return &v.ETag },
	copy: func(v *arrops.Session) *arrops.Session {
		c := *v
		c.Tags = maps.Clone(v.Tags)
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
		for _, t := range []*time.Time{&c.CreatedAt, &c.ReadyAt, &c.StoppedAt, &c.AnnounceClaimedAt, &c.ExtendedUntil, &c.WarnedAt, &c.UpdatedAt} {
			*t = stored(*t)
		}
		return &c
	},
	terminal: func(v *arrops.Session) bool { return v.Status.Terminal() },
	limits:   store.CheckSession,
}

var conversionKind = kind[arrops.Conversion]{
	name:    "conversion",
	table:   func(s *Store) map[string]entry[arrops.Conversion] { return s.conversions },
	id:      func(v *arrops.Conversion) string { return v.ID },
	created: func(v *arrops.Conversion) *time.Time { return &v.CreatedAt },
	updated: func(v *arrops.Conversion) *time.Time { return &v.UpdatedAt },
	etag:    func(v *arrops.Conversion) *string { return &v.ETag },
	copy: func(v *arrops.Conversion) *arrops.Conversion {
		c := *v
		for _, t := range []*time.Time{&c.CreatedAt, &c.CompletedAt, &c.AnnounceClaimedAt, &c.UpdatedAt} {
			*t = stored(*t)
		}
		if v.Details != nil {
			// Table Storage keeps the details as JSON: a read never shares them.
			b, _ := json.Marshal(v.Details)
			c.Details = &arrops.ConversionDetails{}
			_ = json.Unmarshal(b, c.Details)
		}
		return &c
	},
	terminal: func(v *arrops.Conversion) bool { return v.Status.Terminal() },
	limits:   store.CheckConversion,
}

// stored is t as Table Storage keeps it: UTC at 100 ns.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}

// day is the partition of a record created at t.
func day(t time.Time) string { return t.UTC().Format("20060102") }

func validID(kind, id string) error {
	if err := arrops.ValidateID(id); err != nil {
		return arrops.Errorf(arrops.EINVALID, "%s id: %s", kind, arrops.ErrorMessage(err))
	}
	return nil
}

func notFound(kind, id string) error {
	return arrops.Errorf(arrops.ENOTFOUND, "%s %s not found", kind, id)
}

// nextETag returns a new ETag; s.mu is held.
func (s *Store) nextETag() string {
	s.etag++
	return `W/"` + strconv.FormatUint(s.etag, 10) + `"`
}

func (k *kind[T]) get(s *Store, id string) (*T, error) {
	s.reads.Add(1)
	if err := validID(k.name, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := k.table(s)[id]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", k.name, notFound(k.name, id))
	}
	return k.copy(e.v), nil
}

func (k *kind[T]) create(s *Store, v *T) (*T, bool, error) {
	s.writes.Add(1)
	id := k.id(v)
	if err := validID(k.name, id); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	// Refused before anything else, as store.Store refuses it before its
	// first write, also when a record with the id exists.
	if err := k.limits(v); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := k.table(s)[id]; ok {
		return k.copy(existing.v), false, nil
	}
	if k.created(v).IsZero() {
		*k.created(v) = now
	}
	*k.updated(v), *k.etag(v) = now, s.nextETag()
	k.table(s)[id] = entry[T]{day(*k.created(v)), k.copy(v)}
	return v, true, nil
}

func (k *kind[T]) update(s *Store, v *T) error {
	s.writes.Add(1)
	id := k.id(v)
	if err := validID(k.name, id); err != nil {
		return err
	}
	if *k.etag(v) == "" {
		return arrops.Errorf(arrops.EINVALID, "update %s %s without an ETag: read or create it first", k.name, id)
	}
	if err := k.limits(v); err != nil {
		return err
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := k.table(s)[id]
	switch {
	case !ok:
		return fmt.Errorf("update %s: %w", k.name, notFound(k.name, id))
	case *k.etag(cur.v) != *k.etag(v):
		return fmt.Errorf("update %s %s: %w", k.name, id, arrops.ErrConcurrentUpdate)
	}
	*k.updated(v), *k.etag(v) = now, s.nextETag()
	k.table(s)[id] = entry[T]{cur.day, k.copy(v)}
	return nil
}

func (k *kind[T]) importRecords(s *Store, recs []*T) error {
	s.writes.Add(1)
	for _, v := range recs {
		if err := validID(k.name, k.id(v)); err != nil {
			return err
		}
		if k.created(v).IsZero() {
			return arrops.Errorf(arrops.EINVALID, "import %s %s: no creation time", k.name, k.id(v))
		}
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range recs {
		if k.updated(v).IsZero() {
			*k.updated(v) = now
		}
		rec := k.copy(v)
		*k.etag(rec) = s.nextETag()
		k.table(s)[k.id(v)] = entry[T]{day(*k.created(v)), rec}
	}
	return nil
}

// dayRange returns the first and last partition overlapping [from, to); ok
// is false for an empty range.
func dayRange(from, to time.Time) (first, last string, ok bool) {
	if !to.After(from) {
		return "", "", false
	}
	return day(from), day(to.Add(-time.Nanosecond)), true
}

// scan returns copies of the records in partitions [first, last] that keep
// accepts, in (day, id) order, as one snapshot.
func (k *kind[T]) scan(s *Store, first, last string, keep func(*T) bool) []*T {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []entry[T]
	for _, e := range k.table(s) {
		if e.day >= first && e.day <= last && (keep == nil || keep(e.v)) {
			found = append(found, e)
		}
	}
	slices.SortFunc(found, func(a, b entry[T]) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(k.id(a.v), k.id(b.v)))
	})
	out := make([]*T, len(found))
	for i, e := range found {
		out[i] = k.copy(e.v)
	}
	return out
}

func (k *kind[T]) byDay(s *Store, from, to time.Time) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		first, last, ok := dayRange(from, to)
		if !ok {
			return
		}
		for _, v := range k.scan(s, first, last, nil) {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// active returns the non-terminal records created within store.ActiveWindow
// before now (or up to a day after, for clock skew).
func (k *kind[T]) active(s *Store, now time.Time) []*T {
	first, last, _ := dayRange(now.Add(-store.ActiveWindow), now.Add(24*time.Hour))
	return k.scan(s, first, last, func(v *T) bool { return !k.terminal(v) })
}

// GetSession returns the record of session id, or an arrops.ENOTFOUND error.
func (s *Store) GetSession(_ context.Context, id string) (*arrops.Session, error) {
	return sessionKind.get(s, id)
}

// CreateSession records sess unless a record with its id exists; then it
// returns that record with created false (see store.Store.CreateSession).
func (s *Store) CreateSession(_ context.Context, sess *arrops.Session) (*arrops.Session, bool, error) {
	return sessionKind.create(s, sess)
}

// UpdateSession replaces the record of sess if its ETag still matches, else
// returns arrops.ErrConcurrentUpdate (wrapped).
func (s *Store) UpdateSession(_ context.Context, sess *arrops.Session) error {
	return sessionKind.update(s, sess)
}

// ActiveSessions returns the non-terminal sessions created within
// store.ActiveWindow before now.
func (s *Store) ActiveSessions(_ context.Context, now time.Time) ([]*arrops.Session, error) {
	var out []*arrops.Session
	for _, v := range sessionKind.active(s, now) {
		if v.Status != arrops.SessionReserved {
			out = append(out, v)
		}
	}
	return out, nil
}

// ReservedSessions returns the reservations not yet started whose start
// (CreatedAt) lies in the active window (see store.Store.ReservedSessions).
func (s *Store) ReservedSessions(_ context.Context, now time.Time) ([]*arrops.Session, error) {
	var out []*arrops.Session
	for _, v := range sessionKind.active(s, now) {
		if v.Status == arrops.SessionReserved {
			out = append(out, v)
		}
	}
	return out, nil
}

// FinishedSessionsSince returns the sessions that became terminal at or after
// since, created from two days before since on.
func (s *Store) FinishedSessionsSince(_ context.Context, since, now time.Time) ([]*arrops.Session, error) {
	first, last, ok := dayRange(since.Add(-2*24*time.Hour), now.Add(24*time.Hour))
	if !ok {
		return nil, nil
	}
	return sessionKind.scan(s, first, last, func(v *arrops.Session) bool {
		return v.Status.Terminal() && !stored(v.StoppedAt).Before(since)
	}), nil
}

// SessionsByDay yields the sessions created on the UTC days that overlap
// [from, to), in (day, id) order.
func (s *Store) SessionsByDay(_ context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error] {
	return sessionKind.byDay(s, from, to)
}

// ImportSessions writes recs (upsert), each needing a CreatedAt.
func (s *Store) ImportSessions(_ context.Context, recs []*arrops.Session) error {
	return sessionKind.importRecords(s, recs)
}

// GetConversion returns the record of conversion id, or an arrops.ENOTFOUND
// error.
func (s *Store) GetConversion(_ context.Context, id string) (*arrops.Conversion, error) {
	return conversionKind.get(s, id)
}

// CreateConversion records c unless a record with its id exists.
func (s *Store) CreateConversion(_ context.Context, c *arrops.Conversion) (*arrops.Conversion, bool, error) {
	return conversionKind.create(s, c)
}

// UpdateConversion replaces the record of c if its ETag still matches.
func (s *Store) UpdateConversion(_ context.Context, c *arrops.Conversion) error {
	return conversionKind.update(s, c)
}

// ActiveConversions returns the non-terminal conversions created within
// store.ActiveWindow before now.
func (s *Store) ActiveConversions(_ context.Context, now time.Time) ([]*arrops.Conversion, error) {
	return conversionKind.active(s, now), nil
}

// ConversionsByDay yields the conversions created on the UTC days that
// overlap [from, to), in (day, id) order.
func (s *Store) ConversionsByDay(_ context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error] {
	return conversionKind.byDay(s, from, to)
}

// ImportConversions writes recs (upsert), each needing a CreatedAt.
func (s *Store) ImportConversions(_ context.Context, recs []*arrops.Conversion) error {
	return conversionKind.importRecords(s, recs)
}

// AppendAudit writes the audit row of one delivery, keyed as store.Store
// keys it (day of At, store.AuditRowKey): a rewrite of the same delivery
// and invocation replaces its row. An empty At is set to now.
func (s *Store) AppendAudit(_ context.Context, a arrops.CommandAudit) error {
	s.writes.Add(1)
	if a.MessageID == "" {
		return arrops.Errorf(arrops.EINVALID, "audit row without a message id")
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	a.At = stored(a.At)
	if err := store.CheckAudit(&a); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit[auditKey{day(a.At), store.AuditRowKey(a.MessageID, a.DeliveryCount, a.InvocationID)}] = a
	return nil
}

// AuditByDay yields the audit rows of the UTC days that overlap [from, to),
// in (day, row key) order.
func (s *Store) AuditByDay(_ context.Context, from, to time.Time) iter.Seq2[*arrops.CommandAudit, error] {
	return func(yield func(*arrops.CommandAudit, error) bool) {
		first, last, ok := dayRange(from, to)
		if !ok {
			return
		}
		s.reads.Add(1)
		s.mu.Lock()
		keys := slices.SortedFunc(maps.Keys(s.audit), func(a, b auditKey) int {
			return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.row, b.row))
		})
		var rows []*arrops.CommandAudit
		for _, k := range keys {
			if k.day >= first && k.day <= last {
				a := s.audit[k]
				rows = append(rows, &a)
			}
		}
		s.mu.Unlock()
		for _, a := range rows {
			if !yield(a, nil) {
				return
			}
		}
	}
}

// GetFollowUpChain returns a copy of the follow-up chain's claim record; a
// zero one (empty ETag) before the first write.
func (s *Store) GetFollowUpChain(ctx context.Context) (*arrops.FollowUpChain, error) {
	return s.GetDueMark(ctx, "followup-chain")
}

// SaveFollowUpChain writes c if the record is as read (c.ETag; an empty one
// inserts the first); otherwise it returns arrops.ErrConcurrentUpdate.
func (s *Store) SaveFollowUpChain(ctx context.Context, c *arrops.FollowUpChain) error {
	return s.SaveDueMark(ctx, "followup-chain", c)
}

// GetDueMark returns a copy of the claim record called name; a zero one
// before its first write.
func (s *Store) GetDueMark(_ context.Context, name string) (*arrops.FollowUpChain, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks[name]
	if !ok {
		return &arrops.FollowUpChain{}, nil
	}
	c := *m
	return &c, nil
}

// DeleteDueMark removes the claim record called name if it is as read
// (c.ETag); otherwise it returns arrops.ErrConcurrentUpdate. One already
// gone is no error.
func (s *Store) DeleteDueMark(_ context.Context, name string, c *arrops.FollowUpChain) error {
	s.writes.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks[name]
	if !ok || c.ETag == "" {
		return nil
	}
	if m.ETag != c.ETag {
		return fmt.Errorf("delete due record %s: %w", name, arrops.ErrConcurrentUpdate)
	}
	delete(s.marks, name)
	return nil
}

// SaveDueMark writes the claim record called name if it is as read (c.ETag;
// empty inserts); otherwise it returns arrops.ErrConcurrentUpdate.
func (s *Store) SaveDueMark(_ context.Context, name string, c *arrops.FollowUpChain) error {
	s.writes.Add(1)
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks[name]
	if (c.ETag == "") == ok || (ok && m.ETag != c.ETag) {
		return fmt.Errorf("save due record %s: %w", name, arrops.ErrConcurrentUpdate)
	}
	c.UpdatedAt, c.ETag = now, s.nextETag()
	saved := *c
	saved.DueAt = stored(c.DueAt)
	s.marks[name] = &saved
	return nil
}
