package policy

import (
	"testing"
	"time"
)

func TestQuietHoursContains(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	night, _ := ParseQuietHours("19:00-07:00")
	day, _ := ParseQuietHours("12:00-13:30")
	at := func(h, m int) time.Time { return time.Date(2026, 3, 8, h, m, 0, 0, tokyo) }
	tests := []struct {
		q    QuietHours
		t    time.Time
		want bool
	}{
		{night, at(18, 59), false}, {night, at(19, 0), true}, {night, at(23, 59), true},
		{night, at(0, 0), true}, {night, at(6, 59), true}, {night, at(7, 0), false},
		{day, at(12, 0), true}, {day, at(13, 29), true}, {day, at(13, 30), false}, {QuietHours{}, at(20, 0), false},
	}
	for _, tt := range tests {
		if got := tt.q.Contains(tt.t); got != tt.want {
			t.Errorf("%v-%v at %s: %v", tt.q.Start, tt.q.End, tt.t.Format("15:04"), got)
		}
	}
}
