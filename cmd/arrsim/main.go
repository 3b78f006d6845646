// Command arrsim runs the ARR-compatible simulator (package arrsim) as a
// local HTTP server: STS, sessions and conversions on one address.
//
//	arrsim -addr 127.0.0.1:0 -account-id 00000000-0000-0000-0000-000000000000 -account-key devkey
//
// On start it prints one line that scripts can parse:
//
//	arrsim listening on http://127.0.0.1:8787 account=<id>
//
// and then one log line per call on stdout. SIGINT or SIGTERM shut it down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arrops/arrops/arrsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "arrsim:", err)
		os.Exit(1)
	}
}

// run parses flags, serves until ctx ends, then shuts down gracefully.
// Defaults for the account come from ARRSIM_ACCOUNT_ID and ARRSIM_ACCOUNT_KEY.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("arrsim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		addr        = fs.String("addr", "127.0.0.1:8787", "listen address (use 127.0.0.1:0 for a random port)")
		accountID   = fs.String("account-id", envOr(getenv, "ARRSIM_ACCOUNT_ID", "00000000-0000-0000-0000-000000000000"), "ARR account id (env ARRSIM_ACCOUNT_ID)")
		accountKey  = fs.String("account-key", "", "ARR account key accepted by STS (required; or env ARRSIM_ACCOUNT_KEY, which keeps it out of ps and -h)")
		anyBearer   = fs.Bool("accept-any-bearer", false, "STS accepts any non account-key bearer (Entra / managed identity test mode)")
		region      = fs.String("region", "eastus", "region used in session hostnames")
		readyAfter  = fs.Duration("ready-after", 10*time.Second, "simulated time from session create to Ready")
		convAfter   = fs.Duration("conversion-after", 90*time.Second, "simulated duration of a conversion")
		clockSpeed  = fs.Float64("clock-speed", 1, "simulated time runs this many times faster than real time")
		linked      = fs.Bool("linked-storage", false, "accept conversions without SAS (storage linked to the account)")
		style2021   = fs.Bool("style-2021", false, "answer like the January 2021 service (0/null placeholders)")
		pageSize    = fs.Int("page-size", 100, "items per list page before @nextLink")
		f429Rate    = fs.Float64("fault-429-rate", 0, "fraction (0..1) of ARR calls answered 429")
		fRetryAfter = fs.Int("fault-retry-after", 15, "Retry-After seconds on injected 429s")
		f500Rate    = fs.Float64("fault-500-rate", 0, "fraction (0..1) of ARR calls answered 500")
		fLatency    = fs.Duration("fault-latency", 0, "real-time latency added to every ARR call")
		fStartErr   = fs.Float64("fault-start-error-rate", 0, "fraction (0..1) of sessions that end in Error instead of Ready")
		quiet       = fs.Bool("quiet", false, "do not log each call")
		stateFile   = fs.String("state", "", "keep sessions and conversions in this file across restarts (make run: <data folder>/arrsim-state.json); empty: in memory")
	)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: arrsim [flags]\n\nAzure Remote Rendering simulator: STS, sessions and conversions on one address.\nAdmin endpoints: GET /_sim/stats, GET|POST /_sim/faults, POST /_sim/clock?advance=5m, POST /_sim/sessions/{id}/fail.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *accountKey == "" {
		// Read after parsing so the key never shows as a default in -h.
		*accountKey = getenv("ARRSIM_ACCOUNT_KEY")
	}
	if *accountKey == "" {
		return errors.New("-account-key (or ARRSIM_ACCOUNT_KEY) is required")
	}
	faults := arrsim.Faults{Throttle429Rate: *f429Rate, RetryAfterSeconds: *fRetryAfter, Error500Rate: *f500Rate,
		Latency: *fLatency, StartErrorRate: *fStartErr}
	if err := faults.Validate(); err != nil {
		return err
	}
	logHandler := slog.Handler(slog.NewTextHandler(stdout, nil))
	if *quiet {
		logHandler = slog.NewTextHandler(io.Discard, nil)
	}
	sim := arrsim.New(arrsim.Options{
		AccountID: *accountID, AccountKey: *accountKey, AcceptAnyBearer: *anyBearer, Region: *region,
		ReadyAfter: *readyAfter, ConversionAfter: *convAfter, ClockSpeed: *clockSpeed,
		LinkedStorage: *linked, Style2021Nulls: *style2021, PageSize: *pageSize,
		Logger: slog.New(logHandler), Faults: faults,
	})
	defer sim.Close()
	if *stateFile != "" {
		if err := sim.Persist(*stateFile); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "arrsim listening on http://%s account=%s\n", ln.Addr(), *accountID)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
