// Package functest is the environment the function packages' tests share:
// the ARR simulator over HTTP on loopback, an ARR client of it, records in
// memory (Records: store/memstore) or on fresh tables of an Azurite (Store),
// a configuration from app settings and the memory bus (Bus: notify/membus).
// The memory drivers pass the same conformance suites as the Table Storage,
// Service Bus and local drivers (store/storetest, notify/notifytest), so the
// function tests run in-process, without Node, under -short too.
//
// It is test support: only _test.go files import it, never production code.
package functest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/modroot"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/store/memstore"
)

// The simulator's account: a made-up id and a throwaway key only it accepts.
const (
	AccountID     = "11111111-2222-4333-8444-555555555555"
	AccountKey    = "local-simulator-key-not-a-secret"
	AccountDomain = "eastus.mixedreality.azure.com"
)

// Retry policies of the ARR client.
var (
	// NoRetries hands every transient answer to the caller.
	NoRetries = azpolicy.RetryOptions{MaxRetries: -1}
	// FastRetries retries as the default does, with a back-off of
	// milliseconds: an injected fault costs no real waiting.
	FastRetries = azpolicy.RetryOptions{RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
)

// Sim starts the simulator for the test account (opts' account id and key
// are set) and serves it over HTTP on loopback until tb ends. wrap, when not
// nil, receives the simulator's handler and returns the one to serve (a gate
// or a tap in front of it). Sim returns the simulator and the server's URL.
//
// Unless opts.Clock is set, simulated time stands still except when the test
// calls Advance: a session's ReadyAfter or a conversion's ConversionAfter
// never elapses on its own, however slow the machine (a real-time clock made
// "still Starting" checks fail on a busy machine).
func Sim(tb testing.TB, opts arrsim.Options, wrap func(http.Handler) http.Handler) (*arrsim.Server, string) {
	tb.Helper()
	opts.AccountID, opts.AccountKey = AccountID, AccountKey
	if opts.Clock == nil {
		start := time.Now()
		opts.Clock = func() time.Time { return start }
	}
	sim := arrsim.New(opts)
	tb.Cleanup(sim.Close)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return sim, srv.URL
}

// ARR returns a client of the test account at endpoint (the simulator, its
// STS too) with the given pipeline options (Retry: NoRetries, FastRetries,
// or the default).
func ARR(tb testing.TB, endpoint string, opts azpolicy.ClientOptions) *arr.Client {
	tb.Helper()
	cred, err := arr.NewAccountKeyCredential(AccountKey)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := arr.NewClient(endpoint, AccountID, cred, &arr.ClientOptions{
		AccountDomain: AccountDomain, STSEndpoint: endpoint, ClientOptions: opts})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// NoStorage is the AzureWebJobsStorage setting of tests whose records are
// in memory: a valid setting nothing connects to.
const NoStorage = "UseDevelopmentStorage=true"

// Records returns an empty in-memory record store (clock: time.Now).
func Records() *memstore.Store { return memstore.New(nil) }

var tableSeq atomic.Int64

// FreshTables names tables no other store of this process uses: prefix
// followed by S (sessions), C (conversions) or A (commands audit) and a
// sequence number.
func FreshTables(prefix string) *store.Options {
	n := tableSeq.Add(1)
	return &store.Options{SessionsTable: fmt.Sprintf("%sS%d", prefix, n),
		ConversionsTable: fmt.Sprintf("%sC%d", prefix, n), CommandsTable: fmt.Sprintf("%sA%d", prefix, n)}
}

// Store opens a store of the tables named by tables (nil: the default
// names) in the storage account of connStr, with policies added to the
// table client's per-call pipeline, and creates the tables.
func Store(tb testing.TB, connStr string, tables *store.Options, policies ...azpolicy.Policy) *store.Store {
	tb.Helper()
	var o store.Options
	if tables != nil {
		o = *tables
	}
	o.ClientOptions.PerCallPolicies = append(append([]azpolicy.Policy(nil), o.ClientOptions.PerCallPolicies...), policies...)
	st, err := store.NewFromConnectionString(connStr, &o)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.EnsureTables(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

// Settings are the app settings of the test account with its records in
// storage (a connection string): the ones every function needs.
func Settings(storage string) map[string]string {
	return map[string]string{"ARR_ACCOUNT_ID": AccountID, "ARR_ACCOUNT_DOMAIN": AccountDomain, "AzureWebJobsStorage": storage}
}

// SimSettings are the app settings that point the functions' own ARR client
// at the simulator served at url.
func SimSettings(url string) map[string]string {
	return map[string]string{"ARR_ENDPOINT": url, "ARR_STS_ENDPOINT": url, "ARR_ACCOUNT_KEY": AccountKey}
}

// Config loads the configuration of Settings(storage) overlaid, in order,
// with more.
func Config(tb testing.TB, storage string, more ...map[string]string) *config.Config {
	tb.Helper()
	env := Settings(storage)
	for _, m := range more {
		maps.Copy(env, m)
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// Requests counts, as an azcore per-call policy, the requests of a client
// and among them the writes (neither GET nor HEAD).
type Requests struct{ All, Writes atomic.Int64 }

// Do implements azpolicy.Policy.
func (c *Requests) Do(req *azpolicy.Request) (*http.Response, error) {
	c.All.Add(1)
	if m := req.Raw().Method; m != http.MethodGet && m != http.MethodHead {
		c.Writes.Add(1)
	}
	return req.Next()
}

// FixturesDir is the shared Functions payload fixtures folder.
func FixturesDir(tb testing.TB) string {
	tb.Helper()
	shared, err := modroot.Shared()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(shared, "fixtures", "functions")
}

// Fixture reads a file of the shared Functions fixtures.
func Fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(FixturesDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
