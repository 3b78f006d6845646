package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arrops/arrops"
)

// TestPoolFigures: idle time of pool sessions (Ready to claim, or to the
// stop/now for unclaimed ones, clipped to the range), warm vs cold starts,
// and time to hostname from the start's enqueued time (to the claim warm, to
// Ready cold), in JSON and on the page.
func TestPoolFigures(t *testing.T) {
	ss := []*arrops.Session{
		// Idle 08:00 → claim 09:00 (60 min), warm: asked 08:59:59.5, claimed 09:00.
		{ID: "pool-standard-20261105-0", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginPool, RequestedBy: "viewer",
			CreatedAt: ts("2026-11-05T07:55:00Z"), ReadyAt: ts("2026-11-05T08:00:00Z"), StoppedAt: ts("2026-11-05T10:00:00Z"),
			ClaimedBy: "m-1", ClaimedAt: ts("2026-11-05T09:00:00Z"), RequestedAt: ts("2026-11-05T08:59:59.5Z")},
		// Never claimed: idle 08:00 → window close 18:00 (600 min), Premium.
		{ID: "pool-premium-20261105-0", Size: arrops.SizePremium, Status: arrops.SessionStopped, Origin: arrops.OriginPool, RequestedBy: arrops.PoolRequester,
			CreatedAt: ts("2026-11-05T07:50:00Z"), ReadyAt: ts("2026-11-05T08:00:00Z"), StoppedAt: ts("2026-11-05T18:00:00Z")},
		// Warm, claimed 1.5 s after it was asked for.
		{ID: "pool-standard-20261105-1", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginPool, RequestedBy: "viewer",
			CreatedAt: ts("2026-11-05T07:55:00Z"), ReadyAt: ts("2026-11-05T08:00:00Z"), StoppedAt: ts("2026-11-05T12:00:00Z"),
			ClaimedBy: "m-2", ClaimedAt: ts("2026-11-05T08:30:00Z"), RequestedAt: ts("2026-11-05T08:29:58.5Z")},
		// Cold: asked 10:00:00, Ready 10:05:00 (300 s); another without a
		// request time counts as cold but not in the times.
		{ID: "cold-1", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginCommand, RequestedBy: "viewer",
			CreatedAt: ts("2026-11-05T10:00:01Z"), ReadyAt: ts("2026-11-05T10:05:00Z"), StoppedAt: ts("2026-11-05T11:00:00Z"),
			RequestedAt: ts("2026-11-05T10:00:00Z")},
		{ID: "cold-2", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginCommand, RequestedBy: "viewer",
			CreatedAt: ts("2026-11-06T10:00:00Z"), ReadyAt: ts("2026-11-06T10:04:00Z"), StoppedAt: ts("2026-11-06T11:00:00Z")},
		// External: neither warm nor cold.
		{ID: "ext", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginExternal,
			CreatedAt: ts("2026-11-07T10:00:00Z"), ReadyAt: ts("2026-11-07T10:04:00Z"), StoppedAt: ts("2026-11-07T11:00:00Z")},
	}
	var buf bytes.Buffer
	if err := Render(context.Background(), &buf, novemberQuery(FormatJSON, GroupRequester, ""), testRates, fixedNow, seq(ss), nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pool Pool `json:"pool"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	p := got.Pool
	tests := []struct {
		name      string
		got, want any
	}{
		{"idle minutes", p.Idle.Minutes, 60.0 + 600 + 30},
		{"idle sessions", p.Idle.Count, 3},
		{"idle cost", p.Idle.Cost, round(90.0/60*3+600.0/60*12.5, 2)},
		{"warm", p.Warm, 2},
		{"cold", p.Cold, 2},
		{"warm to hostname", p.WarmToHostname, StartGroup{"warm", 2, 1, 1.5}},
		{"cold to hostname", p.ColdToHostname, StartGroup{"cold", 1, 300, 300}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	buf.Reset()
	if err := Render(context.Background(), &buf, novemberQuery(FormatHTML, GroupRequester, ""), testRates, fixedNow, seq(ss), nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="pool-warm">2<`, `id="pool-cold">2<`, `id="pool-idle-sessions">3<`, `id="pool-idle-cost">` + "129.50<"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
