package main

import (
	"context"
	"iter"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/report"
)

// records is the part of the store arrctl reads: report.Records, so the
// report reads exactly as the HTTP one does, and single sessions.
type records interface {
	report.Records
	GetSession(ctx context.Context, id string) (*arrops.Session, error)
	GetConversion(ctx context.Context, id string) (*arrops.Conversion, error)
	AuditByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.CommandAudit, error]
}

// records opens the Table Storage records with the configured settings.
func (e *env) records(ctx context.Context) (records, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}
