package functions

import (
	"context"
	"errors"
	"fmt"

	"github.com/arrops/arrops"
)

// ErrConcurrentUpdate is the records' ETag precondition failure: someone else
// wrote the record since it was read. ModifySession and ModifyConversion
// re-read and retry on it.
var ErrConcurrentUpdate = arrops.ErrConcurrentUpdate

// MaxModifyAttempts is how many conditional writes one ModifySession or
// ModifyConversion call makes before it gives up. Each failed attempt means
// another writer got in between a read and a write of the same record, so a
// fourth loss in a row is a storm, not bad luck: the call then fails with a
// transient error wrapping ErrConcurrentUpdate (arrops.EINTERNAL), the
// invocation answers non-2xx, and the host retries it (a timer: the next
// run), which re-reads everything.
const MaxModifyAttempts = 4

// ModifySession changes a session record with an ETag-conditional write. cur
// is the caller's copy of the record (nil: it is read by id first). fn says
// what changes: it edits the record in place and reports whether there is
// anything to write; it is called again on a fresh copy after every conflict,
// so it must decide from the record it is given (a stale view must never move
// a record backwards). When fn reports no change nothing is written.
//
// cur is updated in place, so on success it (the returned record) is what is
// stored, with its new ETag. An error from fn is returned as it is; a failed
// write or read is wrapped with the session id; running out of attempts is
// the transient error described at MaxModifyAttempts.
func ModifySession(ctx context.Context, recs SessionRecords, id string, cur *arrops.Session, fn func(*arrops.Session) (changed bool, err error)) (*arrops.Session, error) {
	return modify(ctx, "session", id, cur, recs.GetSession, recs.UpdateSession, fn)
}

// ModifyConversion is ModifySession for conversion records.
func ModifyConversion(ctx context.Context, recs ConversionRecords, id string, cur *arrops.Conversion, fn func(*arrops.Conversion) (changed bool, err error)) (*arrops.Conversion, error) {
	return modify(ctx, "conversion", id, cur, recs.GetConversion, recs.UpdateConversion, fn)
}

func modify[T any](ctx context.Context, kind, id string, cur *T,
	get func(context.Context, string) (*T, error), update func(context.Context, *T) error,
	fn func(*T) (bool, error)) (*T, error) {
	if cur == nil {
		fresh, err := get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
		}
		cur = fresh
	}
	for attempt := 1; ; attempt++ {
		changed, err := fn(cur)
		if err != nil {
			return nil, err
		}
		if !changed {
			return cur, nil
		}
		err = update(ctx, cur)
		switch {
		case err == nil:
			return cur, nil
		case !errors.Is(err, ErrConcurrentUpdate):
			return nil, fmt.Errorf("record %s %s: %w", kind, id, err)
		case attempt == MaxModifyAttempts:
			return nil, fmt.Errorf("record %s %s: changed by others %d times in a row: %w", kind, id, attempt, err)
		}
		fresh, err := get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("re-read %s %s: %w", kind, id, err)
		}
		*cur = *fresh
	}
}
