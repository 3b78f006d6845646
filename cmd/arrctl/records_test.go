package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/store"
)

// recordsEnv starts Azurite, writes recs through the real store and returns
// settings pointing arrctl at it.
func recordsEnv(t *testing.T, sessions []*arrops.Session, conversions []*arrops.Conversion) (map[string]string, *store.Store) {
	t.Helper()
	az := azuritetest.Start(t)
	st, err := store.NewFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if _, _, err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conversions {
		if _, _, err := st.CreateConversion(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{
		"ARR_ACCOUNT_ID":      "11111111-2222-4333-8444-555555555555",
		"ARR_ACCOUNT_DOMAIN":  "eastus.mixedreality.azure.com",
		"AzureWebJobsStorage": az.ConnectionString,
	}, st
}

// TestListingsFromStorage runs sessions and conversions against records the
// store wrote into Azurite.
func TestListingsFromStorage(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	sessions := []*arrops.Session{
		{ID: "s-old", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "alice", CreatedAt: now.Add(-48 * time.Hour),
			ReadyAt: now.Add(-47 * time.Hour), StoppedAt: now.Add(-46 * time.Hour), StopReason: "max age"},
		{ID: "s-new", Size: arrops.SizePremium, Status: arrops.SessionReady, RequestedBy: "bob", CreatedAt: now.Add(-time.Hour),
			ReadyAt: now.Add(-50 * time.Minute), Hostname: "s-new.example", HandshakePort: 50051},
		{ID: "s-ancient", Size: arrops.SizeStandard, Status: arrops.SessionExpired, RequestedBy: "alice", CreatedAt: now.AddDate(0, 0, -40)},
	}
	conversions := []*arrops.Conversion{
		{ID: "c-ok", InputContainer: "arr-input", InputPath: "a.fbx", Status: arrops.ConversionSucceeded, CreatedAt: now.Add(-2 * time.Hour), CompletedAt: now.Add(-time.Hour)},
		{ID: "c-bad", InputContainer: "arr-input", InputPath: "b.glb", Status: arrops.ConversionFailed, ErrorCode: "InvalidInput", CreatedAt: now.Add(-time.Hour)},
	}
	env, _ := recordsEnv(t, sessions, conversions)
	tests := []struct {
		name string
		args []string
		want []string // ids in order
	}{
		{"default range, newest first", []string{"sessions", "--format", "json"}, []string{"s-new", "s-old"}},
		{"status filter any casing", []string{"sessions", "--format", "json", "--status", "STOPPED"}, []string{"s-old"}},
		{"requester filter", []string{"sessions", "--format", "json", "--requester", "bob"}, []string{"s-new"}},
		{"explicit range", []string{"sessions", "--format", "json", "--from", now.AddDate(0, 0, -41).Format(dateLayout)}, []string{"s-new", "s-old", "s-ancient"}},
		{"conversions", []string{"conversions", "--format", "json"}, []string{"c-bad", "c-ok"}},
		{"conversions status", []string{"conversions", "--format", "json", "--status", "failed"}, []string{"c-bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runArgs(t, env, append([]string{"--settings", "absent.json"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rows []struct{ ID string }
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("ids %v, want %v", ids, tt.want)
			}
		})
	}
	code, out, _ := runArgs(t, env, "--settings", "absent.json", "sessions")
	if code != exitOK || !strings.Contains(out, "s-new.example") || strings.Index(out, "s-new") > strings.Index(out, "s-old") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
}

// TestWatchFollowsRecord changes a record while watch runs and checks it
// prints each change and stops at the terminal status.
func TestWatchFollowsRecord(t *testing.T) {
	now := time.Now().UTC()
	env, st := recordsEnv(t, []*arrops.Session{{ID: "w1", Size: arrops.SizeStandard, Status: arrops.SessionStarting, CreatedAt: now}}, nil)
	ctx := context.Background()
	var out, errw syncbuf.Buffer
	// Each change waits until watch has printed the state before it (poll
	// with a deadline), so no state can be skipped however slow the machine.
	printed := func(text string) error {
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), text); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("watch never printed %q:\n%s", text, out.String())
			}
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for _, step := range []struct {
				after string
				apply func(s *arrops.Session)
			}{
				{"Starting", func(s *arrops.Session) {
					s.Status, s.ReadyAt, s.Hostname = arrops.SessionReady, now.Add(time.Second), "w1.example"
				}},
				{"w1.example", func(s *arrops.Session) {
					s.Status, s.StoppedAt, s.StopReason = arrops.SessionStopped, now.Add(2*time.Second), "stopped by command"
				}},
			} {
				if err := printed(step.after); err != nil {
					return err
				}
				s, err := st.GetSession(ctx, "w1")
				if err != nil {
					return err
				}
				step.apply(s)
				if err := st.UpdateSession(ctx, s); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	code := run(ctx, []string{"arrctl", "--settings", "absent.json", "watch", "w1", "--interval", "50ms"},
		func(k string) string { return env[k] }, strings.NewReader(""), &out, &errw)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "Starting") || !strings.Contains(lines[2], "w1.example") ||
		!strings.Contains(lines[3], "Stopped") || !strings.Contains(lines[3], "stopped by command") {
		t.Fatalf("watch printed:\n%s", out.String())
	}
	code, _, errOut := runArgs(t, env, "--settings", "absent.json", "watch", "nobody")
	if code != exitFailure || !strings.Contains(errOut, "no record") {
		t.Fatalf("watch unknown: exit %d %q", code, errOut)
	}
}
