package arrops

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDueMessage(t *testing.T) {
	at := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, wantErr string
		want              DueMessage
	}{
		{name: "follow-up", in: `{"kind":"followup","gen":7,"at":"2026-12-04T15:00:00Z"}`, want: DueMessage{Kind: DueFollowUp, Gen: 7, At: at}},
		{name: "deadline", in: `{"kind":"deadline","sessionId":"s-1","at":"2026-12-04T16:00:00+01:00"}`, want: DueMessage{Kind: DueDeadline, SessionID: "s-1", At: at}},
		{name: "pool", in: `{"kind":"pool","at":"2026-12-04T15:00:00Z"}`, want: DueMessage{Kind: DuePool, At: at}},
		{name: "not json", in: `nope`, wantErr: "not JSON"},
		{name: "unknown kind", in: `{"kind":"reservation-x","at":"2026-12-04T15:00:00Z"}`, wantErr: "unknown kind"},
		{name: "gen zero", in: `{"kind":"followup","at":"2026-12-04T15:00:00Z"}`, wantErr: "positive gen"},
		{name: "bad session", in: `{"kind":"deadline","sessionId":"a/b","at":"2026-12-04T15:00:00Z"}`, wantErr: "session id"},
		{name: "no at", in: `{"kind":"followup","gen":1}`, wantErr: "without at"},
		{name: "too long", in: `{"kind":"followup","gen":1,"pad":"` + strings.Repeat("x", MaxDueMessageBytes) + `"}`, wantErr: "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDueMessage([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ErrorCode(err) != EINVALID {
					t.Fatalf("err = %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.want.Kind || got.Gen != tt.want.Gen || got.SessionID != tt.want.SessionID || !got.At.Equal(tt.want.At) || got.At.Location() != time.UTC {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDueMessageDeterministic: the same message always has the same text.
func TestDueMessageDeterministic(t *testing.T) {
	m := DueMessage{Kind: DueDeadline, SessionID: "s-1", At: time.Date(2026, 12, 4, 15, 0, 0, 5, time.UTC)}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(m)
	if string(a) != string(b) || string(a) != `{"kind":"deadline","sessionId":"s-1","at":"2026-12-04T15:00:00.000000005Z"}` {
		t.Errorf("text %s / %s", a, b)
	}
}

func TestFollowUpChainLive(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	p, g := 5*time.Second, 30*time.Second
	tests := []struct {
		due  time.Time
		want bool
	}{
		{time.Time{}, false},
		{now.Add(3 * time.Second), true},
		{now.Add(-10 * time.Second), true},  // being delivered or retried
		{now.Add(-31 * time.Second), false}, // lost: re-arm
		{now.Add(time.Hour), false},         // from another period setting
	}
	for _, tt := range tests {
		c := FollowUpChain{DueAt: tt.due}
		if got := c.Live(now, p, g); got != tt.want {
			t.Errorf("DueAt %v: Live = %v, want %v", tt.due, got, tt.want)
		}
	}
}

func FuzzParseDueMessage(f *testing.F) {
	f.Add([]byte(`{"kind":"followup","gen":7,"at":"2026-12-04T15:00:00Z"}`))
	f.Add([]byte(`{"kind":"deadline","sessionId":"s-1","at":"2026-12-04T16:00:00+01:00"}`))
	f.Add([]byte(`{"kind":"deadline","sessionId":"","at":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDueMessage(b)
		if err != nil {
			return
		}
		// What parses re-encodes to text that parses to the same message.
		text, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseDueMessage(text)
		if err != nil || m2.Kind != m.Kind || m2.Gen != m.Gen || m2.SessionID != m.SessionID || !m2.At.Equal(m.At) {
			t.Fatalf("round trip %s: %+v %v", text, m2, err)
		}
	})
}
