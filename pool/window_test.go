package pool

import (
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func win(t testing.TB, hours, days, tz string) Window {
	t.Helper()
	w, err := ParseWindow(hours, days, zone(t, tz))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "every day"},
		{"Mon-Fri", "Mon,Tue,Wed,Thu,Fri"},
		{"mon-fri", "Mon,Tue,Wed,Thu,Fri"},
		{"Sat,Sun", "Sat,Sun"},
		{"Fri-Mon", "Mon,Fri,Sat,Sun"},
		{"Monday-Wednesday, Friday", "Mon,Tue,Wed,Fri"},
		{"Sun-Sat", "every day"},
		{"Wed", "Wed"},
	} {
		d, err := ParseDays(tc.in)
		if err != nil {
			t.Errorf("ParseDays(%q): %v", tc.in, err)
			continue
		}
		if d.String() != tc.want {
			t.Errorf("ParseDays(%q) = %s, want %s", tc.in, d, tc.want)
		}
	}
	for _, bad := range []string{"Mo-Fr", "Mon-", "Mon,,Tue", "weekdays", "1-5"} {
		if _, err := ParseDays(bad); err == nil {
			t.Errorf("ParseDays(%q) accepted", bad)
		}
	}
}

func TestParseWindowErrors(t *testing.T) {
	utc := time.UTC
	for _, tc := range [][2]string{
		{"08:00", ""}, {"8-18", ""}, {"08:00-24:00", ""}, {"08:00-18:0", ""}, {"08:00-18:00", "Someday"},
	} {
		if _, err := ParseWindow(tc[0], tc[1], utc); err == nil {
			t.Errorf("ParseWindow(%q, %q) accepted", tc[0], tc[1])
		}
	}
}

// at builds a wall-clock instant in loc.
func at(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindowNext(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	ny := zone(t, "America/New_York")
	for _, tc := range []struct {
		name        string
		w           Window
		loc         *time.Location
		now         string
		open, close string // wall clock in loc
		date        string
		in          bool
	}{
		{"day window, before", win(t, "08:00-18:00", "", "Europe/Berlin"), berlin, "2026-12-07 07:00", "2026-12-07 08:00", "2026-12-07 18:00", "20261207", false},
		{"day window, inside", win(t, "08:00-18:00", "", "Europe/Berlin"), berlin, "2026-12-07 08:00", "2026-12-07 08:00", "2026-12-07 18:00", "20261207", true},
		{"day window, at close: next day", win(t, "08:00-18:00", "", "Europe/Berlin"), berlin, "2026-12-07 18:00", "2026-12-08 08:00", "2026-12-08 18:00", "20261208", false},
		{"across midnight, evening", win(t, "22:00-06:00", "", "Europe/Berlin"), berlin, "2026-12-07 23:30", "2026-12-07 22:00", "2026-12-08 06:00", "20261207", true},
		{"across midnight, after midnight belongs to yesterday", win(t, "22:00-06:00", "", "Europe/Berlin"), berlin, "2026-12-08 05:59", "2026-12-07 22:00", "2026-12-08 06:00", "20261207", true},
		{"across midnight, daytime", win(t, "22:00-06:00", "", "Europe/Berlin"), berlin, "2026-12-08 12:00", "2026-12-08 22:00", "2026-12-09 06:00", "20261208", false},
		// 2026-12-04 is a Friday.
		{"Mon-Fri on Saturday: Monday", win(t, "08:00-18:00", "Mon-Fri", "Europe/Berlin"), berlin, "2026-12-05 09:00", "2026-12-07 08:00", "2026-12-07 18:00", "20261207", false},
		{"Mon-Fri on Friday evening: Monday", win(t, "08:00-18:00", "Mon-Fri", "Europe/Berlin"), berlin, "2026-12-04 19:00", "2026-12-07 08:00", "2026-12-07 18:00", "20261207", false},
		{"Friday night runs into Saturday", win(t, "22:00-06:00", "Mon-Fri", "Europe/Berlin"), berlin, "2026-12-05 03:00", "2026-12-04 22:00", "2026-12-05 06:00", "20261204", true},
		{"Saturday night is not open", win(t, "22:00-06:00", "Mon-Fri", "Europe/Berlin"), berlin, "2026-12-05 23:00", "2026-12-07 22:00", "2026-12-08 06:00", "20261207", false},
		{"Sunday only", win(t, "10:00-12:00", "Sun", "America/New_York"), ny, "2026-12-07 11:00", "2026-12-13 10:00", "2026-12-13 12:00", "20261213", false},
		{"whole day", win(t, "00:00-00:00", "Wed", "Europe/Berlin"), berlin, "2026-12-09 23:59", "2026-12-09 00:00", "2026-12-10 00:00", "20261209", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := at(tc.loc, tc.now)
			iv, ok := tc.w.Next(now)
			if !ok {
				t.Fatal("no opening")
			}
			if !iv.Open.Equal(at(tc.loc, tc.open)) || !iv.Close.Equal(at(tc.loc, tc.close)) || iv.Date != tc.date {
				t.Errorf("Next(%s) = %s..%s %s, want %s..%s %s", tc.now, iv.Open.In(tc.loc), iv.Close.In(tc.loc), iv.Date, tc.open, tc.close, tc.date)
			}
			if _, in := tc.w.At(now); in != tc.in {
				t.Errorf("At(%s) open = %v, want %v", tc.now, in, tc.in)
			}
		})
	}
}

// Daylight-saving changes: the window keeps its wall-clock edges, so its
// length in real time changes on the nights the clocks move.
func TestWindowDST(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	// Clocks go forward on 2026-03-29 at 02:00 (CET -> CEST), back on
	// 2026-10-25 at 03:00.
	night := win(t, "22:00-06:00", "", "Europe/Berlin")
	for _, tc := range []struct {
		date string
		want time.Duration
	}{
		{"2026-03-28 23:00", 7 * time.Hour}, // spring forward: one hour fewer
		{"2026-10-24 23:00", 9 * time.Hour}, // fall back: one hour more
		{"2026-06-10 23:00", 8 * time.Hour},
	} {
		iv, ok := night.At(at(berlin, tc.date))
		if !ok {
			t.Fatalf("%s: not open", tc.date)
		}
		if got := iv.Close.Sub(iv.Open); got != tc.want {
			t.Errorf("%s: window lasts %s, want %s", tc.date, got, tc.want)
		}
		if iv.Close.In(berlin).Hour() != 6 || iv.Open.In(berlin).Hour() != 22 {
			t.Errorf("%s: edges %s..%s are not 22:00..06:00 local", tc.date, iv.Open.In(berlin), iv.Close.In(berlin))
		}
	}
	// A window opening in the skipped hour still opens (next to the gap)
	// and is never empty.
	gap := win(t, "02:30-05:00", "", "Europe/Berlin")
	iv, ok := gap.Next(at(berlin, "2026-03-29 00:00"))
	if !ok || iv.Date != "20260329" || !iv.Close.After(iv.Open) {
		t.Fatalf("window in the skipped hour: %+v %v", iv, ok)
	}
	if !iv.Close.Equal(at(berlin, "2026-03-29 05:00")) {
		t.Errorf("close %s, want 05:00 CEST", iv.Close.In(berlin))
	}
	// In UTC the same daytime window moves by an hour between seasons.
	day := win(t, "08:00-18:00", "", "Europe/Berlin")
	w, _ := day.Next(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	s, _ := day.Next(time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC))
	if w.Open.UTC().Hour() != 7 || s.Open.UTC().Hour() != 6 {
		t.Errorf("opens at %s (winter) and %s (summer) UTC, want 07:00 and 06:00", w.Open.UTC(), s.Open.UTC())
	}
}

func TestOverlap(t *testing.T) {
	from := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 7)
	weekend := func(tz string) Window { return win(t, "00:00-00:00", "Sat-Sun", tz) }
	for _, tc := range []struct {
		name    string
		a, b    Window
		overlap bool
	}{
		{"day pool, night quiet", win(t, "08:00-18:00", "", "UTC"), win(t, "19:00-07:00", "", "UTC"), false},
		{"touching edges", win(t, "07:00-19:00", "", "UTC"), win(t, "19:00-07:00", "", "UTC"), false},
		{"one minute into quiet", win(t, "07:00-19:01", "", "UTC"), win(t, "19:00-07:00", "", "UTC"), true},
		{"pool across midnight into quiet", win(t, "22:00-02:00", "", "UTC"), win(t, "01:00-05:00", "", "UTC"), true},
		{"weekday pool, quiet weekends", win(t, "08:00-18:00", "Mon-Fri", "Europe/Berlin"), weekend("Europe/Berlin"), false},
		{"Friday night pool runs into a quiet Saturday", win(t, "20:00-02:00", "Mon-Fri", "Europe/Berlin"), weekend("Europe/Berlin"), true},
		{"every-day pool, quiet weekends", win(t, "08:00-18:00", "", "UTC"), weekend("UTC"), true},
		// Zones differ: Berlin 08:00-18:00 is 07:00-17:00 UTC in winter and
		// 06:00-16:00 in summer; quiet from 06:30 UTC only bites in summer.
		{"other zone, only in summer", win(t, "08:00-18:00", "", "Europe/Berlin"), win(t, "17:00-06:30", "", "UTC"), true},
		{"other zone, never", win(t, "08:00-18:00", "", "Europe/Berlin"), win(t, "17:00-06:00", "", "UTC"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			when, got := Overlap(tc.a, tc.b, from, to)
			if got != tc.overlap {
				t.Fatalf("Overlap = %v at %s, want %v", got, when, tc.overlap)
			}
			if got {
				if _, ok := tc.a.At(when); !ok {
					t.Errorf("%s: a is not open", when)
				}
				if _, ok := tc.b.At(when); !ok {
					t.Errorf("%s: b is not open", when)
				}
			}
		})
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range [][2]string{{"08:00-18:00", "Mon-Fri"}, {"22:00-06:00", ""}, {"00:00-00:00", "Sat,Sun"}, {"x", "Fri-Mon"}} {
		f.Add(s[0], s[1])
	}
	berlin := zone(f, "Europe/Berlin")
	now := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, hours, days string) {
		w, err := ParseWindow(hours, days, berlin)
		if err != nil {
			return
		}
		iv, ok := w.Next(now)
		if !ok {
			t.Fatalf("%s: no opening", w)
		}
		if !iv.Close.After(now) || iv.Close.Before(iv.Open) || iv.Close.Sub(iv.Open) > 25*time.Hour {
			t.Fatalf("%s: opening %s..%s from %s", w, iv.Open, iv.Close, now)
		}
	})
}
