package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestRowEncoderMatchesJSON(t *testing.T) {
	cost := 12.34
	rows := []SessionRow{
		{},
		{ID: "s", Size: "Standard", Status: "Ready", Origin: "external", RequestedBy: xss, Group: "g",
			Tags:      map[string]string{"b": "2", "a": "1", "<k>": "&v\u2028\u2029\x01\x1f\t\n\r\b\f\"\\"},
			CreatedAt: ts("2026-11-01T10:00:00Z"), ReadyAt: ts("2026-11-01T10:00:00.123456789Z"),
			StoppedAt: ts("2026-11-01T10:00:00Z").In(time.FixedZone("X", 3600)),
			Minutes:   527040, Hours: 0.001, Cost: &cost, Running: true, StopReason: "policy", ErrorCode: "E", Note: "n"},
		{ID: "\xff\xfe bad", RequestedBy: "日本語 ✓", Minutes: 1e-7, Hours: 1e22},
	}
	for i, r := range rows {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		got := (&rowEncoder{html: true}).encode(&r)
		if !bytes.Equal(got, want) {
			t.Errorf("row %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", xss, "\xff", "\u2028", "a\"b\\c\x00", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := (&rowEncoder{html: true}).str(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("str(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal((&rowEncoder{}).str(nil, s), &back); err != nil {
			t.Fatalf("unescaped form of %q is not JSON: %v", s, err)
		}
	})
}
