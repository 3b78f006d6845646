package report

import (
	"math"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func TestBill(t *testing.T) {
	nov := func(s string) time.Time { return ts("2026-11-" + s + "Z") }
	start, end := ts("2026-11-01T00:00:00Z"), ts("2026-12-01T00:00:00Z") // November
	now := nov("20T12:00:00")
	tests := []struct {
		name        string
		s           arrops.Session
		now         time.Time
		wantMinutes float64
		wantRunning bool
		wantNote    string
		listed      bool
	}{
		{"stopped inside", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("02T10:00:00"), StoppedAt: nov("02T11:30:00")},
			now, 90, false, "", true},
		{"expired counts like stopped", arrops.Session{Status: arrops.SessionExpired, ReadyAt: nov("02T10:00:00"), StoppedAt: nov("02T11:00:00")},
			now, 60, false, "", true},
		{"spans midnight", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("02T23:30:00"), StoppedAt: nov("03T00:45:00")},
			now, 75, false, "", true},
		{"clipped at the start (month end)", arrops.Session{Status: arrops.SessionStopped, CreatedAt: ts("2026-10-31T22:00:00Z"),
			ReadyAt: ts("2026-10-31T23:00:00Z"), StoppedAt: nov("01T00:20:00")}, now, 20, false, "", true},
		{"clipped at the end (month end)", arrops.Session{Status: arrops.SessionStopped, ReadyAt: ts("2026-11-30T23:50:00Z"),
			StoppedAt: ts("2026-12-01T02:00:00Z")}, ts("2026-12-02T00:00:00Z"), 10, false, "", true},
		{"clipped at both ends", arrops.Session{Status: arrops.SessionExpired, ReadyAt: ts("2026-10-31T12:00:00Z"),
			StoppedAt: ts("2026-12-01T12:00:00Z")}, ts("2026-12-02T00:00:00Z"), 30 * 24 * 60, false, "", true},
		{"running until now", arrops.Session{Status: arrops.SessionReady, ReadyAt: nov("20T10:00:00")},
			now, 120, true, "", true},
		{"running across the range end", arrops.Session{Status: arrops.SessionReady, ReadyAt: ts("2026-11-30T23:00:00Z")},
			ts("2026-12-01T05:00:00Z"), 60, true, "", true},
		{"error after ready bills to stop", arrops.Session{Status: arrops.SessionError, ReadyAt: nov("05T10:00:00"), StoppedAt: nov("05T10:10:00")},
			now, 10, false, "", true},
		{"error never ready", arrops.Session{Status: arrops.SessionError, CreatedAt: nov("05T10:00:00"), StoppedAt: nov("05T10:10:00")},
			now, 0, false, NoteNeverReady, true},
		{"starting", arrops.Session{Status: arrops.SessionStarting, CreatedAt: nov("20T11:58:00")},
			now, 0, true, NoteNeverReady, true},
		{"ready without ready time", arrops.Session{Status: arrops.SessionReady, CreatedAt: nov("20T08:00:00")},
			now, 0, true, NoteReadyMissing, true},
		{"stopped with elapsed but no ready time", arrops.Session{Status: arrops.SessionStopped, ElapsedMinutes: 30,
			CreatedAt: nov("10T08:00:00"), StoppedAt: nov("10T09:00:00")}, now, 0, false, NoteReadyMissing, true},
		{"terminal without stop time uses last update", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("10T08:00:00"),
			UpdatedAt: nov("10T08:40:00")}, now, 40, false, NoteStopMissing, true},
		{"terminal without any end", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("10T08:00:00"), CreatedAt: nov("10T07:59:00")},
			now, 0, false, NoteNoEnd, true},
		{"entirely before the range", arrops.Session{Status: arrops.SessionStopped, CreatedAt: ts("2026-10-30T09:00:00Z"),
			ReadyAt: ts("2026-10-30T10:00:00Z"), StoppedAt: ts("2026-10-30T11:00:00Z")}, now, 0, false, "", false},
		{"never ready before the range", arrops.Session{Status: arrops.SessionStopped, CreatedAt: ts("2026-10-30T09:00:00Z")},
			now, 0, false, NoteNeverReady, false},
		{"entirely after the range", arrops.Session{Status: arrops.SessionStopped, CreatedAt: ts("2026-12-03T09:00:00Z"),
			ReadyAt: ts("2026-12-03T10:00:00Z"), StoppedAt: ts("2026-12-03T11:00:00Z")}, ts("2026-12-04T00:00:00Z"), 0, false, "", false},
		{"stop time after now (clock skew) caps at now", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("20T11:00:00"),
			StoppedAt: nov("20T12:05:00")}, now, 60, false, "", true},
		{"stop before ready bills nothing", arrops.Session{Status: arrops.SessionStopped, CreatedAt: nov("20T09:00:00"), ReadyAt: nov("20T11:00:00"),
			StoppedAt: nov("20T10:00:00")}, now, 0, false, "", true},
		{"non-UTC times", arrops.Session{Status: arrops.SessionStopped, ReadyAt: nov("02T23:30:00").In(time.FixedZone("JST", 9*3600)),
			StoppedAt: nov("03T00:30:00").In(time.FixedZone("PST", -8*3600))}, now, 60, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Bill(&tt.s, start, end, tt.now)
			if math.Abs(b.Minutes-tt.wantMinutes) > 1e-9 || b.Running != tt.wantRunning || b.Note != tt.wantNote {
				t.Errorf("Bill = %v min, running %v, note %q; want %v, %v, %q", b.Minutes, b.Running, b.Note, tt.wantMinutes, tt.wantRunning, tt.wantNote)
			}
			if got := b.Overlaps(&tt.s, start, end); got != tt.listed {
				t.Errorf("listed = %v, want %v", got, tt.listed)
			}
			if b.Minutes > 0 && (b.Start.Before(start) || b.End.After(end) || b.Start.Location() != time.UTC) {
				t.Errorf("interval %v..%v is not clipped to the range in UTC", b.Start, b.End)
			}
		})
	}
}

func TestSplitDays(t *testing.T) {
	type part struct {
		day string
		min float64
	}
	tests := []struct {
		name     string
		from, to string
		want     []part
	}{
		{"one day", "2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z", []part{{"2026-11-02", 60}}},
		{"midnight", "2026-11-02T23:30:00Z", "2026-11-03T00:45:00Z", []part{{"2026-11-02", 30}, {"2026-11-03", 45}}},
		{"month and year end", "2026-12-31T23:00:00Z", "2027-01-02T01:00:00Z",
			[]part{{"2026-12-31", 60}, {"2027-01-01", 1440}, {"2027-01-02", 60}}},
		{"ends at midnight", "2026-11-02T23:00:00Z", "2026-11-03T00:00:00Z", []part{{"2026-11-02", 60}}},
		{"empty", "2026-11-02T23:00:00Z", "2026-11-02T23:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []part
			splitDays(ts(tt.from), ts(tt.to), func(day time.Time, m float64) { got = append(got, part{day.Format(dateLayout), m}) })
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("part %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestBuildSplitsMidnightAcrossDays(t *testing.T) {
	ss := []*arrops.Session{{ID: "a", Size: arrops.SizePremium, Status: arrops.SessionStopped, RequestedBy: "x",
		ReadyAt: ts("2026-11-02T23:00:00Z"), StoppedAt: ts("2026-11-03T01:30:00Z")}}
	q := Query{From: ts("2026-11-01T00:00:00Z"), To: ts("2026-11-03T00:00:00Z"), GroupBy: GroupDay, Format: FormatJSON}
	r, err := Build(t.Context(), q, testRates, fixedNow, seq(ss), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 3 || r.Days[1].Hours["Premium"] != 1 || r.Days[2].Hours["Premium"] != 1.5 || r.Days[1].Cost != 12.5 {
		t.Errorf("days = %+v", r.Days)
	}
	if len(r.Groups) != 2 || r.Groups[0].Minutes != 60 || r.Groups[1].Minutes != 90 || r.Totals.Count != 1 {
		t.Errorf("groups = %+v, totals %+v", r.Groups, r.Totals)
	}
}
