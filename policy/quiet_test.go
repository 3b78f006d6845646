package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestQuietNext(t *testing.T) {
	ny, berlin, tokyo := zone(t, "America/New_York"), zone(t, "Europe/Berlin"), zone(t, "Asia/Tokyo")
	utc := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		loc      *time.Location
		window   string
		weekends bool
		from     time.Time
		want     time.Time
		policy   string
	}{
		{"later today", time.UTC, "19:00-07:00", false, utc(2026, 11, 24, 12, 0), utc(2026, 11, 24, 19, 0), PolicyQuietHours},
		{"already quiet", time.UTC, "19:00-07:00", false, utc(2026, 11, 25, 3, 0), utc(2026, 11, 25, 3, 0), PolicyQuietHours},
		{"tomorrow", time.UTC, "01:00-02:00", false, utc(2026, 11, 24, 2, 0), utc(2026, 11, 25, 1, 0), PolicyQuietHours},
		{"mid-minute start", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 24, 18, 59, 30, 5, time.UTC), utc(2026, 11, 24, 19, 0), PolicyQuietHours},
		{"Tokyo", tokyo, "22:00-06:00", false, utc(2026, 11, 24, 0, 0), utc(2026, 11, 24, 13, 0), PolicyQuietHours},
		{"NY spring: missing 02:15 starts at 03:00 EDT", ny, "02:15-04:00", false, utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 7, 0), PolicyQuietHours},
		{"NY spring: 01:30 exists", ny, "01:30-03:00", false, utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 6, 30), PolicyQuietHours},
		{"NY spring: next day back to 02:15 EDT", ny, "02:15-04:00", false, utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 6, 15), PolicyQuietHours},
		{"NY fall: first 01:30 (EDT)", ny, "01:30-03:00", false, utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 5, 30), PolicyQuietHours},
		{"NY fall: second 01:30 (EST) after the first pass", ny, "01:30-01:45", false, utc(2026, 11, 1, 5, 45), utc(2026, 11, 1, 6, 30), PolicyQuietHours},
		{"Berlin spring: 02:30 missing, 03:00 CEST", berlin, "02:30-05:00", false, utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 1, 0), PolicyQuietHours},
		{"Berlin fall: 02:00 CEST first", berlin, "02:00-02:30", false, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 0), PolicyQuietHours},
		{"weekend from Wednesday", tokyo, "", true, utc(2026, 11, 25, 3, 0), utc(2026, 11, 27, 15, 0), PolicyQuietWeekend},
		{"hours before weekend", tokyo, "22:00-06:00", true, utc(2026, 11, 27, 3, 0), utc(2026, 11, 27, 13, 0), PolicyQuietHours},
		{"weekend in NY across fall-back", ny, "", true, utc(2026, 10, 29, 12, 0), utc(2026, 10, 31, 4, 0), PolicyQuietWeekend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := quiet{weekends: tt.weekends, loc: tt.loc}
			if tt.window != "" {
				q.hours = window(t, tt.window)
			}
			got, p, ok := q.next(tt.from)
			if !ok || !got.Equal(tt.want) || p != tt.policy {
				t.Fatalf("next(%v) = %v %s %v, want %v %s", tt.from, got, p, ok, tt.want, tt.policy)
			}
		})
	}
	if _, _, ok := (quiet{loc: time.UTC}).next(t0); ok {
		t.Fatal("found quiet time with no window and no weekends")
	}
}

// TestQuietNextMatchesScan checks the boundary-stepping search against a
// minute-by-minute scan of the wall clock around DST changes in several zones.
func TestQuietNextMatchesScan(t *testing.T) {
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Lord_Howe", "America/Santiago", "UTC"}
	around := []time.Time{
		time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, 9, 5, 12, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, zn := range zones {
		loc := zone(t, zn)
		for i := range 40 {
			start, end := ClockTime(rng.IntN(1440)), ClockTime(rng.IntN(1440))
			q := quiet{loc: loc, weekends: i%5 == 0}
			if start != end {
				q.hours = QuietHours{Set: true, Start: start, End: end}
			}
			if !q.enabled() {
				continue
			}
			from := around[i%len(around)].Add(time.Duration(rng.IntN(48*60)) * time.Minute)
			got, _, ok := q.next(from)
			want := scan(q, from)
			if !ok || !got.Equal(want) {
				t.Fatalf("%s %s-%s weekends=%v from %v: next = %v (%v), scan = %v", zn, start, end, q.weekends, from, got, ok, want)
			}
		}
	}
}

func scan(q quiet, from time.Time) time.Time {
	for t := from; t.Before(from.Add(8 * 24 * time.Hour)); t = t.Add(time.Minute) {
		if _, ok := q.at(t); ok {
			return t
		}
	}
	panic(fmt.Sprintf("no quiet minute within 8 days of %v", from))
}
