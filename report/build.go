package report

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arrops/arrops"
)

// Labels for records that lack the grouped attribute.
const (
	NoRequester = "(none)"
	Untagged    = "(untagged)"
)

// MaxConversionRows bounds the conversion rows (and, apart, the rejected
// upload rows) an HTML report lists; the summary still covers every
// conversion, and the conversions CSV lists them all.
const MaxConversionRows = 500

// MaxSessionRows bounds the session rows an HTML report lists (newest
// first); the totals still cover every session, and the CSV lists them all.
const MaxSessionRows = 500

// MaxTopFailures is how many failure codes the conversions summary ranks.
const MaxTopFailures = 5

// Report is the aggregated result of Build.
type Report struct {
	From, To        string // YYYY-MM-DD, inclusive
	GroupBy         string
	GeneratedAt     time.Time
	Currency        string
	RatesConfigured bool
	Note            string   // NoRates when rates are not set
	Groups          []Group  // the chosen groupBy, sorted by key
	Requesters      []Group  // always by requester (for the HTML chart), by hours descending
	Days            []Day    // every day of the range, in order
	Sizes           []string // sizes seen, Standard and Premium first
	Totals          Totals
	Conversions     ConversionSummary
	ConversionRows  []ConversionRow // HTML only: conversions ARR ran, newest first, at most MaxConversionRows
	RejectedRows    []ConversionRow // HTML only: rejected uploads and undecodable events, likewise
	SessionRows     []SessionRow    // HTML only, newest created first, at most MaxSessionRows
	Savings         Savings
	Waste           Waste
	StartTimes      StartTimes
	Pool            Pool
	// RunningHours is the part of Totals.Hours billed to sessions still
	// running, counted up to BilledUntil (now, or the range end if earlier):
	// the page says so, since those bars keep growing.
	RunningHours float64
	BilledUntil  time.Time
	query        Query // for the page's form and links
}

// Totals are the sums over sessions, for a group or the whole report.
type Totals struct {
	Minutes float64 `json:"minutes"`
	Hours   float64 `json:"hours"`
	Cost    float64 `json:"cost"` // 0 without rates
	Count   int     `json:"sessions"`
	Running int     `json:"running"`
}

// Group is one row of the grouped totals.
type Group struct {
	Key string `json:"key"`
	Totals
}

// Day is one UTC day's session hours by size.
type Day struct {
	Date  string             `json:"date"`
	Hours map[string]float64 `json:"hours"` // by size; sizes without time are absent
	Total float64            `json:"totalHours"`
	Cost  float64            `json:"cost"`
}

// ConversionSummary describes the conversions created in the range. Count,
// Succeeded, Failed, Running, the rate and the durations cover conversions
// ARR ran; uploads arrops rejected (and Event Grid events it could not
// decode) never reached ARR and are counted apart in Rejected.
type ConversionSummary struct {
	Count     int `json:"count"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"` // Failed and Cancelled
	Running   int `json:"running"`
	// WithWarnings counts the Succeeded whose result.json said "succeeded
	// with warnings" (missing textures and the like).
	WithWarnings int `json:"withWarnings"`
	// SuccessRate is Succeeded over Succeeded+Failed (0..1); null when none
	// finished.
	SuccessRate   *float64      `json:"successRate"`
	MedianSeconds *float64      `json:"medianSeconds"` // of finished conversions with both times
	P95Seconds    *float64      `json:"p95Seconds"`
	TopFailures   []FailureCode `json:"topFailureCodes"`
	Rejected      Rejected      `json:"rejected"`
}

// Rejected counts the conversion records with status Rejected: uploads that
// failed validation and undecodable events (code UndecodableEvent).
type Rejected struct {
	Count  int           `json:"count"`
	ByCode []FailureCode `json:"byCode"` // every code, most frequent first
}

// Savings are the session minutes policy stops saved: for each session a
// policy stopped in the range (StoppedAt in [from, to+1), status Stopped,
// StopReason "policy <name>: …"), the minutes from the stop to the end of
// the lease it had (ReadyAt, or CreatedAt if never Ready, plus
// MaxLeaseMinutes; or ExtendedUntil when later), not clipped to the range,
// priced at the size's rate. Running is always 0.
type Savings struct {
	Totals
	ByPolicy []Group `json:"byPolicy"` // by policy name, sorted
	// LeaseUnknown counts policy stops whose record holds no lease
	// (MaxLeaseMinutes 0, no extension): they saved an unknown amount.
	LeaseUnknown int `json:"leaseUnknown"`
}

// Waste is the billed time of sessions that ran until their lease expired
// (status Expired): the same minutes and cost the totals count for them in
// the range. Running is always 0.
type Waste struct {
	Totals
	ByRequester []Group `json:"byRequester"` // sorted by minutes, largest first
}

// StartTimes are ARR start durations (CreatedAt to ReadyAt) of the sessions
// created in the range, and the sessions that ended without ever being
// Ready.
type StartTimes struct {
	Ready      int           `json:"ready"` // sessions with a start duration
	P50Seconds *float64      `json:"p50Seconds"`
	P95Seconds *float64      `json:"p95Seconds"`
	BySize     []StartGroup  `json:"bySize"`
	ByDay      []StartGroup  `json:"byDay"` // creation days with at least one start
	NeverReady int           `json:"neverReady"`
	ByCode     []FailureCode `json:"neverReadyByCode"` // error code, or "(none)"
}

// Pool is the warm pool in the range: the billed time its sessions waited
// unclaimed (idle: from Ready to the claim, or to the end for one never
// claimed; billed to requester pool while it waits), how many command
// starts were served warm (a pool session claimed in the range) and cold (a
// command's session created in the range), and the time to hostname of
// each: from the start's enqueued time (RequestedAt) to the claim warm, to
// Ready cold. The observed ARR start time per size is StartTimes.BySize.
type Pool struct {
	Idle Totals `json:"idle"`
	Warm int    `json:"warm"`
	Cold int    `json:"cold"`
	// WarmToHostname and ColdToHostname: Key "warm" / "cold"; zero Count
	// when no start in the range recorded its request time.
	WarmToHostname StartGroup `json:"warmTimeToHostname"`
	ColdToHostname StartGroup `json:"coldTimeToHostname"`
}

// StartGroup is the start-duration distribution of one size or day.
type StartGroup struct {
	Key        string  `json:"key"`
	Count      int     `json:"count"`
	P50Seconds float64 `json:"p50Seconds"`
	P95Seconds float64 `json:"p95Seconds"`
}

// FailureCode counts conversions that failed with one error code.
type FailureCode struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
}

// ConversionRow is one conversion as the HTML table lists it.
type ConversionRow struct {
	ID, Status, Input, Output, ErrorCode, ErrorMessage, Note string
	Created                                                  time.Time
	Duration                                                 time.Duration // 0 while running
	// Result is ARR's verdict from result.json ("" when not read), with
	// the counts of its warnings and errors.
	Result           string
	Warnings, Errors int
}

// SessionRow is one listed session with its billing, as JSON and CSV stream it.
type SessionRow struct {
	ID          string `json:"id"`
	Size        string `json:"size"`
	Status      string `json:"status"`
	Origin      string `json:"origin,omitempty"`
	RequestedBy string `json:"requestedBy"`
	// Group is the session's key under the report's groupBy (for day: the
	// first day it billed, or its creation day).
	Group      string            `json:"group"`
	Tags       map[string]string `json:"tags,omitempty"`
	CreatedAt  time.Time         `json:"createdAt,omitzero"`
	ReadyAt    time.Time         `json:"readyAt,omitzero"`
	StoppedAt  time.Time         `json:"stoppedAt,omitzero"`
	Minutes    float64           `json:"billedMinutes"`
	Hours      float64           `json:"billedHours"`
	Cost       *float64          `json:"cost,omitempty"` // absent without rates
	Running    bool              `json:"running"`
	StopReason string            `json:"stopReason,omitempty"`
	ErrorCode  string            `json:"errorCode,omitempty"`
	Note       string            `json:"note,omitempty"`
}

// Build aggregates sessions and conversions for q as of now. It reads both
// iterators once and keeps only aggregates; an iterator error or a cancelled
// ctx aborts it.
func Build(ctx context.Context, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) (*Report, error) {
	return build(ctx, q, rates, now, sessions, conversions, nil, nil)
}

// ctxCheckEvery spaces out ctx.Err calls: they lock a mutex.
const ctxCheckEvery = 256

// build is Build with callbacks receiving every listed session as it is
// billed and every conversion in the range, which Render uses to stream rows.
func build(ctx context.Context, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error],
	onSession func(*SessionRow) error, onConversion func(*arrops.Conversion) error) (*Report, error) {
	a := newAggregator(q, rates, now)
	a.wantRows = onSession != nil
	n := 0
	if sessions != nil {
		for s, err := range sessions {
			if err != nil {
				return nil, fmt.Errorf("report: reading sessions: %w", err)
			}
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("report: %w", err)
				}
			}
			if s == nil {
				continue
			}
			if row := a.addSession(s); row != nil {
				if err := onSession(row); err != nil {
					return nil, err
				}
			}
		}
	}
	if conversions != nil {
		for c, err := range conversions {
			if err != nil {
				return nil, fmt.Errorf("report: reading conversions: %w", err)
			}
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("report: %w", err)
				}
			}
			if c != nil && a.addConversion(c) && onConversion != nil {
				if err := onConversion(c); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return a.finish(), nil
}

type aggregator struct {
	q          Query
	rates      Rates
	now        time.Time
	start, end time.Time
	keepRows   bool
	wantRows   bool // someone streams session rows
	groups     map[string]*Totals
	requesters map[string]*Totals
	// dayHours[size][day index]; days are few (≤ 366) and sizes two.
	dayHours map[string][]float64
	dayCost  []float64
	totals   Totals
	running  float64 // minutes billed to running sessions
	conv     ConversionSummary
	durs     []float64 // seconds of finished conversions
	failures map[string]int
	rejects  map[string]int
	convRows *newest[ConversionRow]
	rejRows  *newest[ConversionRow]
	sessRows *newest[SessionRow]
	row      SessionRow // reused: callbacks must not keep it
	rowCost  float64

	savings, waste       Totals
	byPolicy, wasteByReq map[string]*Totals
	leaseUnknown         int
	startBySize          map[string][]float64 // seconds, by size
	startByDay           [][]float64          // seconds, by creation day index
	neverReady           map[string]int
	poolIdle             Totals
	warm, cold           int
	warmHost, coldHost   []float64 // seconds to hostname
}

func newerConversion(x, y ConversionRow) bool {
	return x.Created.After(y.Created) || x.Created.Equal(y.Created) && x.ID < y.ID
}

func newerSession(x, y SessionRow) bool {
	return x.CreatedAt.After(y.CreatedAt) || x.CreatedAt.Equal(y.CreatedAt) && x.ID < y.ID
}

func newAggregator(q Query, rates Rates, now time.Time) *aggregator {
	return &aggregator{
		q: q, rates: rates, now: now.UTC(),
		start: q.Start(), end: q.End(),
		keepRows:    q.Format == FormatHTML,
		groups:      map[string]*Totals{},
		requesters:  map[string]*Totals{},
		dayHours:    map[string][]float64{},
		dayCost:     make([]float64, q.Days()),
		failures:    map[string]int{},
		rejects:     map[string]int{},
		byPolicy:    map[string]*Totals{},
		wasteByReq:  map[string]*Totals{},
		startBySize: map[string][]float64{},
		startByDay:  make([][]float64, q.Days()),
		neverReady:  map[string]int{},
		convRows:    &newest[ConversionRow]{n: MaxConversionRows, newer: newerConversion},
		rejRows:     &newest[ConversionRow]{n: MaxConversionRows, newer: newerConversion},
		sessRows:    &newest[SessionRow]{n: MaxSessionRows, newer: newerSession},
	}
}

func add(m map[string]*Totals, key string, minutes, cost float64, running bool) {
	t := m[key]
	if t == nil {
		t = &Totals{}
		m[key] = t
	}
	t.Minutes += minutes
	t.Cost += cost
	t.Count++
	if running {
		t.Running++
	}
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// tagValue looks the key up exactly first, then in any casing, as the rest
// of arrops treats tag keys (keepAlive).
func tagValue(tags map[string]string, key string) string {
	if v, ok := tags[key]; ok {
		return orDefault(v, Untagged)
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return orDefault(v, Untagged)
		}
	}
	return Untagged
}

func (a *aggregator) addSession(s *arrops.Session) *SessionRow {
	b := Bill(s, a.start, a.end, a.now)
	if !b.Overlaps(s, a.start, a.end) {
		return nil
	}
	size := orDefault(string(s.Size), "(unknown)")
	rate, hasRate := a.rates.PerHour(s.Size)
	if a.rates.Set && !hasRate && b.Note == "" {
		b.Note = NoteUnknownSize
	}
	cost := b.Minutes / 60 * rate
	requester := orDefault(s.RequestedBy, NoRequester)

	a.totals.Minutes += b.Minutes
	a.totals.Cost += cost
	a.totals.Count++
	if b.Running {
		a.totals.Running++
		a.running += b.Minutes
	}
	add(a.requesters, requester, b.Minutes, cost, b.Running)
	var group string
	switch a.q.GroupBy {
	case GroupRequester:
		group = requester
	case GroupSize:
		group = size
	case GroupTag:
		group = tagValue(s.Tags, a.q.TagKey)
	case GroupDay:
		if b.Minutes == 0 { // listed on its creation day
			group = s.CreatedAt.UTC().Format(dateLayout)
			add(a.groups, group, 0, 0, b.Running)
		} else {
			group = b.Start.Format(dateLayout) // per-day sums are added below
		}
	}
	if a.q.GroupBy != GroupDay {
		add(a.groups, group, b.Minutes, cost, b.Running)
	}
	if b.Minutes > 0 {
		hours := a.dayHours[size]
		if hours == nil {
			hours = make([]float64, len(a.dayCost))
			a.dayHours[size] = hours
		}
		splitDays(b.Start, b.End, func(day time.Time, minutes float64) {
			i := int(day.Sub(a.start) / (24 * time.Hour))
			if i < 0 || i >= len(hours) {
				return
			}
			hours[i] += minutes / 60
			a.dayCost[i] += minutes / 60 * rate
			if a.q.GroupBy == GroupDay {
				// A session spanning midnight counts once on each day it ran.
				add(a.groups, day.Format(dateLayout), minutes, minutes/60*rate, b.Running)
			}
		})
	}

	a.addOutcomes(s, size, requester, b.Minutes, cost, rate)
	a.addPool(s, rate)

	if !a.wantRows && !a.keepRows {
		return nil
	}
	r := &a.row
	*r = SessionRow{
		ID: s.ID, Size: string(s.Size), Status: string(s.Status), Origin: string(s.Origin),
		RequestedBy: s.RequestedBy, Group: group, Tags: s.Tags,
		CreatedAt: utc(s.CreatedAt), ReadyAt: utc(s.ReadyAt), StoppedAt: utc(s.StoppedAt),
		Minutes: round(b.Minutes, 2), Hours: round(b.Minutes/60, 3),
		Running: b.Running, StopReason: s.StopReason, ErrorCode: s.ErrorCode, Note: b.Note,
	}
	if a.rates.Set {
		a.rowCost = round(cost, 2)
		r.Cost = &a.rowCost
	}
	if a.keepRows { // HTML: keep a copy of the newest rows
		if a.sessRows.wants(*r) {
			kept := *r
			if r.Cost != nil {
				c := *r.Cost
				kept.Cost = &c
			}
			a.sessRows.add(kept)
		}
		return nil
	}
	return r
}

// PolicyOf returns the policy name of a StopReason written by a policy stop
// ("policy maxReadyMinutes: ready for 61 min"), or "".
func PolicyOf(stopReason string) string {
	rest, ok := strings.CutPrefix(stopReason, "policy ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ":")
	return strings.TrimSpace(name)
}

// LeaseEnd is the end of the lease s had: ARR counts the lease from Ready
// (from creation for a session never Ready), and an extend command's
// ExtendedUntil replaces it when later. ok is false when the record holds
// no lease.
func LeaseEnd(s *arrops.Session) (end time.Time, ok bool) {
	if s.MaxLeaseMinutes > 0 {
		base := s.ReadyAt
		if base.IsZero() {
			base = s.CreatedAt
		}
		end = base.Add(time.Duration(s.MaxLeaseMinutes) * time.Minute)
	}
	if s.ExtendedUntil.After(end) {
		end = s.ExtendedUntil
	}
	return end, !end.IsZero()
}

// addOutcomes adds s to the savings, waste and start-time figures; minutes
// and cost are its billing in the range.
func (a *aggregator) addOutcomes(s *arrops.Session, size, requester string, minutes, cost, rate float64) {
	if p := PolicyOf(s.StopReason); p != "" && s.Status == arrops.SessionStopped &&
		!s.StoppedAt.Before(a.start) && s.StoppedAt.Before(a.end) {
		if end, ok := LeaseEnd(s); !ok {
			a.leaseUnknown++
		} else if saved := end.Sub(s.StoppedAt).Minutes(); saved > 0 {
			add(a.byPolicy, p, saved, saved/60*rate, false)
			a.savings.Minutes += saved
			a.savings.Cost += saved / 60 * rate
			a.savings.Count++
		}
	}
	if s.Status == arrops.SessionExpired {
		add(a.wasteByReq, requester, minutes, cost, false)
		a.waste.Minutes += minutes
		a.waste.Cost += cost
		a.waste.Count++
	}
	if s.CreatedAt.Before(a.start) || !s.CreatedAt.Before(a.end) {
		return
	}
	switch {
	case !s.ReadyAt.IsZero():
		if d := s.ReadyAt.Sub(s.CreatedAt).Seconds(); d >= 0 {
			a.startBySize[size] = append(a.startBySize[size], d)
			i := int(s.CreatedAt.Sub(a.start) / (24 * time.Hour))
			a.startByDay[i] = append(a.startByDay[i], d)
		}
	case s.Status.Terminal() && s.ElapsedMinutes == 0:
		a.neverReady[orDefault(s.ErrorCode, "(none)")]++
	}
}

// addPool adds s to the pool figures (see Pool).
func (a *aggregator) addPool(s *arrops.Session, rate float64) {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(a.start) && t.Before(a.end) }
	switch {
	case s.Origin == arrops.OriginPool:
		idle := *s
		if !s.ClaimedAt.IsZero() {
			// Idle until the claim: bill it as if it ended there.
			idle.Status, idle.StoppedAt = arrops.SessionStopped, s.ClaimedAt
		}
		if b := Bill(&idle, a.start, a.end, a.now); b.Minutes > 0 {
			a.poolIdle.Minutes += b.Minutes
			a.poolIdle.Cost += b.Minutes / 60 * rate
			a.poolIdle.Count++
			if b.Running {
				a.poolIdle.Running++
			}
		}
		if s.ClaimedBy != "" && in(s.ClaimedAt) {
			a.warm++
			if !s.RequestedAt.IsZero() && !s.ClaimedAt.Before(s.RequestedAt) {
				a.warmHost = append(a.warmHost, s.ClaimedAt.Sub(s.RequestedAt).Seconds())
			}
		}
	case s.Origin == arrops.OriginCommand && in(s.CreatedAt):
		a.cold++
		if !s.RequestedAt.IsZero() && !s.ReadyAt.IsZero() && !s.ReadyAt.Before(s.RequestedAt) {
			a.coldHost = append(a.coldHost, s.ReadyAt.Sub(s.RequestedAt).Seconds())
		}
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// addConversion counts c if it was created in the range and says so.
func (a *aggregator) addConversion(c *arrops.Conversion) bool {
	if c.CreatedAt.Before(a.start) || !c.CreatedAt.Before(a.end) {
		return false
	}
	d := c.Duration()
	rows := a.convRows
	switch c.Status {
	case arrops.ConversionRejected:
		// Never reached ARR: not a conversion that failed.
		a.conv.Rejected.Count++
		a.rejects[orDefault(c.ErrorCode, "(none)")]++
		rows = a.rejRows
	case arrops.ConversionSucceeded:
		a.conv.Count++
		a.conv.Succeeded++
		if c.Details != nil && c.Details.Result == arrops.ResultSucceededWithWarnings {
			a.conv.WithWarnings++
		}
	case arrops.ConversionFailed, arrops.ConversionCancelled:
		a.conv.Count++
		a.conv.Failed++
		a.failures[orDefault(c.ErrorCode, "("+string(c.Status)+")")]++
	default:
		a.conv.Count++
		a.conv.Running++
	}
	if c.Status != arrops.ConversionRejected && c.Status.Terminal() && d > 0 {
		a.durs = append(a.durs, d.Seconds())
	}
	if a.keepRows {
		row := ConversionRow{
			ID: c.ID, Status: string(c.Status), Input: strings.TrimPrefix(c.InputContainer+"/"+c.InputPath, "/"),
			ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage, Note: c.Note, Created: c.CreatedAt.UTC(), Duration: d,
		}
		if c.Status == arrops.ConversionSucceeded {
			row.Output = c.OutputURI
		}
		if c.Details != nil {
			row.Result, row.Warnings, row.Errors = string(c.Details.Result), c.Details.WarningsTotal, c.Details.ErrorsTotal
		}
		if rows.wants(row) {
			rows.add(row)
		}
	}
	return true
}

func round(f float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(f*p) / p
}

func finishTotals(t Totals) Totals {
	return Totals{Minutes: round(t.Minutes, 2), Hours: round(t.Minutes/60, 3), Cost: round(t.Cost, 2), Count: t.Count, Running: t.Running}
}

func sortedGroups(m map[string]*Totals) []Group {
	gs := make([]Group, 0, len(m))
	for k, t := range m {
		gs = append(gs, Group{Key: k, Totals: finishTotals(*t)})
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Key < gs[j].Key })
	return gs
}

func (a *aggregator) finish() *Report {
	r := &Report{
		From: a.q.From.Format(dateLayout), To: a.q.To.Format(dateLayout),
		GroupBy: a.q.GroupLabel(), GeneratedAt: a.now,
		Currency: a.rates.Currency, RatesConfigured: a.rates.Set,
		Groups: sortedGroups(a.groups), Requesters: sortedGroups(a.requesters),
		Totals:       finishTotals(a.totals),
		RunningHours: round(a.running/60, 3),
		BilledUntil:  a.end,
		query:        a.q,
	}
	if a.now.Before(a.end) {
		r.BilledUntil = a.now
	}
	if !a.rates.Set {
		r.Note = NoRates
		r.Currency = ""
	}
	sort.SliceStable(r.Requesters, func(i, j int) bool { return r.Requesters[i].Minutes > r.Requesters[j].Minutes })
	for size := range a.dayHours {
		r.Sizes = append(r.Sizes, size)
	}
	sort.Slice(r.Sizes, func(i, j int) bool { return sizeOrder(r.Sizes[i]) < sizeOrder(r.Sizes[j]) })
	r.Days = make([]Day, len(a.dayCost))
	for i := range r.Days {
		d := Day{Date: a.start.AddDate(0, 0, i).Format(dateLayout), Hours: map[string]float64{}, Cost: round(a.dayCost[i], 2)}
		var total float64
		for _, size := range r.Sizes {
			if h := a.dayHours[size][i]; h > 0 {
				d.Hours[size] = round(h, 3)
				total += h
			}
		}
		d.Total = round(total, 3)
		r.Days[i] = d
	}

	c := a.conv
	if fin := c.Succeeded + c.Failed; fin > 0 {
		rate := round(float64(c.Succeeded)/float64(fin), 4)
		c.SuccessRate = &rate
	}
	if len(a.durs) > 0 {
		slices.Sort(a.durs)
		m, p := round(quantile(a.durs, 0.5), 1), round(quantile(a.durs, 0.95), 1)
		c.MedianSeconds, c.P95Seconds = &m, &p
	}
	c.TopFailures = byCount(a.failures)
	if len(c.TopFailures) > MaxTopFailures {
		c.TopFailures = c.TopFailures[:MaxTopFailures]
	}
	c.Rejected.ByCode = byCount(a.rejects)
	r.Conversions = c
	r.ConversionRows = a.convRows.sorted()
	r.RejectedRows = a.rejRows.sorted()
	r.SessionRows = a.sessRows.sorted()

	r.Savings = Savings{Totals: finishTotals(a.savings), ByPolicy: sortedGroups(a.byPolicy), LeaseUnknown: a.leaseUnknown}
	r.Waste = Waste{Totals: finishTotals(a.waste), ByRequester: sortedGroups(a.wasteByReq)}
	sort.SliceStable(r.Waste.ByRequester, func(i, j int) bool {
		return r.Waste.ByRequester[i].Minutes > r.Waste.ByRequester[j].Minutes
	})

	st := StartTimes{BySize: []StartGroup{}, ByDay: []StartGroup{}, ByCode: byCount(a.neverReady)}
	var all []float64
	for _, size := range slices.SortedFunc(maps.Keys(a.startBySize), func(x, y string) int { return strings.Compare(sizeOrder(x), sizeOrder(y)) }) {
		ds := a.startBySize[size]
		all = append(all, ds...)
		st.BySize = append(st.BySize, startGroup(size, ds))
	}
	for i, ds := range a.startByDay {
		if len(ds) > 0 {
			st.ByDay = append(st.ByDay, startGroup(a.start.AddDate(0, 0, i).Format(dateLayout), ds))
		}
	}
	if len(all) > 0 {
		g := startGroup("", all)
		st.Ready, st.P50Seconds, st.P95Seconds = g.Count, &g.P50Seconds, &g.P95Seconds
	}
	for _, n := range a.neverReady {
		st.NeverReady += n
	}
	r.StartTimes = st
	r.Pool = Pool{Idle: finishTotals(a.poolIdle), Warm: a.warm, Cold: a.cold,
		WarmToHostname: startGroup("warm", a.warmHost), ColdToHostname: startGroup("cold", a.coldHost)}
	return r
}

// startGroup sorts ds in place and summarises it.
func startGroup(key string, ds []float64) StartGroup {
	if len(ds) == 0 {
		return StartGroup{Key: key}
	}
	slices.Sort(ds)
	return StartGroup{Key: key, Count: len(ds), P50Seconds: round(quantile(ds, 0.5), 1), P95Seconds: round(quantile(ds, 0.95), 1)}
}

// byCount lists the counts of m, most frequent first, ties by code.
func byCount(m map[string]int) []FailureCode {
	out := make([]FailureCode, 0, len(m))
	for code, n := range m {
		out = append(out, FailureCode{Code: code, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		return x.Count > y.Count || x.Count == y.Count && x.Code < y.Code
	})
	return out
}

func sizeOrder(s string) string {
	switch s {
	case string(arrops.SizeStandard):
		return "0"
	case string(arrops.SizePremium):
		return "1"
	}
	return "2" + s
}

// quantile of sorted xs by linear interpolation between closest ranks (the
// "R-7" definition spreadsheets use), so the median of an even count is the
// mean of the middle two.
func quantile(xs []float64, p float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	h := p * float64(len(xs)-1)
	lo := int(h)
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}
