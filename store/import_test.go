package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
)

func TestImport(t *testing.T) {
	az := azuritetest.Shared(t)
	f := newFixture(t, az, 0, nil)
	ctx := ctxT(t)
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var sessions []*arrops.Session
	for i := range 250 { // three partitions, more than one batch in two of them
		s := fullSession()
		s.ID, s.ETag, s.CreatedAt = fmt.Sprintf("imp-%03d", i), "", day.Add(time.Duration(i%3)*24*time.Hour+time.Duration(i)*time.Second)
		sessions = append(sessions, s)
	}
	convs := []*arrops.Conversion{{ID: "c-1", Status: arrops.ConversionSucceeded, CreatedAt: day}}

	tests := []struct {
		name     string
		sessions []*arrops.Session
		wantErr  bool
	}{
		{"first import", sessions, false},
		{"same records again (idempotent)", sessions, false},
		{"no creation time", []*arrops.Session{{ID: "no-day"}}, true},
		{"invalid id", []*arrops.Session{{ID: "a/b", CreatedAt: day}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.st.ImportSessions(ctx, tt.sessions)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ImportSessions: err %v, want error %v", err, tt.wantErr)
			}
		})
	}
	n := 0
	for s, err := range f.st.SessionsByDay(ctx, day, day.Add(72*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if s.RequestedBy != "viewer-app" || s.Tags["project"] != "plant-7" {
			t.Fatalf("imported record lost fields: %+v", s)
		}
		n++
	}
	if n != len(sessions) {
		t.Errorf("%d records after importing %d twice, want %d", n, len(sessions), len(sessions))
	}
	got, err := f.st.GetSession(ctx, "imp-124")
	if err != nil || got.CreatedAt.Day() != day.Add(24*time.Hour).Day() {
		t.Fatalf("lookup by id after import: %v %+v", err, got)
	}
	// The imported record takes part in conditional updates like any other.
	got.Status = arrops.SessionStopped
	if err := f.st.UpdateSession(ctx, got); err != nil {
		t.Fatalf("update imported record: %v", err)
	}
	if err := f.st.ImportConversions(ctx, convs); err != nil {
		t.Fatal(err)
	}
	if c, err := f.st.GetConversion(ctx, "c-1"); err != nil || c.Status != arrops.ConversionSucceeded {
		t.Fatalf("imported conversion: %v %+v", err, c)
	}
}
