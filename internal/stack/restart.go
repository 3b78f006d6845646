package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrops/arrops/internal/azurite"
)

// RestartAzurite stops Azurite, waits down, and starts it again on the same
// ports with the same options, as a storage outage or an emulator restart
// would look to the handler and devhost (their connection strings stay valid).
//
// With the default in-memory persistence the restart loses every table,
// queue and blob; start the stack with AzuriteOptions.Location set to keep
// them. Stop stops the new instance. It must not run concurrently with Stop.
func (s *Stack) RestartAzurite(ctx context.Context, down time.Duration) error {
	if s.Azurite == nil {
		return errors.New("restart azurite: not started")
	}
	old := s.Azurite
	opts := s.azOpts
	opts.BlobPort, opts.QueuePort, opts.TablePort = old.BlobPort, old.QueuePort, old.TablePort
	old.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	// The old listener's ports may take a moment to be free again.
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var inst *azurite.Instance
		if inst, err = azurite.Start(ctx, opts); err == nil {
			s.Azurite = inst
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("restart azurite on ports %d/%d/%d: %w", opts.BlobPort, opts.QueuePort, opts.TablePort, err)
}
