package policy

import (
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Lord_Howe"}

// sessionsFrom turns fuzz bytes into sessions, 8 bytes each.
func sessionsFrom(now time.Time, data []byte) (active, finished []*arrops.Session) {
	statuses := []arrops.SessionStatus{arrops.SessionStarting, arrops.SessionReady, arrops.SessionStopped, arrops.SessionExpired, arrops.SessionError}
	for len(data) >= 8 {
		b := data[:8]
		data = data[8:]
		s := &arrops.Session{
			ID:          "s" + strconv.Itoa(int(b[0]%32)),
			Status:      statuses[int(b[1])%len(statuses)],
			RequestedBy: []string{"", "ann", "bob"}[int(b[2])%3],
		}
		ago := time.Duration(binary.LittleEndian.Uint16(b[3:5])) * time.Minute
		if s.Status != arrops.SessionStarting && b[7]&1 == 0 {
			s.ReadyAt = now.Add(-ago)
		}
		if b[7]&2 != 0 {
			s.Tags = map[string]string{"keepAlive": "true"}
		}
		if b[7]&4 != 0 {
			s.ExtendedUntil = now.Add(time.Duration(int8(b[5])) * 7 * time.Minute)
		}
		if b[7]&8 != 0 {
			s.WarnedAt = now.Add(-time.Duration(b[6]) * time.Minute)
		}
		if s.Status.Terminal() {
			if !s.ReadyAt.IsZero() {
				s.StoppedAt = s.ReadyAt.Add(time.Duration(b[6]) * time.Minute)
			}
			finished = append(finished, s)
		} else {
			active = append(active, s)
		}
	}
	return active, finished
}

func FuzzEvaluate(f *testing.F) {
	f.Add(int64(1795521600), uint8(1), uint16(19*60), uint16(7*60), true, uint16(120), uint16(600), uint16(300), true, uint8(10), false,
		[]byte("\x01\x01\x01\x80\x00\x00\x00\x00\x02\x01\x01\x10\x00\x00\x00\x02\x03\x00\x02\xff\x00\x05\x09\x0c\x04\x02\x01\x40\x01\x00\x20\x00"))
	f.Add(int64(1772953200), uint8(1), uint16(135), uint16(240), false, uint16(0), uint16(0), uint16(0), true, uint8(30), true, []byte("\x05\x00\x00\x00\x00\x00\x00\x02"))
	f.Add(int64(0), uint8(0), uint16(0), uint16(0), false, uint16(0), uint16(0), uint16(0), false, uint8(0), false, []byte{})
	f.Fuzz(func(t *testing.T, nowUnix int64, tz uint8, qs, qe uint16, weekends bool, maxReady, abs, budget uint16, budgetSet bool, warn uint8, dry bool, data []byte) {
		now := time.Unix(nowUnix%(200*365*86400), 0).UTC()
		loc, err := time.LoadLocation(fuzzZones[int(tz)%len(fuzzZones)])
		if err != nil {
			t.Skip(err)
		}
		cfg := Options{TimeZone: loc, QuietWeekends: weekends, MaxReadyMinutes: int(maxReady), AbsoluteMaxMinute: int(abs),
			DailyBudget: int(budget % 10081), BudgetSet: budgetSet, WarningMinutes: int(warn % 121), DryRun: dry}
		if qs, qe = qs%1440, qe%1440; qs != qe {
			cfg.Quiet = QuietHours{Set: true, Start: ClockTime(qs), End: ClockTime(qe)}
		}
		active, finished := sessionsFrom(now, data)
		ds := Evaluate(now, cfg, active, finished)

		byID := map[string]*arrops.Session{}
		for _, s := range active {
			if _, dup := byID[s.ID]; !dup {
				byID[s.ID] = s
			}
		}
		if len(ds) != len(byID) {
			t.Fatalf("%d decisions for %d active sessions", len(ds), len(byID))
		}
		for i, d := range ds {
			if i > 0 && ds[i-1].SessionID >= d.SessionID {
				t.Fatalf("decisions out of order: %q then %q", ds[i-1].SessionID, d.SessionID)
			}
			s := byID[d.SessionID]
			if s == nil {
				t.Fatalf("decision for unknown session %q", d.SessionID)
			}
			if d.DryRun != dry {
				t.Fatalf("DryRun %v with dry run %v", d.DryRun, dry)
			}
			switch d.Action {
			case Stop:
				if !d.StopAt.Equal(now) || d.Reason == "" {
					t.Fatalf("stop %+v", d)
				}
			case Warn:
				if !d.StopAt.After(now) || d.StopAt.Sub(now) > time.Duration(cfg.WarningMinutes)*time.Minute || d.Reason == "" {
					t.Fatalf("warning %+v at %v", d, now)
				}
			case None:
				if d.Reason != "" {
					t.Fatalf("None with reason %+v", d)
				}
			default:
				t.Fatalf("action %v", d.Action)
			}
			if d.Action != None && s.KeepAlive() && d.Policy != PolicyAbsoluteMax {
				t.Fatalf("keepAlive session %s: %v by %s (%q)", s.ID, d.Action, d.Policy, d.Reason)
			}
			if d.Action == Stop && s.ReadyAt.IsZero() && (d.Policy == PolicyMaxReady || d.Policy == PolicyAbsoluteMax) {
				t.Fatalf("session never Ready stopped by %s", d.Policy)
			}
			if d.Action == Stop && s.ExtendedUntil.After(now) && (d.Policy == PolicyMaxReady || d.Policy == PolicyQuietHours || d.Policy == PolicyQuietWeekend) {
				t.Fatalf("extended session stopped by %s", d.Policy)
			}
		}
	})
}
