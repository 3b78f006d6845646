// Command localstack runs the whole arrops system on this machine (`make run`):
// Azurite (storage), the ARR simulator, and devhost running the handler with
// every function, on fixed loopback ports. Ctrl-C stops everything it started.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/modroot"
	"github.com/arrops/arrops/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("localstack", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		binDir     = fs.String("bin", "bin", "directory with the handler, arrsim and devhost binaries (make build)")
		simPort    = fs.Int("sim-port", 8787, "ARR simulator port")
		devPort    = fs.Int("devhost-port", 7071, "devhost port (HTTP functions under /api/)")
		blob       = fs.Int("blob-port", 10000, "Azurite blob port")
		queue      = fs.Int("queue-port", 10001, "Azurite queue port")
		table      = fs.Int("table-port", 10002, "Azurite table port")
		data       = fs.String("data", ".azurite", "Azurite data folder (kept between runs); empty keeps data in memory")
		azuriteLog = fs.Bool("azurite-log", false, "also print Azurite's request log")
		readyAfter = fs.String("ready-after", "10s", "simulated time from session create to Ready")
		convAfter  = fs.String("conversion-after", "90s", "simulated duration of a conversion")
		speed      = fs.String("clock-speed", "1", "simulated ARR clock speed; above 1 leases run out faster, but ARR times (creationTime, elapsed minutes) then run ahead of the handler's clock")
		quiet      = fs.Bool("quiet", false, "do not print process logs")
		settingsF  = fs.String("settings", "local.settings.json", "settings file: its Values override the stack's defaults, the environment overrides both; written for this stack when missing")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	root, err := modroot.Dir()
	if err != nil {
		return err
	}
	if *data != "" {
		if !filepath.IsAbs(*data) {
			*data = filepath.Join(root, *data)
		}
		if err := os.MkdirAll(*data, 0o755); err != nil {
			return err
		}
	}
	if !filepath.IsAbs(*settingsF) {
		*settingsF = filepath.Join(root, *settingsF)
	}
	if !filepath.IsAbs(*binDir) {
		*binDir = filepath.Join(root, *binDir)
	}
	var log io.Writer = stdout
	if *quiet {
		log = io.Discard
	}
	// Azurite logs every request; that drowns the handler's lines.
	var azLog io.Writer = io.Discard
	if *azuriteLog {
		azLog = log
	}
	// Stack defaults < local.settings.json < environment (README "Running locally").
	fileValues, err := config.LocalSettingsValues(*settingsF)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	settings, fromEnv := stack.MergeSettings(fileValues, environ)
	// The production schedules (config defaults) unless the file or the
	// environment names others: what runs locally is what Azure does.
	for _, st := range config.Settings {
		if _, set := settings[st.Name]; !set && (st.Name == "WATCH_SCHEDULE" || st.Name == "SHUTDOWN_SCHEDULE") {
			settings[st.Name] = st.Default
		}
	}
	if fileValues != nil {
		fmt.Fprintf(stdout, "settings: stack defaults < %s (%d values) < environment (%s)\n", *settingsF, len(fileValues), strings.Join(fromEnv, " "))
	}
	simArgs := []string{"-clock-speed", *speed, "-ready-after", *readyAfter, "-conversion-after", *convAfter}
	if *data != "" {
		// Sessions and conversions survive a restart with the blobs and records.
		simArgs = append(simArgs, "-state", filepath.Join(*data, "arrsim-state.json"))
	}
	fmt.Fprintln(stdout, "starting Azurite, the ARR simulator and devhost + handler ...")
	st, err := stack.Start(ctx, stack.Options{
		BinDir: *binDir, Root: root, BlobEvents: true, SimPort: *simPort, DevhostPort: *devPort,
		AzuriteOptions: azurite.Options{BlobPort: *blob, QueuePort: *queue, TablePort: *table, Location: *data, Log: azLog},
		Settings:       settings, SimArgs: simArgs, Log: log,
	})
	if err != nil {
		return err
	}
	defer st.Stop()
	fmt.Fprintf(stdout, `
arrops is running locally:
  ARR simulator   %s  (account %s)
  devhost         %s  (HTTP functions under /api/, admin API under /admin/functions/<name> with x-functions-key: %s)
  Azurite         blob %s, queue %s, table %s
  uploads to %s become BlobCreated events on arr-blob-created (Event Grid stand-in)

Next steps, in another terminal:
  go run ./cmd/arrctl start --size Standard --requested-by me     # waits for Ready, prints the hostname
  go run ./cmd/arrctl upload model.glb                            # converts it; prints the .arrAsset URI
  go run ./cmd/arrctl sessions
  go run ./cmd/arrctl report
  open %s/api/report?format=html&code=%s

Press Ctrl-C to stop everything.
`, st.SimURL, stack.AccountID, st.DevhostURL, getenvOr(getenv, "DEVHOST_MASTER_KEY", devhost.DevMasterKey), st.Azurite.BlobEndpoint, st.Azurite.QueueEndpoint, st.Azurite.TableEndpoint,
		st.Azurite.BlobEndpoint+"/"+st.InputContainer(), st.DevhostURL, getenvOr(getenv, "DEVHOST_FUNCTION_KEY", devhost.DevFunctionKey))
	if err := writeSettings(*settingsF, st, stdout); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping ...")
	case <-st.Done():
		return fmt.Errorf("a process of the stack exited; see the log above")
	}
	return nil
}

func getenvOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

// writeSettings writes local.settings.json for the running stack, so arrctl
// (and func start, where Core Tools exist) use the same settings. An existing
// file is the user's: it is left alone.
func writeSettings(path string, st *stack.Stack, stdout io.Writer) error {
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(stdout, "keeping your %s (delete it to have it written for this stack)\n", path)
		return nil
	}
	values := map[string]string{"FUNCTIONS_WORKER_RUNTIME": "custom"}
	for k, v := range st.Settings {
		values[k] = v
	}
	b, err := json.MarshalIndent(map[string]any{"IsEncrypted": false, "Values": values}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s for this stack\n", path)
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
