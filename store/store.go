package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/connstr"
)

// ErrConcurrentUpdate reports that a record changed since it was read (the
// ETag precondition failed, 412). Re-read the record and apply the change
// again. It is arrops.ErrConcurrentUpdate (transient: EINTERNAL).
var ErrConcurrentUpdate = arrops.ErrConcurrentUpdate

// ActiveWindow is how far back ActiveSessions and ActiveConversions look for
// non-terminal records (by creation day). Leases end within 24 hours of Ready.
const ActiveWindow = 3 * 24 * time.Hour

// DefaultPageSize is the number of entities asked for per range-query page
// (the service's maximum).
const DefaultPageSize = 1000

// Options configure a Store. The zero value (or nil) uses the deployment's
// table names and the default pipeline.
type Options struct {
	// ClientOptions configure the aztables pipeline (retries, transport,
	// extra policies) for the constructors that build the client.
	ClientOptions azcore.ClientOptions
	// Table names; defaults arrops.SessionsTable, arrops.ConversionsTable,
	// arrops.CommandsTable.
	SessionsTable, ConversionsTable, CommandsTable string
	// PageSize of range queries (1..1000); default DefaultPageSize.
	PageSize int
	// Now is the clock for UpdatedAt and default CreatedAt; default time.Now.
	Now func() time.Time
}

// Store reads and writes arrops' records. It is safe for concurrent use.
type Store struct {
	svc                             *aztables.ServiceClient
	sessions, conversions, commands *aztables.Client
	names                           [3]string
	pageSize                        int32
	now                             func() time.Time

	ensureMu sync.Mutex
	ensured  bool

	days dayCache
}

// New returns a Store over svc.
func New(svc *aztables.ServiceClient, opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.SessionsTable == "" {
		o.SessionsTable = arrops.SessionsTable
	}
	if o.ConversionsTable == "" {
		o.ConversionsTable = arrops.ConversionsTable
	}
	if o.CommandsTable == "" {
		o.CommandsTable = arrops.CommandsTable
	}
	if o.PageSize <= 0 || o.PageSize > DefaultPageSize {
		o.PageSize = DefaultPageSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{
		svc:         svc,
		sessions:    svc.NewClient(o.SessionsTable),
		conversions: svc.NewClient(o.ConversionsTable),
		commands:    svc.NewClient(o.CommandsTable),
		names:       [3]string{o.SessionsTable, o.ConversionsTable, o.CommandsTable},
		pageSize:    int32(o.PageSize),
		now:         o.Now,
		days:        dayCache{m: map[string]string{}},
	}
}

func clientOptions(opts *Options) *aztables.ClientOptions {
	if opts == nil {
		return nil
	}
	return &aztables.ClientOptions{ClientOptions: opts.ClientOptions}
}

// NewFromConnectionString returns a Store for a storage connection string
// (including UseDevelopmentStorage=true). Errors never quote the string.
func NewFromConnectionString(cs string, opts *Options) (*Store, error) {
	st, err := connstr.ParseStorage(cs)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var svc *aztables.ServiceClient
	if st.AccountKey != "" {
		cred, err := aztables.NewSharedKeyCredential(st.AccountName, st.AccountKey)
		if err != nil {
			return nil, fmt.Errorf("store: account key of %s is not valid", st.AccountName)
		}
		svc, err = aztables.NewServiceClientWithSharedKey(st.TableEndpoint, cred, clientOptions(opts))
		if err != nil {
			return nil, fmt.Errorf("store: table client for %s: %w", st.TableEndpoint, err)
		}
	} else {
		// A SAS connection string: the SDK's own parser handles it.
		if svc, err = aztables.NewServiceClientFromConnectionString(cs, clientOptions(opts)); err != nil {
			return nil, errors.New("store: connection string has neither an AccountKey nor a usable SharedAccessSignature")
		}
	}
	return New(svc, opts), nil
}

// NewWithCredential returns a Store for a table service URL
// (https://<account>.table.core.windows.net) and an Entra credential (the
// app's managed identity, which needs Storage Table Data Contributor).
func NewWithCredential(tableServiceURL string, cred azcore.TokenCredential, opts *Options) (*Store, error) {
	svc, err := aztables.NewServiceClient(strings.TrimRight(tableServiceURL, "/"), cred, clientOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("store: table client for %s: %w", tableServiceURL, err)
	}
	return New(svc, opts), nil
}

// EnsureTables creates the three tables when missing. Success is remembered,
// so later calls cost nothing; a failure is not, so the next call tries again.
func (s *Store) EnsureTables(ctx context.Context) error {
	s.ensureMu.Lock()
	defer s.ensureMu.Unlock()
	if s.ensured {
		return nil
	}
	for _, name := range s.names {
		if _, err := s.svc.CreateTable(ctx, name, nil); err != nil && !hasCode(err, aztables.TableAlreadyExists) {
			return fmt.Errorf("create table %s: %w", name, classify(err))
		}
	}
	s.ensured = true
	return nil
}

func hasCode(err error, code aztables.TableErrorCode) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == string(code)
}

// classify gives a Table Storage failure its arrops code, the storage half of
// the README's error contract:
//
//	400 (PropertyValueTooLarge, InvalidInput, …), 413, other 4xx  EINVALID
//	401, 403 (the app's storage role or key)                     EUNAUTHORIZED
//	404 of an entity                                              ENOTFOUND
//	404 TableNotFound (a deployment problem, retried)             EINTERNAL
//	409 EntityAlreadyExists                                       ECONFLICT
//	412 (ETag precondition)                                       ErrConcurrentUpdate, EINTERNAL
//	408, 429, 5xx, network, context                               EINTERNAL
//
// The text is kept; errors.As still finds the *azcore.ResponseError.
func classify(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	switch s := re.StatusCode; {
	case s == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %w", ErrConcurrentUpdate, err)
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		return arrops.WithCode(arrops.EUNAUTHORIZED, err)
	case s == http.StatusNotFound && !hasCode(err, aztables.TableNotFound):
		return arrops.WithCode(arrops.ENOTFOUND, err)
	case s == http.StatusConflict && hasCode(err, aztables.EntityAlreadyExists):
		return arrops.WithCode(arrops.ECONFLICT, err)
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s == http.StatusNotFound, s == http.StatusConflict:
		return arrops.WithCode(arrops.EINTERNAL, err)
	case s >= 400 && s < 500:
		return arrops.WithCode(arrops.EINVALID, err)
	}
	return arrops.WithCode(arrops.EINTERNAL, err)
}

// isNotFound reports a missing entity; a missing table is a deployment
// problem, not a missing record, so it stays an internal error.
func isNotFound(err error) bool { return arrops.ErrorCode(classify(err)) == arrops.ENOTFOUND }
func isConflict(err error) bool { return arrops.ErrorCode(classify(err)) == arrops.ECONFLICT }
func isPrecondition(err error) bool {
	return err != nil && errors.Is(classify(err), ErrConcurrentUpdate)
}

// dayCache remembers the partition (creation day) of ids. The mapping never
// changes once written, so entries never go stale; the map is simply emptied
// when it reaches its bound.
type dayCache struct {
	mu sync.Mutex
	m  map[string]string
}

const dayCacheMax = 50000

func (c *dayCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[key]
	return d, ok
}

func (c *dayCache) put(key, day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= dayCacheMax {
		clear(c.m)
	}
	c.m[key] = day
}

// dayKey is the PartitionKey of a record created at t.
func dayKey(t time.Time) string { return t.UTC().Format("20060102") }

// indexPartition holds the id → day index entities.
const indexPartition = "id"

func validID(kind, id string) error {
	if err := arrops.ValidateID(id); err != nil {
		return arrops.Errorf(arrops.EINVALID, "%s id: %s", kind, arrops.ErrorMessage(err))
	}
	return nil
}
