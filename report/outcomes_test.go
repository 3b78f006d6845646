package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func TestTicksHaveNoFloatArtifacts(t *testing.T) {
	plain := regexp.MustCompile(`^\d+(\.\d{1,3})?$`)
	for _, max := range []float64{0, 0.3, 0.30000000000000004, 0.7, 1, 2.2, 3.3, 9.008, 17, 99.9, 0.012, 1234.5, 24 * 366} {
		top, step := niceScale(max)
		vals, labels := ticks(top, step)
		if top < max || len(vals) < 2 || len(vals) > 12 || math.Abs(vals[len(vals)-1]-top) > step*1e-9 {
			t.Errorf("max %v: top %v step %v ticks %v", max, top, step, labels)
		}
		for _, l := range labels {
			if !plain.MatchString(l) {
				t.Errorf("max %v: tick label %q", max, l)
			}
		}
		if d := labels[1]; d == labels[0] {
			t.Errorf("max %v: repeated label %q", max, d)
		}
	}
}

func TestHoursText(t *testing.T) {
	for h, want := range map[float64]string{0: "0.00 h", 9.008: "9.01 h", 0.005: "0.01 h", 0.004: "0.2 min", 0.0002: "0 min", 1.0 / 600: "0.1 min"} {
		if got := hoursText(h); got != want {
			t.Errorf("hoursText(%v) = %q, want %q", h, got, want)
		}
	}
}

func TestPolicyOfAndLeaseEnd(t *testing.T) {
	for reason, want := range map[string]string{
		"policy maxReadyMinutes: ready for 61 min": "maxReadyMinutes", "policy quietHours: x: y": "quietHours",
		"command": "", "": "", "would stop (dry run): policy absoluteMax: z": "", "policy": "",
	} {
		if got := PolicyOf(reason); got != want {
			t.Errorf("PolicyOf(%q) = %q, want %q", reason, got, want)
		}
	}
	created, ready := ts("2026-11-10T09:55:00Z"), ts("2026-11-10T10:00:00Z")
	tests := []struct {
		name string
		s    arrops.Session
		want string // "" : no lease
	}{
		{"from ready", arrops.Session{CreatedAt: created, ReadyAt: ready, MaxLeaseMinutes: 60}, "2026-11-10T11:00:00Z"},
		{"never ready: from creation", arrops.Session{CreatedAt: created, MaxLeaseMinutes: 60}, "2026-11-10T10:55:00Z"},
		{"extension later", arrops.Session{ReadyAt: ready, MaxLeaseMinutes: 60, ExtendedUntil: ts("2026-11-10T13:00:00Z")}, "2026-11-10T13:00:00Z"},
		{"extension earlier is moot", arrops.Session{ReadyAt: ready, MaxLeaseMinutes: 60, ExtendedUntil: ts("2026-11-10T10:30:00Z")}, "2026-11-10T11:00:00Z"},
		{"no lease recorded", arrops.Session{ReadyAt: ready}, ""},
	}
	for _, tc := range tests {
		end, ok := LeaseEnd(&tc.s)
		got := ""
		if ok {
			got = end.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("%s: lease end %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSavingsEdges: only policy stops inside the range count, a stop after
// the lease end saves nothing, and a stop without a lease is counted apart.
func TestSavingsEdges(t *testing.T) {
	ready := ts("2026-11-10T10:00:00Z")
	stop := func(id, reason string, lease int, stopped time.Time) *arrops.Session {
		return &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionStopped, StopReason: reason,
			CreatedAt: ready.Add(-5 * time.Minute), ReadyAt: ready, StoppedAt: stopped, MaxLeaseMinutes: lease}
	}
	ss := []*arrops.Session{
		stop("counted", "policy maxReadyMinutes: x", 120, ready.Add(30*time.Minute)),   // 90 min
		stop("by-command", "command", 120, ready.Add(30*time.Minute)),                  // not a policy
		stop("past-lease", "policy absoluteMax: x", 20, ready.Add(30*time.Minute)),     // 0 min
		stop("no-lease", "policy quietHours: x", 0, ready.Add(30*time.Minute)),         // unknown
		stop("outside", "policy maxReadyMinutes: x", 1440, ts("2026-11-24T00:30:00Z")), // after the range
		{ID: "error", Status: arrops.SessionError, StopReason: "policy maxReadyMinutes: x", MaxLeaseMinutes: 60,
			CreatedAt: ready, ReadyAt: ready, StoppedAt: ready.Add(time.Minute)}, // ended in Error, not a stop
	}
	r, err := Build(t.Context(), novemberQuery(FormatJSON, GroupRequester, ""), testRates, fixedNow.Add(48*time.Hour), seq(ss), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sv := r.Savings; sv.Count != 1 || sv.Minutes != 90 || sv.Cost != 4.5 || sv.LeaseUnknown != 1 ||
		len(sv.ByPolicy) != 1 || sv.ByPolicy[0].Key != "maxReadyMinutes" {
		t.Errorf("savings %+v", sv)
	}
}

func TestNewestKeepsTheNewest(t *testing.T) {
	for _, n := range []int{1, 3, 50} {
		k := &newest[int]{n: n, newer: func(x, y int) bool { return x > y }}
		xs := rand.Perm(200)
		for _, x := range xs {
			if k.wants(x) {
				k.add(x)
			}
		}
		want := make([]int, n)
		for i := range want {
			want[i] = 199 - i
		}
		if got := k.sorted(); !slices.Equal(got, want) {
			t.Errorf("n=%d: %v", n, got)
		}
	}
}

// TestSessionRowsCapped: the page lists the newest MaxSessionRows sessions
// and says how many there are.
func TestSessionRowsCapped(t *testing.T) {
	var ss []*arrops.Session
	start := ts("2026-11-02T00:00:00Z")
	for i := range MaxSessionRows + 20 {
		c := start.Add(time.Duration(i) * time.Minute)
		ss = append(ss, &arrops.Session{ID: fmt.Sprintf("s-%04d", i), Size: arrops.SizeStandard, Status: arrops.SessionStopped,
			CreatedAt: c, ReadyAt: c, StoppedAt: c.Add(time.Minute)})
	}
	r, err := Build(t.Context(), novemberQuery(FormatHTML, GroupRequester, ""), Rates{}, fixedNow, seq(ss), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.SessionRows) != MaxSessionRows || r.SessionRows[0].ID != fmt.Sprintf("s-%04d", MaxSessionRows+19) ||
		r.SessionRows[MaxSessionRows-1].ID != "s-0020" {
		t.Fatalf("%d rows, first %s", len(r.SessionRows), r.SessionRows[0].ID)
	}
	page := renderPage(t, r)
	if want := fmt.Sprintf("Showing the newest %d of %d sessions", MaxSessionRows, MaxSessionRows+20); !regexp.MustCompile(want).MatchString(page) {
		t.Errorf("page lacks %q", want)
	}
}
