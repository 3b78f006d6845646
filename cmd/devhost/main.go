package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arrops/arrops/internal/devhost"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devhost:", err)
		os.Exit(1)
	}
}

// run parses flags, loads the deployment root and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devhost", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		root      = fs.String("root", ".", "deployment root holding host.json and the function folders")
		settings  = fs.String("settings", "", "local.settings.json to read Values from (default <root>/local.settings.json)")
		handler   = fs.String("handler", "", "handler executable (default host.json customHandler.description.defaultExecutablePath)")
		addr      = fs.String("addr", "127.0.0.1:7071", "listen address for HTTP triggers and the admin API")
		key       = fs.String("function-key", "", "key for authLevel function routes (default setting DEVHOST_FUNCTION_KEY, else a fixed dev key)")
		sbLocal   = fs.Bool("sb-local", false, "carry Service Bus triggers on Azurite queues even when a Service Bus connection is set")
		functions = fs.String("functions", "", "comma-separated functions to run (default all)")
		startup   = fs.Duration("start-timeout", 60*time.Second, "how long the handler may take to answer GET /")
	)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var only []string
	for _, f := range strings.Split(*functions, ",") {
		if f = strings.TrimSpace(f); f != "" {
			only = append(only, f)
		}
	}
	h, err := devhost.New(devhost.Options{
		Root: *root, SettingsFile: *settings, Handler: *handler, FunctionKey: *key,
		ServiceBusLocal: *sbLocal, Functions: only, Getenv: getenv, Environ: os.Environ(),
		Stdout: stdout, StartTimeout: *startup,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return h.Serve(ctx, ln)
}
