package store

import (
	"context"
	"iter"
	"time"

	"github.com/arrops/arrops"
)

// GetConversion returns the record of conversion id, or an arrops.ENOTFOUND
// error.
func (s *Store) GetConversion(ctx context.Context, id string) (*arrops.Conversion, error) {
	return conversionKind.get(ctx, s, id)
}

// CreateConversion records a new conversion (or rejected upload). As
// CreateSession: an existing id returns the existing record, created false.
func (s *Store) CreateConversion(ctx context.Context, c *arrops.Conversion) (rec *arrops.Conversion, created bool, err error) {
	return conversionKind.create(ctx, s, c)
}

// UpdateConversion replaces the record of c if its ETag still matches, else
// returns ErrConcurrentUpdate (wrapped). On success c.ETag is the new one.
func (s *Store) UpdateConversion(ctx context.Context, c *arrops.Conversion) error {
	return conversionKind.update(ctx, s, c)
}

// ActiveConversions returns the non-terminal conversions (NotStarted,
// Running) created within ActiveWindow before now.
func (s *Store) ActiveConversions(ctx context.Context, now time.Time) ([]*arrops.Conversion, error) {
	f := activeFilter(now) + " and Status ne 'Succeeded' and Status ne 'Failed' and Status ne 'Cancelled' and Status ne 'Rejected'"
	return collect(scan(ctx, s, s.conversions, f, decodeConversion), func(v *arrops.Conversion) bool { return !v.Status.Terminal() })
}

// ConversionsByDay streams the conversions created on the UTC days that
// overlap [from, to), in (day, id) order, one page in memory at a time.
func (s *Store) ConversionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error] {
	f, ok := dayRange(from, to)
	if !ok {
		return empty[arrops.Conversion]()
	}
	return scan(ctx, s, s.conversions, f, decodeConversion)
}
