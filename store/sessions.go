package store

import (
	"context"
	"iter"
	"time"

	"github.com/arrops/arrops"
)

// GetSession returns the record of session id, or an arrops.ENOTFOUND error.
func (s *Store) GetSession(ctx context.Context, id string) (*arrops.Session, error) {
	return sessionKind.get(ctx, s, id)
}

// CreateSession records a new session. When a record with sess.ID exists
// already (a redelivered start, a session adopted twice) it writes nothing and
// returns the existing record with created false, so a redelivery is a clean
// no-op. On creation it returns sess itself with ETag and UpdatedAt set (and
// CreatedAt, when zero, set to now); CreatedAt picks the record's partition.
func (s *Store) CreateSession(ctx context.Context, sess *arrops.Session) (rec *arrops.Session, created bool, err error) {
	return sessionKind.create(ctx, s, sess)
}

// UpdateSession replaces the record of sess if it has not changed since sess
// was read (its ETag). Otherwise it returns ErrConcurrentUpdate (wrapped):
// re-read, re-apply, retry. On success sess.ETag and sess.UpdatedAt are the
// new ones. Callers skip the call when nothing changed.
func (s *Store) UpdateSession(ctx context.Context, sess *arrops.Session) error {
	return sessionKind.update(ctx, s, sess)
}

// ActiveSessions returns the non-terminal sessions (Starting, Ready) created
// within ActiveWindow before now. Reservations not yet started are not
// active: ARR has no session for them (see ReservedSessions).
func (s *Store) ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error) {
	f := activeFilter(now) + " and Status ne 'Stopped' and Status ne 'Expired' and Status ne 'Error' and Status ne 'Reserved'"
	return collect(scan(ctx, s, s.sessions, f, decodeSession), func(v *arrops.Session) bool {
		return !v.Status.Terminal() && v.Status != arrops.SessionReserved
	})
}

// ReservedSessions returns the reservations not yet started whose start
// (CreatedAt: StartAt less the lead) lies within ActiveWindow before now or
// the day after: the timer's safety net for a lost reservation message.
func (s *Store) ReservedSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error) {
	f := activeFilter(now) + " and Status eq 'Reserved'"
	return collect(scan(ctx, s, s.sessions, f, decodeSession), func(v *arrops.Session) bool { return v.Status == arrops.SessionReserved })
}

// FinishedSessionsSince returns the sessions that became terminal at or after
// since (StoppedAt >= since), for the daily budget. Sessions end within a day
// or so of their creation, so partitions from two days before since are read.
func (s *Store) FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error) {
	f, ok := dayRange(since.Add(-2*24*time.Hour), now.Add(24*time.Hour))
	if !ok {
		return nil, nil
	}
	st, _ := storeTime(since)
	f += " and StoppedAt ge datetime'" + st.Format(time.RFC3339Nano) + "'"
	return collect(scan(ctx, s, s.sessions, f, decodeSession), func(v *arrops.Session) bool {
		return v.Status.Terminal() && !v.StoppedAt.Before(since)
	})
}

// SessionsByDay streams the sessions created on the UTC days that overlap
// [from, to), in (day, id) order, one page in memory at a time. A session is
// filed under its creation day only: read earlier days too for sessions that
// ran into the range, and clip by the session's own times.
func (s *Store) SessionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error] {
	f, ok := dayRange(from, to)
	if !ok {
		return empty[arrops.Session]()
	}
	return scan(ctx, s, s.sessions, f, decodeSession)
}
