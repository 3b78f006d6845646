package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/arrops/arrops"
)

// Render writes the report for q in q.Format to w. JSON and CSV session rows
// are written as the sessions arrive, the totals after them, so memory stays
// bounded by the aggregates; HTML needs the totals first and is written once
// Build is done. On an error part of the output may have been written: an
// HTTP handler that wants a clean 500 should render into a buffer or check
// the first record before committing headers.
func Render(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	switch {
	case q.Dataset == DatasetConversions && q.Format != FormatHTML:
		return renderConversions(ctx, w, q, rates, now, conversions)
	case q.Format == FormatCSV:
		return renderCSV(ctx, w, q, rates, now, sessions, conversions)
	case q.Format == FormatHTML:
		r, err := Build(ctx, q, rates, now, sessions, conversions)
		if err != nil {
			return err
		}
		return WriteHTML(w, r)
	}
	return renderJSON(ctx, w, q, rates, now, sessions, conversions)
}

type jsonHead struct {
	From            string             `json:"from"`
	To              string             `json:"to"`
	GroupBy         string             `json:"groupBy"`
	GeneratedAt     time.Time          `json:"generatedAt"`
	RatesConfigured bool               `json:"ratesConfigured"`
	Currency        string             `json:"currency,omitempty"`
	RatesPerHour    map[string]float64 `json:"ratesPerHour,omitempty"`
	Note            string             `json:"note,omitempty"`
	Dataset         string             `json:"dataset,omitempty"` // only for conversions
}

type jsonTail struct {
	Groups      []Group           `json:"groups"`
	Days        []Day             `json:"days"`
	Totals      Totals            `json:"totals"`
	Savings     Savings           `json:"savings"`
	Waste       Waste             `json:"waste"`
	StartTimes  StartTimes        `json:"startTimes"`
	Pool        Pool              `json:"pool"`
	Conversions ConversionSummary `json:"conversions"`
}

func head(q Query, rates Rates, now time.Time) jsonHead {
	h := jsonHead{
		From: q.From.Format(dateLayout), To: q.To.Format(dateLayout), GroupBy: q.GroupLabel(),
		GeneratedAt: now.UTC(), RatesConfigured: rates.Set,
	}
	if rates.Set {
		h.Currency = rates.Currency
		h.RatesPerHour = map[string]float64{string(arrops.SizeStandard): rates.Standard, string(arrops.SizePremium): rates.Premium}
	} else {
		h.Note = NoRates
	}
	return h
}

func renderJSON(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	hb, err := json.Marshal(head(q, rates, now))
	if err != nil {
		return fmt.Errorf("report: encoding JSON head: %w", err)
	}
	// Splice "sessions" into the head object so its fields come first.
	bw.Write(hb[:len(hb)-1])
	bw.WriteString(`,"sessions":[`)
	first := true
	enc := &rowEncoder{html: true}
	r, err := build(ctx, q, rates, now, sessions, conversions, func(row *SessionRow) error {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteByte('\n')
		_, err := bw.Write(enc.encode(row))
		return err
	}, nil)
	if err != nil {
		return err
	}
	tb, err := json.Marshal(jsonTail{Groups: r.Groups, Days: r.Days, Totals: r.Totals,
		Savings: r.Savings, Waste: r.Waste, StartTimes: r.StartTimes, Pool: r.Pool, Conversions: r.Conversions})
	if err != nil {
		return fmt.Errorf("report: encoding JSON totals: %w", err)
	}
	bw.WriteString("\n],")
	bw.Write(tb[1:])
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: writing JSON: %w", err)
	}
	return nil
}

// CSVHeader is the fixed column order of the sessions CSV report. New
// columns are only ever added at the end.
var CSVHeader = []string{
	"kind", "id", "key", "size", "status", "requestedBy", "tags",
	"createdAt", "readyAt", "stoppedAt",
	"minutes", "hours", "cost", "currency", "sessions", "running", "note",
	"origin", "stopReason", "errorCode",
}

func renderCSV(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	cur := ""
	if rates.Set {
		cur = rates.Currency
	}
	rec := make([]string, len(CSVHeader))
	tagEnc := &rowEncoder{}
	var tagBuf []byte
	r, err := build(ctx, q, rates, now, sessions, nil, func(row *SessionRow) error {
		tags := ""
		if len(row.Tags) > 0 {
			// JSON keeps keys and values unambiguous whatever they contain;
			// no HTML escaping, CSV is not HTML.
			tagBuf = tagEnc.tags(tagBuf[:0], row.Tags)
			tags = string(tagBuf)
		}
		cost := ""
		if row.Cost != nil {
			cost = num(*row.Cost)
		}
		rec = append(rec[:0], "session", cell(row.ID), cell(row.Group), cell(row.Size), cell(row.Status), cell(row.RequestedBy), cell(tags),
			csvTime(row.CreatedAt), csvTime(row.ReadyAt), csvTime(row.StoppedAt),
			num(row.Minutes), num(row.Hours), cost, cell(cur), "1", strconv.FormatBool(row.Running), row.Note,
			row.Origin, cell(row.StopReason), cell(row.ErrorCode))
		return cw.Write(rec)
	}, nil)
	if err != nil {
		return err
	}
	var tail [][]string
	for _, g := range r.Groups {
		tail = append(tail, totalsRecord("group", g.Key, g.Totals, rates.Set, cur, ""))
	}
	for _, g := range r.Savings.ByPolicy {
		tail = append(tail, totalsRecord("savings", g.Key, g.Totals, rates.Set, cur, ""))
	}
	tail = append(tail, totalsRecord("waste", string(arrops.SessionExpired), r.Waste.Totals, rates.Set, cur, ""),
		totalsRecord("total", "", r.Totals, rates.Set, cur, r.Note))
	if err := cw.WriteAll(tail); err != nil { // WriteAll flushes
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	return nil
}

// ConversionsCSVHeader is the fixed column order of the conversions CSV
// (dataset=conversions): one row per conversion record created in the
// range, rejected uploads included, in the store's order.
var ConversionsCSVHeader = []string{
	"id", "status", "inputContainer", "inputPath", "outputUri", "createdAt", "completedAt",
	"durationSeconds", "errorCode", "errorMessage", "note",
}

// ConversionLine is one conversion as the JSON conversions dataset lists it.
type ConversionLine struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	InputContainer  string    `json:"inputContainer"`
	InputPath       string    `json:"inputPath"`
	OutputURI       string    `json:"outputUri,omitempty"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	CompletedAt     time.Time `json:"completedAt,omitzero"`
	DurationSeconds *float64  `json:"durationSeconds"` // null while running
	ErrorCode       string    `json:"errorCode,omitempty"`
	ErrorMessage    string    `json:"errorMessage,omitempty"`
	Note            string    `json:"note,omitempty"`
	SettingsFile    string    `json:"settingsFile,omitempty"`
	RequestedBy     string    `json:"requestedBy,omitempty"`
	// Details are ARR's result.json and info.json as recorded: result,
	// bounded warnings and errors, statistics, the settings applied.
	Details *arrops.ConversionDetails `json:"details,omitempty"`
}

func conversionLine(c *arrops.Conversion) ConversionLine {
	l := ConversionLine{ID: c.ID, Status: string(c.Status), InputContainer: c.InputContainer, InputPath: c.InputPath,
		OutputURI: c.OutputURI, CreatedAt: utc(c.CreatedAt), CompletedAt: utc(c.CompletedAt),
		ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage, Note: c.Note,
		SettingsFile: c.SettingsFile, RequestedBy: c.RequestedBy, Details: c.Details}
	if d := c.Duration(); d > 0 || c.Status.Terminal() && !c.CompletedAt.IsZero() {
		secs := round(d.Seconds(), 3)
		l.DurationSeconds = &secs
	}
	return l
}

// renderConversions writes the conversions dataset: CSV rows, or JSON with
// the rows and the conversions summary.
func renderConversions(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	conversions iter.Seq2[*arrops.Conversion, error]) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var onConv func(*arrops.Conversion) error
	var cw *csv.Writer
	first := true
	if q.Format == FormatCSV {
		cw = csv.NewWriter(bw)
		cw.UseCRLF = true
		if err := cw.Write(ConversionsCSVHeader); err != nil {
			return fmt.Errorf("report: writing CSV: %w", err)
		}
		onConv = func(c *arrops.Conversion) error {
			l := conversionLine(c)
			dur := ""
			if l.DurationSeconds != nil {
				dur = num(*l.DurationSeconds)
			}
			return cw.Write([]string{cell(l.ID), l.Status, cell(l.InputContainer), cell(l.InputPath), cell(l.OutputURI),
				csvTime(l.CreatedAt), csvTime(l.CompletedAt), dur, cell(l.ErrorCode), cell(l.ErrorMessage), cell(l.Note)})
		}
	} else {
		h := head(q, rates, now)
		h.Dataset = DatasetConversions
		hb, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("report: encoding JSON head: %w", err)
		}
		bw.Write(hb[:len(hb)-1])
		bw.WriteString(`,"conversions":[`)
		onConv = func(c *arrops.Conversion) error {
			b, err := json.Marshal(conversionLine(c))
			if err != nil {
				return fmt.Errorf("report: encoding conversion %s: %w", c.ID, err)
			}
			if !first {
				bw.WriteByte(',')
			}
			first = false
			bw.WriteByte('\n')
			_, err = bw.Write(b)
			return err
		}
	}
	r, err := build(ctx, q, rates, now, nil, conversions, nil, onConv)
	if err != nil {
		return err
	}
	if cw != nil {
		cw.Flush()
		err = cw.Error()
	} else {
		var sb []byte
		sb, err = json.Marshal(r.Conversions)
		if err == nil {
			bw.WriteString("\n],\"summary\":")
			bw.Write(sb)
			bw.WriteString("}\n")
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("report: writing conversions: %w", err)
	}
	return nil
}

func totalsRecord(kind, key string, t Totals, ratesSet bool, cur, note string) []string {
	cost := ""
	if ratesSet {
		cost = num(t.Cost)
	}
	return []string{kind, "", cell(key), "", "", "", "", "", "", "",
		num(t.Minutes), num(t.Hours), cost, cell(cur), strconv.Itoa(t.Count), strconv.Itoa(t.Running), note, "", "", ""}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// cell defuses spreadsheet formulas: a requester or tag starting with = + - @
// would otherwise run when the CSV is opened in Excel (CSV injection).
// It also replaces invalid UTF-8, which spreadsheet imports reject.
func cell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
