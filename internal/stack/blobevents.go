package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/blobevents"
)

// startBlobEvents starts the Event Grid stand-in on the stack's Azurite. Its
// state is loaded (or, on the first run, the existing blobs recorded) before
// Start returns, so every upload after that is announced.
func (s *Stack) startBlobEvents(ctx context.Context, log io.Writer) error {
	cs := s.Settings["AzureWebJobsStorage"] // the handler's account
	blobs, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		return fmt.Errorf("blob events: %w", err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(cs, nil)
	if err != nil {
		return fmt.Errorf("blob events: %w", err)
	}
	if log == nil {
		log = io.Discard
	}
	w := blobevents.New(blobevents.Options{
		Blobs: blobs, Queue: queues.NewQueueClient(config.BlobCreatedQueue),
		Container: setting(s.Settings, "ARR_INPUT_CONTAINER"), Prefix: setting(s.Settings, "ARR_INPUT_PREFIX"),
		AccountName: azurite.AccountName,
		Log:         slog.New(slog.NewTextHandler(prefixWriter(log, "events"), nil)),
	})
	if err := w.Init(ctx); err != nil {
		return fmt.Errorf("blob events: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopEvents, s.eventsDone = cancel, make(chan struct{})
	go func() {
		defer close(s.eventsDone)
		w.Run(runCtx)
	}()
	return nil
}

// InputContainer is the container whose uploads convert.
func (s *Stack) InputContainer() string { return setting(s.Settings, "ARR_INPUT_CONTAINER") }
