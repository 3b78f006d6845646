// Command handler is arrops' Azure Functions custom handler. The Functions host
// (or cmd/devhost locally) starts it with FUNCTIONS_CUSTOMHANDLER_PORT set and
// POSTs each invocation to /<FunctionName>.
//
// Start-up is kept cheap: settings are read and validated once, and every
// client (ARR, tables, Service Bus, blobs) is built on first use.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/arrops/arrops/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		// One line on stderr: the host reports it as an Error, which it is.
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

// run starts the handler and serves until ctx is done.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	port := getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		return errors.New("setting FUNCTIONS_CUSTOMHANDLER_PORT: is required (the Functions host sets it)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("setting FUNCTIONS_CUSTOMHANDLER_PORT: %q is not a port number", port)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: level}))

	app := newApp(cfg, stdout, level)
	mux := http.NewServeMux()
	addRoutes(mux, app)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w", port, err)
	}
	log.Info("handler listening", "addr", ln.Addr().String(), "bus", busMode(cfg))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	app.Close()
	return err
}

func busMode(cfg *config.Config) string {
	if cfg.LocalBus {
		return "local (Azurite queues)"
	}
	return "servicebus"
}
