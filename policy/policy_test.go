package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) // a Tuesday

func TestMaxReadyMinutes(t *testing.T) {
	cfg := Options{MaxReadyMinutes: 120, TimeZone: time.UTC}
	tests := []struct {
		name       string
		s          *arrops.Session
		warn       int
		want       Action
		wantReason string
	}{
		{"one minute before", ready("a", t0, 119), 0, None, ""},
		{"exactly at the limit", ready("a", t0, 120), 0, Stop, "ready for 120 min, SHUTDOWN_MAX_READY_MINUTES=120"},
		{"over the limit", ready("a", t0, 125), 0, Stop, "ready for 125 min, SHUTDOWN_MAX_READY_MINUTES=120"},
		{"one minute before warns", ready("a", t0, 119), 10, Warn, "stops at 2026-11-24T12:01:00Z (in 1 min): ready for 119 min"},
		{"outside warning window", ready("a", t0, 109), 10, None, ""},
		{"edge of warning window", ready("a", t0, 110), 10, Warn, "(in 10 min)"},
		{"starting is not subject", &arrops.Session{ID: "a", Status: arrops.SessionStarting}, 10, None, ""},
		{"adopted is subject", &arrops.Session{ID: "a", Status: arrops.SessionReady, Origin: arrops.OriginExternal, ReadyAt: t0.Add(-3 * time.Hour)}, 0, Stop, "ready for 180 min"},
		{"extended past the limit", func() *arrops.Session { s := ready("a", t0, 125); s.ExtendedUntil = t0.Add(time.Minute); return s }(), 0, None, ""},
		{"extension ran out", func() *arrops.Session { s := ready("a", t0, 125); s.ExtendedUntil = t0; return s }(), 0, Stop, "extended until 2026-11-24T12:00:00Z"},
		{"extension shorter than the limit", func() *arrops.Session { s := ready("a", t0, 125); s.ExtendedUntil = t0.Add(-time.Hour); return s }(), 0, Stop, "ready for 125 min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.WarningMinutes = tt.warn
			d := only(t, Evaluate(t0, c, []*arrops.Session{tt.s}, nil))
			if d.Action != tt.want || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("got %v %q, want %v containing %q", d.Action, d.Reason, tt.want, tt.wantReason)
			}
			if d.Action != None && d.Policy != PolicyMaxReady {
				t.Fatalf("policy %q", d.Policy)
			}
			if d.Action == None && d.Reason != "" {
				t.Fatalf("None with reason %q", d.Reason)
			}
		})
	}
}

func TestQuietHours(t *testing.T) {
	ny, berlin, tokyo := zone(t, "America/New_York"), zone(t, "Europe/Berlin"), zone(t, "Asia/Tokyo")
	tests := []struct {
		name     string
		loc      *time.Location
		window   string
		weekends bool
		now      time.Time
		want     string // policy of a Stop; "" for None
	}{
		{"UTC before window", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 24, 18, 59, 0, 0, time.UTC), ""},
		{"UTC at start", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC), PolicyQuietHours},
		{"UTC before midnight", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 24, 23, 59, 0, 0, time.UTC), PolicyQuietHours},
		{"UTC after midnight", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), PolicyQuietHours},
		{"UTC last minute", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 25, 6, 59, 59, 0, time.UTC), PolicyQuietHours},
		{"UTC at end", time.UTC, "19:00-07:00", false, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), ""},
		{"same-day window", time.UTC, "12:00-13:00", false, time.Date(2026, 11, 24, 12, 30, 0, 0, time.UTC), PolicyQuietHours},
		{"Tokyo in local window (13:00 UTC)", tokyo, "22:00-06:00", false, time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC), PolicyQuietHours},
		{"Tokyo UTC time would be quiet, local is not", tokyo, "22:00-06:00", false, time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC), ""},
		// 2026-03-08 New York: 02:00 EST jumps to 03:00 EDT.
		{"NY spring 01:45 EST", ny, "01:30-03:00", false, time.Date(2026, 3, 8, 1, 45, 0, 0, ny), PolicyQuietHours},
		{"NY spring 01:59:59 EST", ny, "01:30-03:00", false, time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC), PolicyQuietHours},
		{"NY spring 03:00 EDT ends window", ny, "01:30-03:00", false, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), ""},
		{"NY spring missing start, 03:00 EDT quiet", ny, "02:15-04:00", false, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), PolicyQuietHours},
		{"NY spring missing start, 01:59 EST not", ny, "02:15-04:00", false, time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC), ""},
		// 2026-11-01 New York: 02:00 EDT falls back to 01:00 EST.
		{"NY fall first 01:30 EDT", ny, "01:30-03:00", false, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), PolicyQuietHours},
		{"NY fall second 01:30 EST", ny, "01:30-03:00", false, time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), PolicyQuietHours},
		{"NY fall repeated hour before window (01:10 EST)", ny, "01:30-03:00", false, time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC), ""},
		{"NY fall 02:59 EST", ny, "01:30-03:00", false, time.Date(2026, 11, 1, 7, 59, 0, 0, time.UTC), PolicyQuietHours},
		{"NY fall 03:00 EST", ny, "01:30-03:00", false, time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), ""},
		// 2026-03-29 Berlin: 02:00 CET jumps to 03:00 CEST; 2026-10-25: 03:00 CEST back to 02:00 CET.
		{"Berlin spring 03:00 CEST in 02:30-05:00", berlin, "02:30-05:00", false, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), PolicyQuietHours},
		{"Berlin spring 01:59 CET", berlin, "02:30-05:00", false, time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), ""},
		{"Berlin fall 02:15 CEST", berlin, "02:00-02:30", false, time.Date(2026, 10, 25, 0, 15, 0, 0, time.UTC), PolicyQuietHours},
		{"Berlin fall 02:15 CET", berlin, "02:00-02:30", false, time.Date(2026, 10, 25, 1, 15, 0, 0, time.UTC), PolicyQuietHours},
		{"Berlin fall 02:45 CEST", berlin, "02:00-02:30", false, time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC), ""},
		// Weekends in Tokyo: Saturday 2026-11-28 00:00 JST is Friday 15:00 UTC.
		{"Tokyo Friday 23:59", tokyo, "", true, time.Date(2026, 11, 27, 14, 59, 0, 0, time.UTC), ""},
		{"Tokyo Saturday 00:00", tokyo, "", true, time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC), PolicyQuietWeekend},
		{"Tokyo Sunday 23:59", tokyo, "", true, time.Date(2026, 11, 29, 14, 59, 0, 0, time.UTC), PolicyQuietWeekend},
		{"Tokyo Monday 00:00", tokyo, "", true, time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC), ""},
		{"weekend beats hours", tokyo, "22:00-06:00", true, time.Date(2026, 11, 28, 13, 30, 0, 0, time.UTC), PolicyQuietWeekend},
		{"weekday hours with weekends on", tokyo, "22:00-06:00", true, time.Date(2026, 11, 24, 13, 30, 0, 0, time.UTC), PolicyQuietHours},
		{"weekends off", tokyo, "", false, time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Options{TimeZone: tt.loc, QuietWeekends: tt.weekends}
			if tt.window != "" {
				cfg.Quiet = window(t, tt.window)
			}
			for _, s := range []*arrops.Session{ready("r", tt.now, 5), {ID: "s", Status: arrops.SessionStarting}} {
				d := only(t, Evaluate(tt.now, cfg, []*arrops.Session{s}, nil))
				if tt.want == "" {
					if d.Action != None {
						t.Fatalf("%s: got %v %s %q, want None", s.Status, d.Action, d.Policy, d.Reason)
					}
					continue
				}
				if d.Action != Stop || d.Policy != tt.want {
					t.Fatalf("%s: got %v %s %q, want Stop %s", s.Status, d.Action, d.Policy, d.Reason, tt.want)
				}
				if !strings.Contains(d.Reason, tt.loc.String()) {
					t.Fatalf("reason %q does not name the zone", d.Reason)
				}
			}
		})
	}
}

func TestQuietExtendedAndKeepAlive(t *testing.T) {
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	cfg := Options{TimeZone: time.UTC, Quiet: window(t, "19:00-07:00"), WarningMinutes: 10}
	ext := ready("a", now, 30)
	ext.ExtendedUntil = now.Add(5 * time.Minute)
	keep := ready("b", now, 30)
	keep.Tags = map[string]string{"keepAlive": "true"}
	ended := ready("c", now, 30)
	ended.ExtendedUntil = now
	got := byID(Evaluate(now, cfg, []*arrops.Session{ext, keep, ended}, nil))
	if d := got["a"]; d.Action != Warn || d.Policy != PolicyQuietHours || !d.StopAt.Equal(ext.ExtendedUntil) {
		t.Errorf("extended session: %+v, want a warning for the end of the extension", d)
	}
	if d := got["b"]; d.Action != None || !d.StopAt.IsZero() {
		t.Errorf("keepAlive session: %+v, want None with no stop scheduled", d)
	}
	if d := got["c"]; d.Action != Stop || d.Policy != PolicyQuietHours {
		t.Errorf("extension ending now: %+v, want Stop", d)
	}
}

func TestKeepAliveAndAbsoluteMax(t *testing.T) {
	quietNow := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC) // Saturday night
	cfg := Options{TimeZone: time.UTC, MaxReadyMinutes: 60, Quiet: window(t, "19:00-07:00"), QuietWeekends: true,
		BudgetSet: true, DailyBudget: 10, AbsoluteMaxMinute: 600}
	keep := func(mins int) *arrops.Session {
		s := ready("k", quietNow, mins)
		s.Tags = map[string]string{"KEEPALIVE": " True "}
		return s
	}
	tests := []struct {
		name string
		s    *arrops.Session
		want Action
	}{
		{"keepAlive exempt from age, quiet, weekend and budget", keep(599), None},
		{"absolute cap stops keepAlive at the limit", keep(600), Stop},
		{"absolute cap stops keepAlive past the limit", keep(900), Stop},
		{"keepAlive=false is not an opt-out", func() *arrops.Session { s := keep(61); s.Tags["KEEPALIVE"] = "false"; return s }(), Stop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := only(t, Evaluate(quietNow, cfg, []*arrops.Session{tt.s}, nil))
			if d.Action != tt.want {
				t.Fatalf("got %+v, want %v", d, tt.want)
			}
			if tt.s.KeepAlive() && d.Action == Stop && (d.Policy != PolicyAbsoluteMax || !strings.Contains(d.Reason, "SHUTDOWN_ABSOLUTE_MAX_MINUTES=600")) {
				t.Fatalf("keepAlive stopped by %s: %q", d.Policy, d.Reason)
			}
		})
	}
}

func TestPrecedenceAndExtendLimits(t *testing.T) {
	now := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC) // Saturday night, quiet twice over
	cfg := Options{TimeZone: time.UTC, MaxReadyMinutes: 60, Quiet: window(t, "19:00-07:00"), QuietWeekends: true,
		BudgetSet: true, DailyBudget: 100, AbsoluteMaxMinute: 300}
	ext := func(s *arrops.Session) *arrops.Session { s.ExtendedUntil = now.Add(10 * time.Hour); return s }
	tests := []struct {
		name string
		s    *arrops.Session
		want string
	}{
		{"absolute first", ready("a", now, 300), PolicyAbsoluteMax},
		{"then max age", ready("a", now, 90), PolicyMaxReady},
		{"then budget", ready("a", now, 59), PolicyDailyBudget}, // finished minutes below push it over
		{"then weekend", &arrops.Session{ID: "a", Status: arrops.SessionStarting, RequestedBy: "other"}, PolicyQuietWeekend},
		{"extend skips age and quiet, not budget", ext(ready("a", now, 90)), PolicyDailyBudget},
		{"extend does not skip the absolute cap", ext(ready("a", now, 301)), PolicyAbsoluteMax},
	}
	finished := []*arrops.Session{{ID: "f", Status: arrops.SessionStopped, RequestedBy: "viewer", ReadyAt: now.Add(-5 * time.Hour), StoppedAt: now.Add(-4 * time.Hour)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := only(t, Evaluate(now, cfg, []*arrops.Session{tt.s}, finished))
			if d.Action != Stop || d.Policy != tt.want {
				t.Fatalf("got %v %s %q, want Stop %s", d.Action, d.Policy, d.Reason, tt.want)
			}
			if !d.StopAt.Equal(now) {
				t.Fatalf("StopAt %v, want now", d.StopAt)
			}
		})
	}
}

func TestDryRunAndOrder(t *testing.T) {
	cfg := Options{TimeZone: time.UTC, MaxReadyMinutes: 60, DryRun: true}
	in := []*arrops.Session{
		ready("c", t0, 61), nil, ready("a", t0, 10),
		{ID: "z", Status: arrops.SessionStopped, ReadyAt: t0.Add(-5 * time.Hour)},
		ready("b", t0, 60), ready("a", t0, 500), // duplicate id: first occurrence wins
	}
	ds := Evaluate(t0, cfg, in, nil)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.SessionID+":"+d.Action.String())
		if !d.DryRun {
			t.Errorf("%s not marked DryRun", d.SessionID)
		}
	}
	if got := strings.Join(ids, ","); got != "a:none,b:stop,c:stop" {
		t.Fatalf("decisions %s, want a:none,b:stop,c:stop", got)
	}
	cfg.DryRun = false
	for _, d := range Evaluate(t0, cfg, in, nil) {
		if d.DryRun {
			t.Fatalf("%s marked DryRun with dry run off", d.SessionID)
		}
	}
	if len(Evaluate(t0, cfg, nil, nil)) != 0 {
		t.Fatal("decisions without sessions")
	}
}

func TestNilTimeZoneIsUTC(t *testing.T) {
	cfg := Options{Quiet: window(t, "11:00-13:00")}
	if d := only(t, Evaluate(t0, cfg, []*arrops.Session{ready("a", t0, 1)}, nil)); d.Action != Stop || !strings.Contains(d.Reason, "UTC") {
		t.Fatalf("got %+v", d)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{None: "none", Warn: "warn", Stop: "stop", Action(7): "Action(7)"} {
		if a.String() != want {
			t.Errorf("%d: %q", int(a), a.String())
		}
	}
}
