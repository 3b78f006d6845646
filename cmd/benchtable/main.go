package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/arrops/arrops/internal/loadresult"

	"github.com/arrops/arrops/internal/modroot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// report is the JSON written to results/bench-<UTC time>.json.
type report struct {
	Time       time.Time          `json:"time"`
	GoVersion  string             `json:"goVersion"`
	CPUs       int                `json:"cpus"`
	Rows       []row              `json:"rows"`
	Startup    *startupResult     `json:"startup,omitempty"`
	Burst      *burstResult       `json:"burst,omitempty"`
	Load       *loadresult.Result `json:"load,omitempty"`
	Timing     *loadresult.Timing `json:"timing,omitempty"`
	Benchmarks []benchResult      `json:"benchmarks"`
	Missing    map[string]string  `json:"missing,omitempty"`
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fl.SetOutput(stdout)
	benchFile := fl.String("bench", "results/bench.txt", "`go test -bench` output to read")
	loadFile := fl.String("load", "results/load.json", "the load scenario's result (e2e TestLoad)")
	timingFile := fl.String("timing", "results/"+loadresult.TimingFileName, "the timing scenarios' result (e2e TestReadyLatency, TestConversionLatency, TestPolicyStopLatency)")
	outDir := fl.String("out", "results", "folder for bench-<UTC time>.json")
	runs := fl.Int("runs", 21, "start-up runs of each binary (median)")
	burst := fl.Int("burst", 200, "sessions in the memory burst (a start and a stop each)")
	concurrency := fl.Int("concurrency", 16, "invocations in flight during the burst")
	skipProcs := fl.Bool("skip-processes", false, "skip the start-up, memory and burst measurements")
	probe := fl.String("probe", "", "start this server binary, wait for GET / 200, stop it, print the time and exit")
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	if *probe != "" {
		p, d, err := startServer(ctx, *probe, probeSettings)
		if err != nil {
			return err
		}
		p.stop()
		fmt.Fprintf(stdout, "%.3f ms\n", ms(d))
		return nil
	}
	if *runs < 1 || *burst < 1 || *concurrency < 1 {
		return errors.New("-runs, -burst and -concurrency must be positive")
	}

	in := inputs{errs: map[string]string{}}
	if f, err := os.Open(*benchFile); err != nil {
		in.errs["bench"] = "no benchmark output: " + err.Error()
	} else {
		res, err := parseBench(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *benchFile, err)
		}
		in.bench = res
	}
	var l loadresult.Result
	if found, err := readResult(*loadFile, &l); err != nil {
		return err
	} else if found {
		in.load = &l
	} else {
		in.errs["load"] = "no " + *loadFile + " (load test absent or failed)"
	}
	var tm loadresult.Timing
	if found, err := readResult(*timingFile, &tm); err != nil {
		return err
	} else if found {
		in.timing = &tm
	} else {
		in.errs["timing"] = "no " + *timingFile + " (timing scenarios absent or failed)"
	}

	if *skipProcs {
		in.errs["startup"], in.errs["burst"] = "skipped (-skip-processes)", "skipped (-skip-processes)"
	} else {
		dir, err := os.MkdirTemp("", "benchtable-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		handler, hello, err := build(ctx, dir)
		if err != nil {
			return err
		}
		if in.startup, err = measureStartup(ctx, handler, hello, *runs); err != nil {
			in.errs["startup"] = err.Error()
		}
		if in.burst, err = measureBurst(ctx, handler, *burst, *concurrency); err != nil {
			in.errs["burst"] = err.Error()
		}
	}

	rows := buildRows(in)
	printTable(stdout, rows)
	now := time.Now().UTC()
	rep := report{Time: now, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Rows: rows, Startup: in.startup,
		Burst: in.burst, Load: in.load, Timing: in.timing, Benchmarks: in.bench, Missing: in.errs}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	out := filepath.Join(*outDir, "bench-"+now.Format("20060102T150405Z")+".json")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "written to", out)
	return nil
}

// readResult decodes the JSON result file path into v; found is false when
// there is no such file (the measurement did not run).
func readResult(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// build compiles the handler (as shipped: no race detector) and the
// hello-world server into dir.
func build(ctx context.Context, dir string) (handler, hello string, err error) {
	root, err := modroot.Dir()
	if err != nil {
		return "", "", err
	}
	handler, hello = filepath.Join(dir, "handler"), filepath.Join(dir, "hello")
	for _, b := range []struct{ out, pkg string }{{handler, "./handler"}, {hello, "./cmd/benchtable/testdata/hello"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return handler, hello, nil
}
