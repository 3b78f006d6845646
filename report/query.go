package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the output format of a report.
type Format string

// Output formats.
const (
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
	FormatHTML Format = "html"
)

// ContentType is the Content-Type header value of the format.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// Grouping kinds of Query.GroupBy.
const (
	GroupRequester = "requester"
	GroupSize      = "size"
	GroupDay       = "day"
	GroupTag       = "tag"
)

// MaxRangeDays bounds from..to (inclusive) so a request cannot ask the store
// for years of records.
const MaxRangeDays = 366

// maxTagKey matches the Table Storage property limit loosely; tag keys longer
// than this cannot exist in a record.
const maxTagKey = 256

const dateLayout = "2006-01-02"

// Datasets: which rows a JSON or CSV report lists.
const (
	DatasetSessions    = "sessions"
	DatasetConversions = "conversions"
)

// Query is a validated report request.
type Query struct {
	From, To time.Time // UTC midnights; To is inclusive
	GroupBy  string    // GroupRequester, GroupSize, GroupDay or GroupTag
	TagKey   string    // with GroupTag
	Format   Format
	Dataset  string // DatasetSessions (default) or DatasetConversions
	// Code is the function key the request carried in ?code=, echoed into
	// the HTML page's form and links so they keep working when followed. It
	// is the caller's own key, already in the address bar; it is never
	// logged and appears in no JSON or CSV output.
	Code string
}

// Start and End are the half-open billing window [From 00:00, To+1 00:00).
func (q Query) Start() time.Time { return q.From }

// End is the exclusive end of the window.
func (q Query) End() time.Time { return q.To.AddDate(0, 0, 1) }

// Days is the number of days in the range.
func (q Query) Days() int { return int(q.End().Sub(q.From).Hours()/24 + 0.5) }

// GroupLabel is groupBy as the client spells it ("tag:project").
func (q Query) GroupLabel() string {
	if q.GroupBy == GroupTag {
		return GroupTag + ":" + q.TagKey
	}
	return q.GroupBy
}

// ParamError is a bad query parameter; it becomes a 400 answer naming it.
type ParamError struct {
	Param   string
	Problem string
}

func (e *ParamError) Error() string { return "parameter " + e.Param + ": " + e.Problem }

func paramErr(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Problem: fmt.Sprintf(format, args...)}
}

// ParseQuery validates the report parameters. from and to are inclusive UTC
// dates (YYYY-MM-DD); without them the report covers the current UTC month up
// to today (without from: the first of to's month; without to: today, or from
// if that is later). groupBy is requester (default), size, day or tag:<key>;
// groupBy=tag with tagKey=<key> means the same (what the page's form sends).
// dataset is sessions (default) or conversions (the rows JSON and CSV list).
// format is json, csv or html; without it the Accept header decides
// (text/html, text/csv, else JSON). The function key's "code" is kept in
// Query.Code for the page's links; other unknown parameters are ignored.
func ParseQuery(q url.Values, accept string, now time.Time) (Query, error) {
	var out Query
	get := func(name string) (string, bool, error) {
		vs, ok := q[name]
		if !ok {
			return "", false, nil
		}
		if len(vs) > 1 {
			return "", true, paramErr(name, "given %d times; give it once", len(vs))
		}
		return strings.TrimSpace(vs[0]), true, nil
	}
	today := now.UTC().Truncate(24 * time.Hour)

	fromS, hasFrom, err := get("from")
	if err != nil {
		return out, err
	}
	toS, hasTo, err := get("to")
	if err != nil {
		return out, err
	}
	if hasFrom {
		if out.From, err = parseDate("from", fromS); err != nil {
			return out, err
		}
	}
	if hasTo {
		if out.To, err = parseDate("to", toS); err != nil {
			return out, err
		}
	}
	switch {
	case !hasFrom && !hasTo:
		out.To = today
		out.From = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	case !hasFrom:
		out.From = time.Date(out.To.Year(), out.To.Month(), 1, 0, 0, 0, 0, time.UTC)
	case !hasTo:
		out.To = today
		if out.To.Before(out.From) {
			out.To = out.From
		}
	}
	if out.To.Before(out.From) {
		return out, paramErr("to", "%s is before from %s", out.To.Format(dateLayout), out.From.Format(dateLayout))
	}
	if n := out.Days(); n > MaxRangeDays {
		return out, paramErr("to", "the range %s..%s spans %d days; at most %d are allowed",
			out.From.Format(dateLayout), out.To.Format(dateLayout), n, MaxRangeDays)
	}

	g, hasG, err := get("groupBy")
	if err != nil {
		return out, err
	}
	if !hasG || g == "" {
		g = GroupRequester
	}
	// The form cannot join a select and a text box into "tag:<key>", so it
	// sends groupBy=tag and tagKey; the form always sends the box, and a key
	// typed for another grouping is ignored.
	tagKey, _, err := get("tagKey")
	if err != nil {
		return out, err
	}
	if strings.EqualFold(g, GroupTag) {
		g = GroupTag + ":" + tagKey
	}
	switch lg := strings.ToLower(g); {
	case lg == GroupRequester || lg == GroupSize || lg == GroupDay:
		out.GroupBy = lg
	case strings.HasPrefix(lg, GroupTag+":"):
		key := strings.TrimSpace(g[len(GroupTag)+1:])
		switch {
		case key == "":
			return out, paramErr("groupBy", "tag: needs a tag key, e.g. tag:project")
		case len(key) > maxTagKey:
			return out, paramErr("groupBy", "tag key is %d bytes long; at most %d are allowed", len(key), maxTagKey)
		case !utf8.ValidString(key):
			return out, paramErr("groupBy", "tag key is not valid UTF-8")
		}
		out.GroupBy, out.TagKey = GroupTag, key
	default:
		return out, paramErr("groupBy", "%q is not requester, size, day or tag:<key>", clip(g))
	}

	f, hasF, err := get("format")
	if err != nil {
		return out, err
	}
	if hasF && f != "" {
		switch Format(strings.ToLower(f)) {
		case FormatJSON, FormatCSV, FormatHTML:
			out.Format = Format(strings.ToLower(f))
		default:
			return out, paramErr("format", "%q is not json, csv or html", clip(f))
		}
	} else {
		out.Format = formatFromAccept(accept)
	}

	ds, hasDS, err := get("dataset")
	if err != nil {
		return out, err
	}
	switch ds = strings.ToLower(ds); {
	case !hasDS || ds == "" || ds == DatasetSessions:
		out.Dataset = DatasetSessions
	case ds == DatasetConversions:
		out.Dataset = DatasetConversions
	default:
		return out, paramErr("dataset", "%q is not sessions or conversions", clip(ds))
	}
	if vs := q["code"]; len(vs) > 0 {
		out.Code = vs[0]
	}
	return out, nil
}

func parseDate(param, s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return time.Time{}, paramErr(param, "%q is not a date in the form YYYY-MM-DD", clip(s))
	}
	// ARR opened in 2019; the bounds also keep date arithmetic far from
	// time.Time's limits.
	if t.Year() < 2000 {
		return time.Time{}, paramErr(param, "%s is before the year 2000", s)
	}
	return t, nil
}

// clip shortens a user value quoted in an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// formatFromAccept picks the most preferred of the formats the report speaks;
// wildcards and anything else mean JSON.
func formatFromAccept(accept string) Format {
	best, bestQ := FormatJSON, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		qv := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
				qv = f
			}
		}
		var f Format
		switch mt {
		case "text/html", "application/xhtml+xml":
			f = FormatHTML
		case "text/csv":
			f = FormatCSV
		case "application/json":
			f = FormatJSON
		default:
			continue
		}
		if qv > bestQ && qv > 0 {
			best, bestQ = f, qv
		}
	}
	return best
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Parameter string `json:"parameter,omitempty"`
	Message   string `json:"message"`
}

// ErrorResponse is the HTTP answer for an error from ParseQuery, Build or
// Render: 400 with the parameter named for a *ParamError, otherwise 500 with
// a generic message (the caller logs the details; records may hold nothing
// secret, but storage errors can quote URLs).
func ErrorResponse(err error) (status int, header http.Header, body []byte) {
	header = http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Cache-Control": {"no-store"}}
	var pe *ParamError
	var b errorBody
	if errors.As(err, &pe) {
		status = http.StatusBadRequest
		b.Error = errorDetail{Code: "BadRequest", Parameter: pe.Param, Message: pe.Problem}
	} else {
		status = http.StatusInternalServerError
		b.Error = errorDetail{Code: "InternalError", Message: "the report could not be produced; see the function log"}
	}
	body, _ = json.Marshal(b) // strings only: cannot fail
	return status, header, body
}
