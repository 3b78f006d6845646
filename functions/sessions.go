package functions

import (
	"context"
	"fmt"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

// SessionRecords is the part of the store that keeps session records.
type SessionRecords interface {
	GetSession(ctx context.Context, id string) (*arrops.Session, error)
	CreateSession(ctx context.Context, s *arrops.Session) (*arrops.Session, bool, error)
	UpdateSession(ctx context.Context, s *arrops.Session) error
}

// Apply copies what ARR reports about a session into its record and returns
// whether anything changed. Transition times are taken from the first sighting:
// ReadyAt when first seen Ready, StoppedAt when first seen terminal.
//
// ARR statuses only move forward (Starting, Ready, then a terminal one), so a
// view that is behind the record is stale — a list or GET taken before
// another run recorded the stop, applied again after an ETag re-read — and is
// ignored: applying it would undo that run's update.
func Apply(s *arrops.Session, a *arr.Session, now time.Time) bool {
	if a.Status != "" && statusRank(arrops.SessionStatus(a.Status)) < statusRank(s.Status) {
		return false
	}
	before := *s
	if a.Status != "" {
		s.Status = arrops.SessionStatus(a.Status)
	}
	if a.Size != "" {
		s.Size = arrops.SessionSize(a.Size)
	}
	if a.MaxLeaseTimeMinutes != nil {
		s.MaxLeaseMinutes = int(*a.MaxLeaseTimeMinutes)
	}
	if a.ElapsedTimeMinutes != nil {
		s.ElapsedMinutes = int(*a.ElapsedTimeMinutes)
	}
	if h, ok := a.Host(); ok {
		s.Hostname = h
	}
	if hp, ip, ok := a.Ports(); ok {
		s.HandshakePort, s.InspectorPort = hp, ip
	}
	if tf, ok := a.TeraflopsKnown(); ok {
		s.Teraflops = float64(tf)
	}
	if a.Error != nil {
		// ARR's text is unbounded; records, replies and events are not.
		s.ErrorCode, s.ErrorMessage = arrops.Clip(a.Error.Code, arrops.MaxTextBytes), arrops.Clip(a.Error.Message, arrops.MaxTextBytes)
	}
	if s.Status == arrops.SessionReady && s.ReadyAt.IsZero() {
		s.ReadyAt = now
	}
	if s.Status.Terminal() {
		if s.StoppedAt.IsZero() {
			s.StoppedAt = now
		}
		// ARR drops hostname and ports when a session ends.
		s.Hostname, s.HandshakePort, s.InspectorPort = "", 0, 0
	}
	return !sameSession(&before, s)
}

// statusRank orders session statuses along the lifecycle; an empty status
// (a new record) comes first, then Requested (intent recorded, ARR not yet
// answered).
func statusRank(st arrops.SessionStatus) int {
	switch {
	case st == "" || st == arrops.SessionReserved:
		return 0
	case st == arrops.SessionRequested:
		return 1
	case st == arrops.SessionStarting:
		return 2
	case st == arrops.SessionReady:
		return 3
	case st.Terminal():
		return 4
	}
	return 2 // a status this version does not know: treat as active
}

// sameSession compares what Apply may change. Elapsed minutes of an active
// session tick every minute; they are written with the next real change (and
// always at the end), so an unchanged sweep writes nothing.
func sameSession(a, b *arrops.Session) bool {
	return a.Status == b.Status && a.Size == b.Size && a.MaxLeaseMinutes == b.MaxLeaseMinutes &&
		(a.ElapsedMinutes == b.ElapsedMinutes || !b.Status.Terminal()) && a.Hostname == b.Hostname && a.HandshakePort == b.HandshakePort &&
		a.InspectorPort == b.InspectorPort && a.Teraflops == b.Teraflops && a.ErrorCode == b.ErrorCode &&
		a.ErrorMessage == b.ErrorMessage && a.ReadyAt.Equal(b.ReadyAt) && a.StoppedAt.Equal(b.StoppedAt)
}

// Adopt makes a record for a session found in ARR that arrops did not start
// (portal, scripts): no requester, origin external.
func Adopt(a *arr.Session, now time.Time) *arrops.Session {
	s := &arrops.Session{ID: a.ID, Origin: arrops.OriginExternal, CreatedAt: now}
	if a.CreationTime != nil {
		s.CreatedAt = a.CreationTime.UTC()
	}
	Apply(s, a, now)
	return s
}

// Finalize records a session that arrops has just stopped: one GET for ARR's
// final figures (elapsed minutes, teraflops), then the terminal record with
// the stop reason. rec may be nil when the session had no record yet.
// A failed GET is not fatal: the stop happened, so the record says so.
// With a nil arrc no GET is made: the caller has just brought rec up to date
// from ARR (shutdown, from its one List call), so the GET would only refresh
// the elapsed minutes, which billing does not use.
// claimed reports whether this call claimed the Stopped announcement (see
// ClaimSessionAnnouncement); pass it to PublishSessionClaim.
func Finalize(ctx context.Context, arrc *arr.Client, recs SessionRecords, rec *arrops.Session, id, reason string, now time.Time) (s *arrops.Session, claimed bool, err error) {
	var final *arr.Session
	if arrc != nil {
		if resp, err := arrc.GetSession(ctx, id, nil); err == nil {
			final = &resp.Session
		}
	}
	if rec == nil {
		if final != nil {
			rec = Adopt(final, now)
		} else {
			rec = &arrops.Session{ID: id, Origin: arrops.OriginExternal, CreatedAt: now}
		}
		if rec, _, err = recs.CreateSession(ctx, rec); err != nil {
			return nil, false, fmt.Errorf("record stopped session %s: %w", id, err)
		}
	}
	s, err = ModifySession(ctx, recs, id, rec, func(rec *arrops.Session) (bool, error) {
		if final != nil {
			Apply(rec, final, now)
		}
		if !rec.Status.Terminal() {
			// ARR may still say Ready for a moment after the stop call.
			rec.Status = arrops.SessionStopped
			rec.StoppedAt = now
			rec.Hostname, rec.HandshakePort, rec.InspectorPort = "", 0, 0
		}
		if rec.StopReason == "" {
			rec.StopReason = reason
		}
		claimed = ClaimSessionAnnouncement(rec, now)
		return true, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("record stop of %s: %w", id, err)
	}
	return s, claimed, nil
}

// ListSessions reads every page of ARR's session list (one List call per page).
func ListSessions(ctx context.Context, arrc *arr.Client) ([]arr.Session, error) {
	var out []arr.Session
	pager := arrc.NewListSessionsPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, page.Sessions...)
	}
	return out, nil
}

// SyncSession writes ARR's view of one session into its record (re-reading on
// ETag conflicts, so rec ends up as stored) and announces a new status once.
// It returns the number of table writes made.
func SyncSession(ctx context.Context, recs SessionRecords, bus Publisher, rec *arrops.Session, a *arr.Session, now time.Time) (int, error) {
	writes, claimed, changed := 0, false, false
	// rec is updated in place: shutdown goes on to decide and write with it,
	// and a stale copy (another run's ReadyAt, an old ETag) made it warn
	// twice under two stop times and lose its WarnedAt write.
	_, err := ModifySession(ctx, recs, rec.ID, rec, func(rec *arrops.Session) (bool, error) {
		changed = Apply(rec, a, now)
		claimed = ClaimSessionAnnouncement(rec, now)
		return changed || claimed, nil
	})
	if err != nil {
		return 0, err
	}
	if changed || claimed {
		writes++
	}
	claimedAt := rec.AnnounceClaimedAt
	if err := PublishSessionClaim(ctx, recs, bus, rec, now, claimed); err != nil {
		return writes, err
	}
	if !claimedAt.IsZero() && rec.AnnounceClaimedAt.IsZero() {
		writes++
	}
	return writes, nil
}
