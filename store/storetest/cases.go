package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// fullSession has every field set, times in another zone and finer than
// 100 ns, so a field a driver forgets or keeps unnormalized fails the round
// trip.
func fullSession() *arrops.Session {
	cet := time.FixedZone("CET", 3600)
	at := t0.In(cet).Add(99 * time.Nanosecond)
	return &arrops.Session{
		ID: "s-full_1", Size: arrops.SizePremium, Status: arrops.SessionReady, Origin: arrops.OriginCommand,
		RequestedBy: "viewer-app", Tags: map[string]string{"project": "plant-7", "keepAlive": "true"},
		MaxLeaseMinutes: 120, CreatedAt: at, ReadyAt: at.Add(3 * time.Minute), StoppedAt: at.Add(time.Hour),
		ElapsedMinutes: 57, Hostname: "abc.arr.eastus.mixedreality.azure.com", HandshakePort: 50051,
		InspectorPort: 8080, Teraflops: 31.5, StopReason: "maxAge: 60 min after Ready", ErrorCode: "E1",
		ErrorMessage: "boom", ReplyTo: "viewer-replies", CorrelationID: "msg-1", Announced: arrops.SessionStopped,
		AnnounceClaimedAt: at.Add(61 * time.Minute), ExtendedUntil: at.Add(2 * time.Hour),
		WarnedAt: at.Add(50 * time.Minute),
	}
}

func fullConversion() *arrops.Conversion {
	return &arrops.Conversion{
		ID: "c-full", InputContainer: "arr-input", InputPath: "plant/pump.fbx", InputETag: "0x8D",
		InputSize: 5 << 32, OutputContainer: "arr-output", OutputPath: "plant/pump.arrAsset",
		OutputURI: "https://acct.blob.core.windows.net/arr-output/plant/pump.arrAsset",
		Status:    arrops.ConversionSucceeded, ErrorCode: "E", ErrorMessage: "m", Note: "n",
		CreatedAt: t0, CompletedAt: t0.Add(10 * time.Minute), Announced: arrops.ConversionSucceeded,
		AnnounceClaimedAt: t0.Add(11 * time.Minute),
		SettingsFile:      "plant/pump.ConversionSettings.json", RequestedBy: "pipeline", ReplyTo: "pipeline-replies", CorrelationID: "msg-1",
		Details: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings, Warnings: []string{"4004 Missing texture"}, WarningsTotal: 1,
			Statistics: &arrops.ConversionStatistics{Vertices: 245673, Triangles: 308306, Materials: 149,
				BoundingBox: &arrops.BoundingBox{Min: [3]float64{-1, -2, -3}, Max: [3]float64{1, 2, 3.5}}},
			Settings: []byte(`{"scaling":0.01}`)},
	}
}

// storedSession is s as a driver returns it after writing it at Clock.
func storedSession(s *arrops.Session, etag string) *arrops.Session {
	w := *s
	w.CreatedAt, w.ReadyAt, w.StoppedAt = asStored(w.CreatedAt), asStored(w.ReadyAt), asStored(w.StoppedAt)
	w.AnnounceClaimedAt, w.ExtendedUntil, w.WarnedAt = asStored(w.AnnounceClaimedAt), asStored(w.ExtendedUntil), asStored(w.WarnedAt)
	w.UpdatedAt, w.ETag = asStored(Clock), etag
	if len(w.Tags) == 0 {
		w.Tags = nil
	}
	return &w
}

func ids[T any](vs []*T, id func(*T) string) string {
	var out []string
	for _, v := range vs {
		out = append(out, id(v))
	}
	return strings.Join(out, ",")
}

func sessionID(s *arrops.Session) string       { return s.ID }
func conversionID(c *arrops.Conversion) string { return c.ID }

func testRoundTrip(t *testing.T, st Store) {
	ctx := ctxT(t)
	for _, want := range []*arrops.Session{fullSession(), {ID: "min", Status: arrops.SessionStarting, CreatedAt: t0}} {
		in := *want
		got, created, err := st.CreateSession(ctx, &in)
		if err != nil || !created {
			t.Fatalf("create %s: created %v, %v", want.ID, created, err)
		}
		if got.ETag == "" || !asStored(got.UpdatedAt).Equal(asStored(Clock)) {
			t.Errorf("create did not set ETag/UpdatedAt: %q %v", got.ETag, got.UpdatedAt)
		}
		read, err := st.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if w := storedSession(want, got.ETag); !reflect.DeepEqual(read, w) {
			t.Errorf("session round trip:\n got %+v\nwant %+v", read, w)
		}
		// Listing gives the same record, ETag included.
		day := t0.Truncate(24 * time.Hour)
		var listed []*arrops.Session
		for s, err := range st.SessionsByDay(ctx, day, day.Add(24*time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			if s.ID == want.ID {
				listed = append(listed, s)
			}
		}
		if len(listed) != 1 || !reflect.DeepEqual(listed[0], read) {
			t.Errorf("listed %+v, want %+v", listed, read)
		}
	}
	// An update replaces the record: a cleared field is gone.
	s, err := st.GetSession(ctx, "s-full_1")
	if err != nil {
		t.Fatal(err)
	}
	s.Hostname, s.Tags, s.ReadyAt = "", map[string]string{}, time.Time{}
	etag := s.ETag
	if err := st.UpdateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.ETag == etag || s.ETag == "" {
		t.Errorf("update kept the ETag %q", etag)
	}
	s2, err := st.GetSession(ctx, "s-full_1")
	if err != nil {
		t.Fatal(err)
	}
	if s2.Hostname != "" || s2.Tags != nil || !s2.ReadyAt.IsZero() || s2.ETag != s.ETag || s2.RequestedBy != "viewer-app" {
		t.Errorf("after clearing: %+v (ETag of the update %q)", s2, s.ETag)
	}

	c := fullConversion()
	got, created, err := st.CreateConversion(ctx, c)
	if err != nil || !created || got.ETag == "" || !asStored(got.UpdatedAt).Equal(asStored(Clock)) {
		t.Fatalf("create conversion: %+v %v %v", got, created, err)
	}
	read, err := st.GetConversion(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *fullConversion()
	want.UpdatedAt, want.ETag = asStored(Clock), got.ETag
	if !reflect.DeepEqual(read, &want) {
		t.Errorf("conversion round trip:\n got %+v\nwant %+v", read, &want)
	}
	read.Note = "changed"
	if err := st.UpdateConversion(ctx, read); err != nil {
		t.Fatal(err)
	}
	if again, err := st.GetConversion(ctx, c.ID); err != nil || again.Note != "changed" || again.ETag != read.ETag {
		t.Errorf("conversion after update: %+v %v", again, err)
	}

	// A zero CreatedAt is the clock's now, and picks the partition.
	s3, _, err := st.CreateSession(ctx, &arrops.Session{ID: "now"})
	if err != nil || !asStored(s3.CreatedAt).Equal(asStored(Clock)) {
		t.Fatalf("create without CreatedAt: %+v %v", s3, err)
	}
	n := 0
	for s, err := range st.SessionsByDay(ctx, Clock, Clock.Add(time.Nanosecond)) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID == "now" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("record created at the clock's now not listed under its day")
	}
}

// testCopies: a record handed out is the caller's; changing it changes
// nothing stored until it is written back.
func testCopies(t *testing.T, st Store) {
	ctx := ctxT(t)
	in := &arrops.Session{ID: "mine", Tags: map[string]string{"a": "1"}, CreatedAt: t0}
	if _, _, err := st.CreateSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Tags["a"], in.Hostname = "changed-after-create", "h"
	got, err := st.GetSession(ctx, "mine")
	if err != nil {
		t.Fatal(err)
	}
	got.Tags["a"] = "changed-after-get"
	for s, err := range st.SessionsByDay(ctx, t0, t0.Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		s.Tags["a"] = "changed-in-listing"
	}
	again, err := st.GetSession(ctx, "mine")
	if err != nil || again.Tags["a"] != "1" || again.Hostname != "" {
		t.Errorf("stored record changed without a write: %+v %v", again, err)
	}
}

func testCreateIdempotent(t *testing.T, st Store) {
	ctx := ctxT(t)
	first := &arrops.Session{ID: "redelivered", Status: arrops.SessionStarting, RequestedBy: "app-a", CreatedAt: t0}
	if _, created, err := st.CreateSession(ctx, first); err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	// The redelivery carries a later CreatedAt (another day) and other values:
	// nothing is written, the first record comes back.
	again := &arrops.Session{ID: "redelivered", Status: arrops.SessionReady, RequestedBy: "app-b", CreatedAt: t0.Add(30 * time.Hour)}
	got, created, err := st.CreateSession(ctx, again)
	if err != nil || created {
		t.Fatalf("redelivered create: created %v, %v", created, err)
	}
	if got.RequestedBy != "app-a" || got.Status != arrops.SessionStarting || !got.CreatedAt.Equal(t0) || got.ETag != first.ETag {
		t.Errorf("redelivery returned %+v, want the first record", got)
	}
	n := 0
	for s, err := range st.SessionsByDay(ctx, t0.Add(-48*time.Hour), t0.Add(72*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID == "redelivered" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d records for one id", n)
	}
	// Sessions and conversions are separate: the same id may be both.
	if _, created, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "redelivered", CreatedAt: t0}); err != nil || !created {
		t.Errorf("conversion with a session's id: created %v, %v", created, err)
	}
	c, created, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "redelivered", Note: "second", CreatedAt: t0})
	if err != nil || created || c.Note != "" {
		t.Errorf("redelivered conversion create: %+v created %v, %v", c, created, err)
	}
}

func testConcurrentCreate(t *testing.T, st Store) {
	ctx := ctxT(t)
	const n = 6
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range n {
		wg.Go(func() {
			_, created, err := st.CreateSession(ctx, &arrops.Session{ID: "race", RequestedBy: fmt.Sprint(i), CreatedAt: t0})
			if err != nil {
				t.Error(err)
			}
			if created {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d creators won, want 1", won.Load())
	}
}

func testConcurrentUpdate(t *testing.T, st Store) {
	ctx := ctxT(t)
	if _, _, err := st.CreateSession(ctx, &arrops.Session{ID: "contended", Status: arrops.SessionStarting, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	a, _ := st.GetSession(ctx, "contended")
	b, _ := st.GetSession(ctx, "contended")
	a.Status, a.Hostname = arrops.SessionReady, "host-a"
	if err := st.UpdateSession(ctx, a); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	b.StopReason = "writer b"
	staleETag, staleUpdated := b.ETag, b.UpdatedAt
	err := st.UpdateSession(ctx, b)
	if !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Fatalf("second writer: %v, want ErrConcurrentUpdate", err)
	}
	if arrops.ErrorCode(err) != arrops.EINTERNAL {
		t.Errorf("concurrent update: code %q, want %q (transient: the host retries)", arrops.ErrorCode(err), arrops.EINTERNAL)
	}
	if b.ETag != staleETag || !b.UpdatedAt.Equal(staleUpdated) {
		t.Error("failed update changed the caller's ETag or UpdatedAt")
	}
	// Re-read and retry: both changes survive.
	b, err = st.GetSession(ctx, "contended")
	if err != nil {
		t.Fatal(err)
	}
	b.StopReason = "writer b"
	if err := st.UpdateSession(ctx, b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	final, _ := st.GetSession(ctx, "contended")
	if final.Status != arrops.SessionReady || final.Hostname != "host-a" || final.StopReason != "writer b" {
		t.Errorf("final record %+v lost a write", final)
	}

	// Many writers, each retrying on conflict: no update is lost.
	if _, _, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "counter", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const writers = 5
	for i := range writers {
		wg.Go(func() {
			for {
				c, err := st.GetConversion(ctx, "counter")
				if err != nil {
					t.Error(err)
					return
				}
				c.Note += fmt.Sprint(i)
				err = st.UpdateConversion(ctx, c)
				if err == nil {
					return
				}
				if !errors.Is(err, arrops.ErrConcurrentUpdate) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	c, _ := st.GetConversion(ctx, "counter")
	if len(c.Note) != writers {
		t.Errorf("note %q: want one digit per writer", c.Note)
	}
	// A stale conversion update fails the same way.
	stale := *c
	c.Note = "x"
	if err := st.UpdateConversion(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateConversion(ctx, &stale); !errors.Is(err, arrops.ErrConcurrentUpdate) {
		t.Errorf("stale conversion update: %v, want ErrConcurrentUpdate", err)
	}
}

func testErrors(t *testing.T, st Store) {
	ctx := ctxT(t)
	const someETag = `W/"datetime'2026-01-01T00%3A00%3A00Z'"`
	tests := []struct {
		name string
		err  func() error
		code string
	}{
		{"get missing", func() error { _, err := st.GetSession(ctx, "nope"); return err }, arrops.ENOTFOUND},
		{"get missing conversion", func() error { _, err := st.GetConversion(ctx, "nope"); return err }, arrops.ENOTFOUND},
		{"invalid id", func() error { _, err := st.GetSession(ctx, "a/b"); return err }, arrops.EINVALID},
		{"invalid conversion id", func() error { _, err := st.GetConversion(ctx, "a#b"); return err }, arrops.EINVALID},
		{"create invalid id", func() error { _, _, err := st.CreateSession(ctx, &arrops.Session{ID: ""}); return err }, arrops.EINVALID},
		{"create invalid conversion id", func() error { _, _, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "a?b"}); return err }, arrops.EINVALID},
		{"update without etag", func() error { return st.UpdateSession(ctx, &arrops.Session{ID: "x"}) }, arrops.EINVALID},
		{"update missing", func() error { return st.UpdateSession(ctx, &arrops.Session{ID: "x", ETag: someETag}) }, arrops.ENOTFOUND},
		{"update missing conversion", func() error { return st.UpdateConversion(ctx, &arrops.Conversion{ID: "x", ETag: someETag}) }, arrops.ENOTFOUND},
		{"audit without id", func() error { return st.AppendAudit(ctx, arrops.CommandAudit{}) }, arrops.EINVALID},
	}
	for _, tt := range tests {
		err := tt.err()
		if got := arrops.ErrorCode(err); got != tt.code {
			t.Errorf("%s: %v (code %q), want %q", tt.name, err, got, tt.code)
		}
		if errors.Is(err, arrops.ErrConcurrentUpdate) {
			t.Errorf("%s: %v is a concurrent update", tt.name, err)
		}
	}
	// Nothing was created by the failures.
	if _, err := st.GetSession(ctx, "x"); arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Errorf("failed update created a record: %v", err)
	}
}

// testByDay: range queries return the records created on the UTC days that
// overlap [from, to), in (day, id) order, and stop when the caller does.
func testByDay(t *testing.T, st Store) {
	ctx := ctxT(t)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for d := range 4 {
		for i := range 3 {
			// Ids sort against creation time within a day: order is by id.
			at := start.AddDate(0, 0, d).Add(time.Duration(10-i) * time.Hour)
			id := fmt.Sprintf("d%d-%d", d, i)
			if _, _, err := st.CreateSession(ctx, &arrops.Session{ID: id, Status: arrops.SessionStopped, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "c" + id, Status: arrops.ConversionSucceeded, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"all days", start, start.AddDate(0, 0, 4), "d0-0,d0-1,d0-2,d1-0,d1-1,d1-2,d2-0,d2-1,d2-2,d3-0,d3-1,d3-2"},
		{"middle two", start.AddDate(0, 0, 1), start.AddDate(0, 0, 3), "d1-0,d1-1,d1-2,d2-0,d2-1,d2-2"},
		{"partial day counts whole", start.Add(36 * time.Hour), start.Add(37 * time.Hour), "d1-0,d1-1,d1-2"},
		{"to is exclusive", start.Add(12 * time.Hour), start.Add(24 * time.Hour), "d0-0,d0-1,d0-2"},
		{"other zone", start.In(time.FixedZone("X", -5*3600)).Add(30 * time.Hour), start.Add(31 * time.Hour), "d1-0,d1-1,d1-2"},
		{"empty", start, start, ""},
		{"reversed", start.AddDate(0, 0, 2), start, ""},
		{"before data", start.AddDate(0, 0, -9), start.AddDate(0, 0, -2), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*arrops.Session
			for s, err := range st.SessionsByDay(ctx, tt.from, tt.to) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if g := ids(got, sessionID); g != tt.want {
				t.Errorf("SessionsByDay = %s, want %s", g, tt.want)
			}
			var convs []*arrops.Conversion
			for c, err := range st.ConversionsByDay(ctx, tt.from, tt.to) {
				if err != nil {
					t.Fatal(err)
				}
				convs = append(convs, c)
			}
			want := ""
			if tt.want != "" {
				want = "c" + strings.ReplaceAll(tt.want, ",", ",c")
			}
			if g := ids(convs, conversionID); g != want {
				t.Errorf("ConversionsByDay = %s, want %s", g, want)
			}
		})
	}
	n := 0
	for range st.SessionsByDay(ctx, start, start.AddDate(0, 0, 4)) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break after the first row: %d rows", n)
	}
}

func testActive(t *testing.T, st Store) {
	ctx := ctxT(t)
	now := time.Date(2026, 11, 24, 0, 30, 0, 0, time.UTC)
	seed := []*arrops.Session{
		{ID: "ready-today", Status: arrops.SessionReady, CreatedAt: now.Add(-10 * time.Minute)},
		{ID: "starting-2d", Status: arrops.SessionStarting, CreatedAt: now.Add(-50 * time.Hour)},
		{ID: "ready-5d", Status: arrops.SessionReady, CreatedAt: now.Add(-5 * 24 * time.Hour)},
		{ID: "stopped-today", Status: arrops.SessionStopped, CreatedAt: now.Add(-2 * time.Hour), StoppedAt: now.Add(-time.Hour)},
		{ID: "expired-1d", Status: arrops.SessionExpired, CreatedAt: now.Add(-30 * time.Hour), StoppedAt: now.Add(-5 * time.Hour)},
		{ID: "error-old", Status: arrops.SessionError, CreatedAt: now.Add(-30 * time.Hour), StoppedAt: now.Add(-29 * time.Hour)},
		{ID: "stopped-at-since", Status: arrops.SessionStopped, CreatedAt: now.Add(-20 * time.Hour), StoppedAt: now.Add(-6 * time.Hour)},
		{ID: "skewed", Status: arrops.SessionStarting, CreatedAt: now.Add(time.Hour)},
		{ID: "far-future", Status: arrops.SessionStarting, CreatedAt: now.Add(50 * time.Hour)},
	}
	for _, s := range seed {
		if _, _, err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	active, err := st.ActiveSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(active, sessionID), "starting-2d,ready-today,skewed"; got != want {
		t.Errorf("ActiveSessions = %s, want %s", got, want)
	}
	// A record that turns terminal leaves the active view.
	s, _ := st.GetSession(ctx, "ready-today")
	s.Status, s.StoppedAt = arrops.SessionStopped, now.Add(-time.Minute)
	if err := st.UpdateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	active, err = st.ActiveSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(active, sessionID), "starting-2d,skewed"; got != want {
		t.Errorf("ActiveSessions after a stop = %s, want %s", got, want)
	}
	// The budget's finished sessions: stopped at or after since.
	fin, err := st.FinishedSessionsSince(ctx, now.Add(-6*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(fin, sessionID), "expired-1d,stopped-at-since,stopped-today,ready-today"; got != want {
		t.Errorf("FinishedSessionsSince = %s, want %s", got, want)
	}
	if fin, err := st.FinishedSessionsSince(ctx, now.Add(24*time.Hour), now.Add(-5*24*time.Hour)); err != nil || len(fin) != 0 {
		t.Errorf("FinishedSessionsSince over an empty range: %v %v", ids(fin, sessionID), err)
	}

	convs := []*arrops.Conversion{
		{ID: "running", Status: arrops.ConversionRunning, CreatedAt: now.Add(-time.Hour)},
		{ID: "notstarted", Status: arrops.ConversionNotStarted, CreatedAt: now.Add(-time.Minute)},
		{ID: "done", Status: arrops.ConversionSucceeded, CreatedAt: now.Add(-time.Hour)},
		{ID: "failed", Status: arrops.ConversionFailed, CreatedAt: now.Add(-time.Hour)},
		{ID: "cancelled", Status: arrops.ConversionCancelled, CreatedAt: now.Add(-time.Hour)},
		{ID: "rejected", Status: arrops.ConversionRejected, CreatedAt: now.Add(-time.Hour)},
		{ID: "old-running", Status: arrops.ConversionRunning, CreatedAt: now.Add(-4 * 24 * time.Hour)},
	}
	for _, c := range convs {
		if _, _, err := st.CreateConversion(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ac, err := st.ActiveConversions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// "running" was created yesterday (23:30), so it comes first.
	if got := ids(ac, conversionID); got != "running,notstarted" {
		t.Errorf("ActiveConversions = %v", got)
	}
}

func testAudit(t *testing.T, st Store) {
	ctx := ctxT(t)
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	id := "msg/1?x"
	for d := 1; d <= 3; d++ {
		a := arrops.CommandAudit{MessageID: id, DeliveryCount: d, InvocationID: fmt.Sprintf("inv-%d", d), Action: arrops.ActionStart, SessionID: "s1",
			RequestedBy: "app", Outcome: arrops.OutcomeRejected, Reason: fmt.Sprintf("try %d", d), At: at.Add(time.Duration(d) * time.Minute)}
		if err := st.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Delivery 2 written again (the handler retried its own write).
	retry := arrops.CommandAudit{MessageID: id, DeliveryCount: 2, InvocationID: "inv-2", Action: arrops.ActionStart, SessionID: "s1",
		RequestedBy: "app", Outcome: arrops.OutcomeAccepted, Reason: "second write", At: at.Add(2 * time.Minute)}
	if err := st.AppendAudit(ctx, retry); err != nil {
		t.Fatal(err)
	}
	// The same delivery count from another invocation (a duplicate send) is a
	// row of its own; so is another day's row.
	if err := st.AppendAudit(ctx, arrops.CommandAudit{MessageID: id, DeliveryCount: 1, InvocationID: "inv-dup", At: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx, arrops.CommandAudit{MessageID: "other-day", DeliveryCount: 1, At: at.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// No At: the clock's now.
	if err := st.AppendAudit(ctx, arrops.CommandAudit{MessageID: "now", DeliveryCount: 1}); err != nil {
		t.Fatal(err)
	}
	var rows []*arrops.CommandAudit
	for a, err := range st.AuditByDay(ctx, at.Truncate(24*time.Hour), at.Truncate(24*time.Hour).Add(24*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, a)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s/%d/%s", r.MessageID, r.DeliveryCount, r.InvocationID))
	}
	want := "msg/1?x/1/inv-1,msg/1?x/1/inv-dup,msg/1?x/2/inv-2,msg/1?x/3/inv-3,now/1/"
	if strings.Join(got, ",") != want {
		t.Fatalf("audit rows %v, want %s", got, want)
	}
	if !reflect.DeepEqual(rows[2], &retry) {
		t.Errorf("row of delivery 2 = %+v, want %+v", rows[2], retry)
	}
	if !rows[4].At.Equal(asStored(Clock)) || rows[4].At.Location() != time.UTC {
		t.Errorf("row without At: At %v, want the clock's now in UTC", rows[4].At)
	}
}

func testImport(t *testing.T, st Store) {
	ctx := ctxT(t)
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var sessions []*arrops.Session
	for i := range 250 { // three partitions, more than one Table Storage batch (100) in two
		s := fullSession()
		s.ID, s.CreatedAt = fmt.Sprintf("imp-%03d", i), day.Add(time.Duration(i%3)*24*time.Hour+time.Duration(i)*time.Second)
		sessions = append(sessions, s)
	}
	tests := []struct {
		name     string
		sessions []*arrops.Session
		wantErr  bool
	}{
		{"first import", sessions, false},
		{"same records again (idempotent)", sessions, false},
		{"no creation time", []*arrops.Session{{ID: "no-day"}}, true},
		{"invalid id", []*arrops.Session{{ID: "a/b", CreatedAt: day}}, true},
	}
	for _, tt := range tests {
		err := st.ImportSessions(ctx, tt.sessions)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		}
		if tt.wantErr && arrops.ErrorCode(err) != arrops.EINVALID {
			t.Errorf("%s: %v, want EINVALID", tt.name, err)
		}
	}
	n := 0
	for s, err := range st.SessionsByDay(ctx, day, day.Add(72*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if s.RequestedBy != "viewer-app" || s.Tags["project"] != "plant-7" || s.ETag == "" {
			t.Fatalf("imported record lost fields: %+v", s)
		}
		n++
	}
	if n != len(sessions) {
		t.Errorf("%d records after importing %d twice, want %d", n, len(sessions), len(sessions))
	}
	got, err := st.GetSession(ctx, "imp-124")
	if err != nil || got.CreatedAt.Day() != day.Add(24*time.Hour).Day() {
		t.Fatalf("lookup by id after import: %v %+v", err, got)
	}
	// The imported record takes part in conditional updates like any other,
	// and a create of its id finds it.
	got.Status = arrops.SessionStopped
	if err := st.UpdateSession(ctx, got); err != nil {
		t.Fatalf("update imported record: %v", err)
	}
	if _, created, err := st.CreateSession(ctx, &arrops.Session{ID: "imp-124", CreatedAt: day}); err != nil || created {
		t.Errorf("create of an imported id: created %v, %v", created, err)
	}
	if err := st.ImportConversions(ctx, []*arrops.Conversion{{ID: "c-1", Status: arrops.ConversionSucceeded, CreatedAt: day}}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.GetConversion(ctx, "c-1"); err != nil || c.Status != arrops.ConversionSucceeded {
		t.Fatalf("imported conversion: %v %+v", err, c)
	}
	if err := st.ImportConversions(ctx, []*arrops.Conversion{{ID: "c-2"}}); arrops.ErrorCode(err) != arrops.EINVALID {
		t.Errorf("conversion import without creation time: %v", err)
	}
}

// testLimits: a record or audit row Table Storage would refuse (a string
// property over 64 KiB) is refused with EINVALID before anything is written,
// by every driver; one at the limit is kept.
func testLimits(t *testing.T, st Store) {
	ctx := ctxT(t)
	// One tag whose JSON ({"k":"…"}) is n UTF-16 bytes.
	tags := func(n int) map[string]string {
		return map[string]string{"k": strings.Repeat("v", n/2-len(`{"k":""}`))}
	}
	over := &arrops.Session{ID: "too-big", Status: arrops.SessionRequested, Tags: tags(arrops.TableMaxStringBytes + 2)}
	if _, _, err := st.CreateSession(ctx, over); arrops.ErrorCode(err) != arrops.EINVALID || !strings.Contains(err.Error(), "Tags") {
		t.Errorf("create with a property one character over 64 KiB: %v, want EINVALID naming Tags", err)
	}
	if _, err := st.GetSession(ctx, "too-big"); arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Errorf("the refused create left a record: %v", err)
	}
	at := &arrops.Session{ID: "at-limit", Status: arrops.SessionRequested, Tags: tags(arrops.TableMaxStringBytes)}
	rec, created, err := st.CreateSession(ctx, at)
	if err != nil || !created {
		t.Fatalf("create at the limit: %v %v", created, err)
	}
	rec.Tags = tags(arrops.TableMaxStringBytes + 2)
	if err := st.UpdateSession(ctx, rec); arrops.ErrorCode(err) != arrops.EINVALID {
		t.Errorf("update one character over: %v, want EINVALID", err)
	}
	c := &arrops.Conversion{ID: "conv-too-big", ErrorMessage: strings.Repeat("e", arrops.TableMaxStringBytes/2+1)}
	if _, _, err := st.CreateConversion(ctx, c); arrops.ErrorCode(err) != arrops.EINVALID {
		t.Errorf("conversion one character over: %v, want EINVALID", err)
	}
	a := arrops.CommandAudit{MessageID: "m", DeliveryCount: 1, Reason: strings.Repeat("r", arrops.TableMaxStringBytes/2+1)}
	if err := st.AppendAudit(ctx, a); arrops.ErrorCode(err) != arrops.EINVALID {
		t.Errorf("audit row one character over: %v, want EINVALID", err)
	}
}
