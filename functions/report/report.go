// Package report is the `report` function (HTTP GET /api/report, function
// key): usage and cost of sessions and a conversions summary, as JSON, CSV or
// a self-contained HTML page with charts (package report does the work; this
// adapts it to the custom-handler HTTP binding).
//
// Records are read as report.Write reads them, the same for arrctl.
package report

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

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

// Records is the part of the store the function uses.
type Records = rep.Records

// Deps are the function's collaborators.
type Deps struct {
	Config  *config.Config
	Records *functions.Lazy[Records]
	Now     func() time.Time
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
		if err := rep.Write(ctx, &buf, recs, q, d.Config.ReportRates(), now); err != nil {
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
