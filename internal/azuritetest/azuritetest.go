// Package azuritetest starts a private Azurite for one test, or one for a
// whole test binary (Shared, with Main in the package's TestMain), on random
// loopback ports and stops it when the test or the binary ends.
//
// Azurite is a Node process: under `go test -short` every test that asks for
// one is skipped, so the unit tests run in seconds without Node (they use the
// memory drivers, store/memstore and notify/membus, instead). When Azurite is
// not installed the test is skipped locally, but fails under CI (CI=true),
// because .ci/run installs it and a silent skip would hide a broken setup.
package azuritetest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/arrops/arrops/internal/azurite"
)

// Instance is a running Azurite with the well-known development account.
type Instance struct {
	*azurite.Instance
	ConnectionString string
	AccountName      string
	AccountKey       string
}

// SkipShort is the reason tests that start Azurite give under -short.
const SkipShort = "starts Azurite (Node): skipped under -short"

// Start launches Azurite for t and registers its shutdown with t.Cleanup.
func Start(t testing.TB) *Instance {
	t.Helper()
	inst, err := start(t)
	if err != nil {
		t.Fatalf("azuritetest: %v", err)
	}
	t.Cleanup(inst.Stop)
	return inst
}

func start(t testing.TB) (*Instance, error) {
	t.Helper()
	if testing.Short() {
		t.Skip(SkipShort)
	}
	inst, err := azurite.Start(context.Background(), azurite.Options{})
	if errors.Is(err, azurite.ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &Instance{Instance: inst, ConnectionString: inst.ConnectionString(),
		AccountName: azurite.AccountName, AccountKey: azurite.AccountKey}, nil
}

var shared struct {
	mu   sync.Mutex
	inst *Instance
}

// Shared returns the test binary's one Azurite, started by the first test
// that asks (starting one costs seconds on a busy machine). Tests sharing it
// use distinct tables, queues and containers. The package's TestMain must
// call Main, which stops it.
func Shared(t testing.TB) *Instance {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.inst == nil {
		inst, err := start(t)
		if err != nil {
			t.Fatalf("azuritetest: %v", err)
		}
		shared.inst = inst
	}
	return shared.inst
}

// Main runs the tests of m, stops the shared Azurite if one was started,
// and exits: func TestMain(m *testing.M) { azuritetest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops the shared Azurite if one was started, for a TestMain
// that does more than Main.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.inst != nil {
		shared.inst.Stop()
		shared.inst = nil
	}
}
