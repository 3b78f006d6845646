package functest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
)

func TestBus(t *testing.T) {
	ctx := context.Background()
	var before int
	b := &functest.Bus{Before: func() { before++ }}
	body, err := json.Marshal(arrops.Event{Type: arrops.EventSessionReady, SessionID: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	ready := notify.Message{MessageID: "m-1", Subject: string(arrops.EventSessionReady), Body: body}
	if err := b.Publish(ctx, "events", ready, notify.Message{MessageID: "m-2", Subject: "Other"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "events", ready); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "replies", notify.Message{Subject: "no id"}); err == nil {
		t.Error("a message without MessageID was accepted")
	}
	gone := errors.New("gone")
	b.FailOn(map[string]error{"replies": gone})
	if err := b.Publish(ctx, "replies", ready); !errors.Is(err, gone) || !strings.Contains(err.Error(), "replies") {
		t.Errorf("FailOn: %v", err)
	}
	b.FailOn(nil)
	if err := b.Publish(ctx, "replies", ready); err != nil {
		t.Fatal(err)
	}
	if before != 5 {
		t.Errorf("Before ran %d times, want 5", before)
	}
	if got := functest.Subjects(b.To("events")); len(b.To("events")) != 3 || got["SessionReady"] != 2 || got["Other"] != 1 {
		t.Errorf("events: %v", got)
	}
	if evs := b.Events(t, "events", arrops.EventSessionReady); len(evs) != 2 || evs[0].SessionID != "s-1" {
		t.Errorf("decoded events %+v", evs)
	}
	if c := b.Counts(); len(c) != 2 || c["events"]["m-1"] != 2 || c["events"]["m-2"] != 1 || c["replies"]["m-1"] != 1 {
		t.Errorf("counts %v", c)
	}
}

// TestTestOnly: the test-support packages are imported by tests only.
func TestTestOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/arrops/arrops/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list named %d packages: %s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			switch imp {
			case "github.com/arrops/arrops/internal/functest", "github.com/arrops/arrops/internal/browsertest",
				"github.com/arrops/arrops/internal/azuritetest":
				t.Errorf("production package %s imports %s", f[0], imp)
			}
		}
	}
}
