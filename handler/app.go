package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/convert"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/store"
)

// app holds the configuration and the lazily built clients shared by all
// functions. Nothing here does I/O until the first invocation needs it, so
// the handler answers the host's first GET / within milliseconds.
type app struct {
	cfg    *config.Config
	stdout io.Writer
	level  slog.Leveler
	now    func() time.Time

	cred   functions.Lazy[azcore.TokenCredential]
	arr    functions.Lazy[*arr.Client]
	store  functions.Lazy[*store.Store]
	bus    functions.Lazy[*notify.Bus]
	access functions.Lazy[*convert.Access]
	blobs  functions.Lazy[*convert.Blobs]
	due    functions.Lazy[schedule.Scheduler]
	// followUps is the one follow-up chain, shared by the functions that
	// start it (commands, convert) and run or re-arm it (due, watch).
	followUps *functions.FollowUps
	// deadlines arms each session's next policy instant on arr-due.
	deadlines *functions.Deadlines
	pool      *functions.Pool
	reserve   *functions.Reservations

	closeOnce sync.Once
}

func newApp(cfg *config.Config, stdout io.Writer, level slog.Leveler) *app {
	a := &app{cfg: cfg, stdout: stdout, level: level, now: time.Now}
	a.cred.New = func(context.Context) (azcore.TokenCredential, error) {
		// Managed identity in Azure; developer credentials (az login) locally.
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("app identity: %w", err)
		}
		return c, nil
	}
	a.arr.New = func(ctx context.Context) (*arr.Client, error) {
		var cred arr.Credential
		if cfg.AccountKey != "" {
			k, err := arr.NewAccountKeyCredential(cfg.AccountKey)
			if err != nil {
				return nil, fmt.Errorf("setting ARR_ACCOUNT_KEY: %w", err)
			}
			cred = k
		} else {
			tc, err := a.cred.Get(ctx)
			if err != nil {
				return nil, err
			}
			if cred, err = arr.NewTokenCredential(tc); err != nil {
				return nil, err
			}
		}
		return arr.NewClient(cfg.Endpoint, cfg.AccountID, cred, &arr.ClientOptions{
			AccountDomain: cfg.AccountDomain, STSEndpoint: cfg.STSEndpoint})
	}
	a.store.New = func(ctx context.Context) (*store.Store, error) {
		var s *store.Store
		if cfg.StorageConnectionString != "" {
			var err error
			if s, err = store.NewFromConnectionString(cfg.StorageConnectionString, nil); err != nil {
				return nil, err
			}
		} else {
			tc, err := a.cred.Get(ctx)
			if err != nil {
				return nil, err
			}
			if s, err = store.NewWithCredential(cfg.TableServiceURL, tc, nil); err != nil {
				return nil, err
			}
		}
		if err := s.EnsureTables(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	a.bus.New = func(ctx context.Context) (*notify.Bus, error) {
		var tc azcore.TokenCredential
		if !cfg.LocalBus && cfg.ServiceBusConnectionString == "" || cfg.LocalBus && cfg.StorageConnectionString == "" {
			var err error
			if tc, err = a.cred.Get(ctx); err != nil {
				return nil, err
			}
		}
		return notify.New(notify.Options{Local: cfg.LocalBus,
			ServiceBusConnectionString: cfg.ServiceBusConnectionString, ServiceBusNamespace: cfg.ServiceBusNamespace,
			StorageConnectionString: cfg.StorageConnectionString, QueueServiceURL: cfg.QueueServiceURL}, tc)
	}
	a.due.New = func(ctx context.Context) (schedule.Scheduler, error) {
		var tc azcore.TokenCredential
		if cfg.StorageConnectionString == "" {
			var err error
			if tc, err = a.cred.Get(ctx); err != nil {
				return nil, err
			}
		}
		svc, err := notify.QueueService(cfg.StorageConnectionString, cfg.QueueServiceURL, tc)
		if err != nil {
			return nil, err
		}
		return schedule.NewQueue(svc.NewQueueClient(config.DueQueue), &schedule.QueueOptions{Now: a.now}), nil
	}
	a.followUps = &functions.FollowUps{Period: cfg.FollowUp, Due: &a.due,
		Records: functions.Map(&a.store, func(s *store.Store) functions.ChainRecords { return s })}
	a.deadlines = &functions.Deadlines{Policy: cfg.Shutdown.Options, Due: &a.due,
		Records: functions.Map(&a.store, func(s *store.Store) functions.DeadlineRecords { return s })}
	a.pool = &functions.Pool{Config: cfg.Pool, ARR: &a.arr, Due: &a.due, FollowUps: a.followUps,
		Bus:     functions.Map(&a.bus, func(b *notify.Bus) functions.Publisher { return b }),
		Records: functions.Map(&a.store, func(s *store.Store) functions.PoolRecords { return s })}
	a.reserve = &functions.Reservations{ARR: &a.arr, Due: &a.due, FollowUps: a.followUps,
		Bus:     functions.Map(&a.bus, func(b *notify.Bus) functions.Publisher { return b }),
		Records: functions.Map(&a.store, func(s *store.Store) functions.ReservationRecords { return s })}
	a.access.New = func(ctx context.Context) (*convert.Access, error) {
		var tc azcore.TokenCredential
		if cfg.StorageAccess == config.AccessUserDelegationSas {
			var err error
			if tc, err = a.cred.Get(ctx); err != nil {
				return nil, err
			}
		}
		return convert.NewAccess(cfg, tc)
	}
	a.blobs.New = func(ctx context.Context) (*convert.Blobs, error) {
		var tc azcore.TokenCredential
		if cfg.StorageConnectionString == "" {
			var err error
			if tc, err = a.cred.Get(ctx); err != nil {
				return nil, err
			}
		}
		return convert.NewBlobs(cfg, tc)
	}
	return a
}

// Close releases network clients (Service Bus links).
func (a *app) Close() {
	a.closeOnce.Do(func() {
		if b, ok := a.bus.Peek(); ok && b != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b.Close(ctx)
		}
	})
}
