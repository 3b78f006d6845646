// Package azuritetest starts a private Azurite for one test (or one package's
// TestMain) on random loopback ports and stops it when the test ends.
//
// When Azurite is not installed the test is skipped locally, but fails under CI
// (CI=true), because .ci/run installs it and a silent skip would hide a broken
// setup.
package azuritetest

import (
	"context"
	"errors"
	"os"
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

// Start launches Azurite for t and registers its shutdown with t.Cleanup.
func Start(t testing.TB) *Instance {
	t.Helper()
	inst, err := azurite.Start(context.Background(), azurite.Options{})
	if errors.Is(err, azurite.ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("azuritetest: %v", err)
	}
	t.Cleanup(inst.Stop)
	return &Instance{Instance: inst, ConnectionString: inst.ConnectionString(),
		AccountName: azurite.AccountName, AccountKey: azurite.AccountKey}
}
