package policy

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return l
}

func window(t testing.TB, s string) QuietHours {
	t.Helper()
	q, err := ParseQuietHours(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// ready returns a Ready session that became ready mins minutes before now.
func ready(id string, now time.Time, mins int) *arrops.Session {
	return &arrops.Session{ID: id, Status: arrops.SessionReady, RequestedBy: "viewer", ReadyAt: now.Add(-time.Duration(mins) * time.Minute)}
}

func only(t testing.TB, ds []Decision) Decision {
	t.Helper()
	if len(ds) != 1 {
		t.Fatalf("got %d decisions, want 1: %+v", len(ds), ds)
	}
	return ds[0]
}

func byID(ds []Decision) map[string]Decision {
	m := make(map[string]Decision, len(ds))
	for _, d := range ds {
		m[d.SessionID] = d
	}
	return m
}
