package azuritetest

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func TestStartServesTables(t *testing.T) {
	az := Start(t)
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTable(context.Background(), "probe", nil); err != nil {
		t.Fatalf("create table on %s: %v", az.TableEndpoint, err)
	}
	az.Stop()
	select {
	case <-az.Done():
	default:
		t.Fatal("azurite still running after Stop")
	}
}
