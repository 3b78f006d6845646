package stack

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/infracheck/bicep"
	"github.com/arrops/arrops/internal/modroot"
)

// TestLocalResourcesCoverBicep: every container, queue and table the Bicep
// declares on the storage account with a fixed name is created locally
// (the deployment package container's name is computed and not needed).
func TestLocalResourcesCoverBicep(t *testing.T) {
	root, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	dep, err := bicep.Load(filepath.Join(root, "infra", "main.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	r := LocalResources(nil)
	kinds := map[string][]string{
		"Microsoft.Storage/storageAccounts/blobServices/containers": r.Containers,
		"Microsoft.Storage/storageAccounts/queueServices/queues":    r.Queues,
		"Microsoft.Storage/storageAccounts/tableServices/tables":    r.Tables,
	}
	found := 0
	for _, res := range dep.Resources {
		local, ok := kinds[res.Type]
		if !ok || res.Existing {
			continue
		}
		name := res.Name()
		if name.Kind != bicep.String || strings.Contains(name.Str, "deploy") || strings.HasPrefix(name.Str, "app-package") {
			continue // computed names (the deployment package container)
		}
		found++
		if !slices.Contains(local, name.Str) {
			t.Errorf("%s %q is declared in Bicep but not created by make run (LocalResources)", res.Type, name.Str)
		}
	}
	if found < 8 {
		t.Errorf("found only %d named storage entities in Bicep; the parser or the test is broken", found)
	}
}

// TestEnsureIdempotent: Ensure creates everything on an empty Azurite and
// succeeds again when everything exists (every start of make run).
func TestEnsureIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Azurite")
	}
	az := azuritetest.Start(t)
	ctx := context.Background()
	r := LocalResources(map[string]string{"ARR_OUTPUT_CONTAINER": "models-out"})
	for range 2 {
		if err := r.Ensure(ctx, az.ConnectionString); err != nil {
			t.Fatal(err)
		}
	}
	blobs, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"arr-input", "models-out", "azure-webjobs-hosts"} {
		if _, err := blobs.ServiceClient().NewContainerClient(c).GetProperties(ctx, nil); err != nil {
			t.Errorf("container %s: %v", c, err)
		}
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range r.Queues {
		if _, err := queues.NewQueueClient(q).GetProperties(ctx, nil); err != nil {
			t.Errorf("queue %s: %v", q, err)
		}
	}
	tables, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range r.Tables {
		if _, err := tables.NewClient(tb).GetAccessPolicy(ctx, nil); err != nil {
			t.Errorf("table %s: %v", tb, err)
		}
	}
}
