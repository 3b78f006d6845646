package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrops/arrops"
)

// Output formats of the listing commands.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatCSV   = "csv"
)

func checkFormat(f string) (string, error) {
	switch lf := lowerASCII(f); lf {
	case formatTable, formatJSON, formatCSV:
		return lf, nil
	}
	return "", usagef("--format %q is not table, json or csv", f)
}

// listDays is the default range of the listing commands, in days up to today.
const listDays = 30

func runSessions(ctx context.Context, e *env, args []string) error {
	fs := newFlags("sessions")
	status := fs.String("status", "", "only sessions with this status (Reserved, Requested, Starting, Ready, Stopped, Expired, Error)")
	requester := fs.String("requester", "", "only sessions with this requestedBy")
	from := fs.String("from", "", "first creation day, YYYY-MM-DD UTC (default: 29 days before --to)")
	to := fs.String("to", "", "last creation day, YYYY-MM-DD UTC (default: today)")
	format := fs.String("format", formatTable, "table, json or csv")
	if _, err := parseFlags(e, fs, args, "sessions [--status S] [--requester R] [--from DATE] [--to DATE] [--format table|json|csv]", 0); err != nil {
		return err
	}
	f, err := checkFormat(*format)
	if err != nil {
		return err
	}
	if *status != "" {
		if _, ok := sessionStatus(*status); !ok {
			return usagef("--status %q is not Reserved, Requested, Starting, Ready, Stopped, Expired or Error", *status)
		}
	}
	start, end, err := dateRange(*from, *to, e.now(), listDays)
	if err != nil {
		return err
	}
	recs, err := e.records(ctx)
	if err != nil {
		return err
	}
	list, err := collect(recs.SessionsByDay(ctx, start, end), func(s *arrops.Session) bool {
		return (*status == "" || strings.EqualFold(string(s.Status), *status)) &&
			(*requester == "" || s.RequestedBy == *requester)
	})
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	sortSessions(list)
	return writeSessions(e.stdout, f, list, e.now())
}

func runConversions(ctx context.Context, e *env, args []string) error {
	fs := newFlags("conversions")
	status := fs.String("status", "", "only conversions with this status (Requested, NotStarted, Running, Succeeded, Failed, Cancelled, Rejected)")
	from := fs.String("from", "", "first creation day, YYYY-MM-DD UTC (default: 29 days before --to)")
	to := fs.String("to", "", "last creation day, YYYY-MM-DD UTC (default: today)")
	format := fs.String("format", formatTable, "table, json or csv")
	if _, err := parseFlags(e, fs, args, "conversions [--status S] [--from DATE] [--to DATE] [--format table|json|csv]", 0); err != nil {
		return err
	}
	f, err := checkFormat(*format)
	if err != nil {
		return err
	}
	if *status != "" && !conversionStatus(*status) {
		return usagef("--status %q is not Requested, NotStarted, Running, Succeeded, Failed, Cancelled or Rejected", *status)
	}
	start, end, err := dateRange(*from, *to, e.now(), listDays)
	if err != nil {
		return err
	}
	recs, err := e.records(ctx)
	if err != nil {
		return err
	}
	list, err := collect(recs.ConversionsByDay(ctx, start, end), func(c *arrops.Conversion) bool {
		return *status == "" || strings.EqualFold(string(c.Status), *status)
	})
	if err != nil {
		return fmt.Errorf("read conversions: %w", err)
	}
	sortConversions(list)
	return writeConversions(e.stdout, f, list)
}

func sessionStatus(s string) (arrops.SessionStatus, bool) {
	for _, st := range []arrops.SessionStatus{arrops.SessionReserved, arrops.SessionRequested, arrops.SessionStarting, arrops.SessionReady, arrops.SessionStopped, arrops.SessionExpired, arrops.SessionError} {
		if strings.EqualFold(string(st), s) {
			return st, true
		}
	}
	return "", false
}

func conversionStatus(s string) bool {
	for _, st := range []arrops.ConversionStatus{arrops.ConversionRequested, arrops.ConversionNotStarted, arrops.ConversionRunning, arrops.ConversionSucceeded,
		arrops.ConversionFailed, arrops.ConversionCancelled, arrops.ConversionRejected} {
		if strings.EqualFold(string(st), s) {
			return true
		}
	}
	return false
}

func collect[T any](seq iter.Seq2[T, error], keep func(T) bool) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		if keep(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// sortSessions orders newest first; ties by id so output is stable.
func sortSessions(l []*arrops.Session) {
	slices.SortStableFunc(l, func(a, b *arrops.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func sortConversions(l []*arrops.Conversion) {
	slices.SortStableFunc(l, func(a, b *arrops.Conversion) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// sessionView is a session as arrctl prints it: the operator's fields, not
// the record's bookkeeping (ETag, announcement claims).
type sessionView struct {
	ID              string            `json:"id"`
	Status          string            `json:"status"`
	Size            string            `json:"size"`
	Origin          string            `json:"origin,omitempty"`
	RequestedBy     string            `json:"requestedBy"`
	Tags            map[string]string `json:"tags,omitempty"`
	CreatedAt       *time.Time        `json:"createdAt,omitempty"`
	ReadyAt         *time.Time        `json:"readyAt,omitempty"`
	StoppedAt       *time.Time        `json:"stoppedAt,omitempty"`
	BilledMinutes   float64           `json:"billedMinutes"`
	MaxLeaseMinutes int               `json:"maxLeaseTimeMinutes"`
	ElapsedMinutes  int               `json:"elapsedTimeMinutes"`
	Hostname        string            `json:"hostname,omitempty"`
	HandshakePort   int               `json:"handshakePort,omitempty"`
	InspectorPort   int               `json:"arrInspectorPort,omitempty"`
	StopReason      string            `json:"stopReason,omitempty"`
	ErrorCode       string            `json:"errorCode,omitempty"`
	ErrorMessage    string            `json:"errorMessage,omitempty"`
}

func viewSession(s *arrops.Session, now time.Time) sessionView {
	return sessionView{
		ID: s.ID, Status: string(s.Status), Size: string(s.Size), Origin: string(s.Origin), RequestedBy: s.RequestedBy,
		Tags: s.Tags, CreatedAt: timePtr(s.CreatedAt), ReadyAt: timePtr(s.ReadyAt), StoppedAt: timePtr(s.StoppedAt),
		BilledMinutes: round2(s.BilledMinutes(now)), MaxLeaseMinutes: s.MaxLeaseMinutes, ElapsedMinutes: s.ElapsedMinutes,
		Hostname: s.Hostname, HandshakePort: s.HandshakePort, InspectorPort: s.InspectorPort,
		StopReason: s.StopReason, ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage,
	}
}

var sessionCSVHeader = []string{"id", "status", "size", "origin", "requestedBy", "tags", "createdAt", "readyAt", "stoppedAt",
	"billedMinutes", "maxLeaseTimeMinutes", "hostname", "handshakePort", "arrInspectorPort", "stopReason", "errorCode", "errorMessage"}

func writeSessions(w io.Writer, format string, list []*arrops.Session, now time.Time) error {
	switch format {
	case formatJSON:
		views := make([]sessionView, 0, len(list))
		for _, s := range list {
			views = append(views, viewSession(s, now))
		}
		return writeJSON(w, views)
	case formatCSV:
		cw := csv.NewWriter(w)
		cw.Write(sessionCSVHeader)
		for _, s := range list {
			v := viewSession(s, now)
			cw.Write([]string{cell(v.ID), v.Status, v.Size, v.Origin, cell(v.RequestedBy), cell(tagsText(v.Tags)),
				csvTime(s.CreatedAt), csvTime(s.ReadyAt), csvTime(s.StoppedAt), num(v.BilledMinutes),
				strconv.Itoa(v.MaxLeaseMinutes), v.Hostname, portText(v.HandshakePort), portText(v.InspectorPort),
				cell(v.StopReason), cell(v.ErrorCode), cell(v.ErrorMessage)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSIZE\tREQUESTED BY\tCREATED (UTC)\tREADY\tSTOPPED\tBILLED MIN\tHOSTNAME\tREASON")
	for _, s := range list {
		reason := s.StopReason
		if s.ErrorCode != "" {
			reason = strings.TrimSpace(s.ErrorCode + " " + s.ErrorMessage)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", text(s.ID), s.Status, dash(string(s.Size)), text(s.RequestedBy),
			tableTime(s.CreatedAt), tableTime(s.ReadyAt), tableTime(s.StoppedAt), minutes(s.BilledMinutes(now)),
			dash(text(s.Hostname)), dash(clipText(text(reason), 60)))
	}
	if len(list) == 0 {
		fmt.Fprintln(tw, "(no sessions)")
	}
	return tw.Flush()
}

type conversionView struct {
	ID              string     `json:"id"`
	Status          string     `json:"status"`
	Input           string     `json:"input"`
	InputSize       int64      `json:"inputSize"`
	Output          string     `json:"output,omitempty"`
	OutputURI       string     `json:"outputUri,omitempty"`
	CreatedAt       *time.Time `json:"createdAt,omitempty"`
	CompletedAt     *time.Time `json:"completedAt,omitempty"`
	DurationSeconds float64    `json:"durationSeconds"`
	ErrorCode       string     `json:"errorCode,omitempty"`
	ErrorMessage    string     `json:"errorMessage,omitempty"`
	Note            string     `json:"note,omitempty"`
	SettingsFile    string     `json:"settingsFile,omitempty"`
	RequestedBy     string     `json:"requestedBy,omitempty"`
	// Details are ARR's result.json and info.json as recorded (result,
	// bounded warnings and errors, statistics, the settings applied).
	Details *arrops.ConversionDetails `json:"details,omitempty"`
}

func viewConversion(c *arrops.Conversion) conversionView {
	v := conversionView{ID: c.ID, Status: string(c.Status), Input: c.InputContainer + "/" + c.InputPath, InputSize: c.InputSize,
		OutputURI: c.OutputURI, CreatedAt: timePtr(c.CreatedAt), CompletedAt: timePtr(c.CompletedAt),
		DurationSeconds: c.Duration().Seconds(), ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage, Note: c.Note,
		SettingsFile: c.SettingsFile, RequestedBy: c.RequestedBy, Details: c.Details}
	if c.OutputContainer != "" || c.OutputPath != "" {
		v.Output = c.OutputContainer + "/" + c.OutputPath
	}
	return v
}

var conversionCSVHeader = []string{"id", "status", "input", "inputSize", "output", "outputUri", "createdAt", "completedAt",
	"durationSeconds", "errorCode", "errorMessage", "note", "settingsFile", "requestedBy", "result", "warnings", "errors",
	"vertices", "triangles", "materials"}

func writeConversions(w io.Writer, format string, list []*arrops.Conversion) error {
	switch format {
	case formatJSON:
		views := make([]conversionView, 0, len(list))
		for _, c := range list {
			views = append(views, viewConversion(c))
		}
		return writeJSON(w, views)
	case formatCSV:
		cw := csv.NewWriter(w)
		cw.Write(conversionCSVHeader)
		for _, c := range list {
			v := viewConversion(c)
			d, st := c.Details, &arrops.ConversionStatistics{}
			if d == nil {
				d = &arrops.ConversionDetails{}
			}
			if d.Statistics != nil {
				st = d.Statistics
			}
			cw.Write([]string{cell(v.ID), v.Status, cell(v.Input), strconv.FormatInt(v.InputSize, 10), cell(v.Output), cell(v.OutputURI),
				csvTime(c.CreatedAt), csvTime(c.CompletedAt), num(v.DurationSeconds), cell(v.ErrorCode), cell(v.ErrorMessage), cell(v.Note),
				cell(c.SettingsFile), cell(c.RequestedBy), cell(string(d.Result)), strconv.Itoa(d.WarningsTotal), strconv.Itoa(d.ErrorsTotal),
				strconv.FormatInt(st.Vertices, 10), strconv.FormatInt(st.Triangles, 10), strconv.FormatInt(st.Materials, 10)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tINPUT\tCREATED (UTC)\tCOMPLETED\tDURATION\tRESULT\tERROR")
	for _, c := range list {
		v := viewConversion(c)
		detail := strings.TrimSpace(c.ErrorCode + " " + c.ErrorMessage)
		if d := c.Details; detail == "" && d != nil && len(d.Errors) > 0 {
			detail = d.Errors[0]
		}
		if d := c.Details; detail == "" && d != nil && len(d.Warnings) > 0 {
			detail = d.Warnings[0]
		}
		if detail == "" {
			detail = c.Note
		}
		dur := "-"
		if d := c.Duration(); d > 0 {
			dur = d.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", text(c.ID), c.Status, clipText(text(v.Input), 60),
			tableTime(c.CreatedAt), tableTime(c.CompletedAt), dur, dash(resultSummary(c.Details)), dash(clipText(text(detail), 60)))
	}
	if len(list) == 0 {
		fmt.Fprintln(tw, "(no conversions)")
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// tableTime is a compact UTC time for tables; "-" for none.
func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func minutes(m float64) string { return strconv.FormatFloat(m, 'f', 1, 64) }

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func portText(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// text makes a record value safe for a terminal table: control characters
// (a requester named with an escape sequence, a tab that would break the
// columns) become spaces; invalid UTF-8 becomes U+FFFD.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// clipText shortens long free text (reasons, paths) in tables; json and csv
// keep it whole.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func tagsText(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	b, _ := json.Marshal(tags) // map[string]string: cannot fail; keys sorted
	return string(b)
}

// cell defuses spreadsheet formulas in CSV output (same rule as the report's
// CSV): a value starting with = + - @ would run when opened in Excel.
func cell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// resultSummary is ARR's verdict with its counts: "succeeded with warnings (3)",
// "failed (1 error)".
func resultSummary(d *arrops.ConversionDetails) string {
	if d == nil || d.Result == "" {
		return ""
	}
	var parts []string
	if d.WarningsTotal > 0 {
		parts = append(parts, countOf(d.WarningsTotal, "warning"))
	}
	if d.ErrorsTotal > 0 {
		parts = append(parts, countOf(d.ErrorsTotal, "error"))
	}
	s := text(string(d.Result))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func countOf(n int, what string) string { return strconv.Itoa(n) + " " + what + plural(n) }
