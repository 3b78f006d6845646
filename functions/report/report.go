// Package report is the `report` function (HTTP GET /api/report, function
// key): usage and cost of sessions and a conversions summary, as JSON, CSV or
// a self-contained HTML page with charts (package report does the work; this
// adapts it to the custom-handler HTTP binding).
//
// Records are read with day-range queries on the table keys (no scans),
// starting two days before `from` so sessions that began earlier and ran into
// the range are counted; billing clips them to the range.
package report

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	rep "github.com/arrops/arrops/report"
	"github.com/arrops/arrops/trigger"
)

// Binding names in function.json.
const (
	Binding    = "req"
	OutBinding = "res"
)

// Lookback is how far before `from` records are read (a session's record is
// keyed by its creation day; leases end within 24 hours of Ready).
const Lookback = 2 * 24 * time.Hour

// Records is the part of the store the function uses.
type Records interface {
	SessionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error]
	ConversionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error]
}

// Deps are the function's collaborators.
type Deps struct {
	Config  *config.Config
	Records *functions.Lazy[Records]
	Now     func() time.Time
}

// RatesFrom returns the report rates configured in cfg.
func RatesFrom(cfg *config.Config) rep.Rates {
	return rep.Rates{Standard: cfg.RateStandard, Premium: cfg.RatePremium, Set: cfg.RatesSet, Currency: cfg.Currency}
}

// Write renders the report for q from recs into w (used by arrctl as well,
// so the CLI and the HTTP report give the same numbers).
func Write(ctx context.Context, w *bytes.Buffer, recs Records, q rep.Query, rates rep.Rates, now time.Time) error {
	sessions := recs.SessionsByDay(ctx, q.Start().Add(-Lookback), q.End())
	conversions := recs.ConversionsByDay(ctx, q.Start(), q.End())
	return rep.Render(ctx, w, q, rates, now, sessions, conversions)
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, out *trigger.Response, log *slog.Logger) error {
		req, err := inv.HTTPRequest(Binding)
		if err != nil {
			return reply(out, err, log)
		}
		now := d.Now().UTC()
		q, err := rep.ParseQuery(queryOf(&req), req.Header("Accept"), now)
		if err != nil {
			return reply(out, err, log)
		}
		recs, err := d.Records.Get(ctx)
		if err != nil {
			return reply(out, fmt.Errorf("open records: %w", err), log)
		}
		var buf bytes.Buffer
		if err := Write(ctx, &buf, recs, q, RatesFrom(d.Config), now); err != nil {
			return reply(out, err, log)
		}
		out.SetHTTP(OutBinding, trigger.HTTPResponse{StatusCode: http.StatusOK, Body: buf.String(),
			Headers: map[string]string{"Content-Type": q.Format.ContentType(), "Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff",
				// The page's form may only submit back here; its links carry the
				// function key, so no address is sent on as a referrer.
				"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'",
				"Referrer-Policy":         "no-referrer"}})
		log.Info("report", "from", q.From.Format(time.DateOnly), "to", q.To.Format(time.DateOnly), "groupBy", q.GroupLabel(),
			"format", q.Format, "dataset", q.Dataset, "bytes", buf.Len())
		return nil
	}
}

// reply answers an error through the HTTP output: 400 naming the parameter,
// or 500 with the detail logged (not sent: storage errors can quote URLs).
func reply(out *trigger.Response, err error, log *slog.Logger) error {
	status, header, body := rep.ErrorResponse(err)
	if status >= 500 {
		log.Error("report failed", "err", err)
	}
	h := map[string]string{}
	for k := range header {
		h[k] = header.Get(k)
	}
	out.SetHTTP(OutBinding, trigger.HTTPResponse{StatusCode: status, Headers: h, Body: string(body)})
	return nil
}

func queryOf(req *trigger.HTTPRequest) url.Values {
	v := url.Values{}
	for k, s := range req.Query {
		v.Set(k, s)
	}
	return v
}
