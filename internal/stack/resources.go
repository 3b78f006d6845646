package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/config"
)

// Resources are the storage entities the local world needs: what the Bicep
// declares on the storage account, plus the Azurite queues that stand in for
// the Service Bus entities in local bus mode. A test keeps the list in step
// with infra/.
type Resources struct {
	Containers, Queues, Tables []string
}

// LocalResources returns the resources for settings (the input and output
// containers are settings).
func LocalResources(settings map[string]string) Resources {
	in, out := setting(settings, "ARR_INPUT_CONTAINER"), setting(settings, "ARR_OUTPUT_CONTAINER")
	return Resources{
		Containers: []string{in, out, "azure-webjobs-hosts", "azure-webjobs-secrets"},
		// Service Bus entities in local mode: arr-commands and its dead-letter
		// queue, and the arr-events topic, read by arrctl events. Reply queues
		// are the requesters' own and are not created here.
		Queues: []string{config.BlobCreatedQueue, config.BlobCreatedQueue + "-poison", config.DueQueue, config.DueQueue + "-poison",
			config.CommandsQueue, config.CommandsQueue + "-deadletter", config.EventsTopic},
		Tables: []string{config.SessionsTable, config.ConversionsTable, config.CommandsTable},
	}
}

// Ensure creates every resource that does not exist yet; existing ones are
// left as they are, so it can run at every start.
func (r Resources) Ensure(ctx context.Context, connectionString string) error {
	blobs, err := azblob.NewClientFromConnectionString(connectionString, nil)
	if err != nil {
		return fmt.Errorf("blob client: %w", err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(connectionString, nil)
	if err != nil {
		return fmt.Errorf("queue client: %w", err)
	}
	tables, err := aztables.NewServiceClientFromConnectionString(connectionString, nil)
	if err != nil {
		return fmt.Errorf("table client: %w", err)
	}
	for _, c := range r.Containers {
		if _, err := blobs.CreateContainer(ctx, c, nil); ignoreConflict(err) != nil {
			return fmt.Errorf("create container %s: %w", c, err)
		}
	}
	for _, q := range r.Queues {
		if _, err := queues.CreateQueue(ctx, q, nil); ignoreConflict(err) != nil {
			return fmt.Errorf("create queue %s: %w", q, err)
		}
	}
	for _, t := range r.Tables {
		if _, err := tables.CreateTable(ctx, t, nil); ignoreConflict(err) != nil {
			return fmt.Errorf("create table %s: %w", t, err)
		}
	}
	return nil
}

// ignoreConflict drops "already exists" (409).
func ignoreConflict(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusConflict {
		return nil
	}
	return err
}

// setting returns settings[name], or its config default.
func setting(settings map[string]string, name string) string {
	if v := settings[name]; v != "" {
		return v
	}
	for _, s := range config.Settings {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}
