package main

import (
	"context"
	"iter"
	"time"

	"github.com/arrops/arrops"
)

// records is the part of the store arrctl reads. It is a superset of
// report.Records, so the report reads exactly as the HTTP one does.
type records interface {
	SessionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error]
	ConversionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error]
	GetSession(ctx context.Context, id string) (*arrops.Session, error)
}

// records opens the Table Storage records with the configured settings.
func (e *env) records(ctx context.Context) (records, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}
