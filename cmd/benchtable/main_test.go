package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrops/arrops/internal/loadresult"
)

func readBench(t testing.TB) benchSet {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parseBench(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestParseBench(t *testing.T) {
	b := readBench(t)
	if len(b) != 24 {
		t.Fatalf("%d results, want 24", len(b))
	}
	for _, tc := range []struct {
		pkg, name, unit string
		want            float64
	}{
		{"commands", "DecodeDispatch/start", "inv/cpu-s", 11321},
		{"commands", "DecodeDispatch/baseline=decode", "allocs/op", 168},
		{"handler", "Routes/route/watch", "table-writes/sweep", 0},
		{"handler", "Routes/decode/commands-start", "ns/op", 114021}, // -2 suffix dropped, "-start" kept
		{"handler", "Lifecycle", "arr-get/session", 1},
		{"shutdown", "Sweep1000/sweep", "list-pages/sweep", 10},
	} {
		got, ok := b.metric(tc.pkg, tc.name, tc.unit)
		if !ok || got != tc.want {
			t.Errorf("%s %s %s = %v, %v; want %v", tc.pkg, tc.name, tc.unit, got, ok, tc.want)
		}
	}
	if _, ok := b.metric("handler", "Routes/route/watch", "no-such-unit"); ok {
		t.Error("an absent unit was found")
	}
}

func TestMetricMedian(t *testing.T) {
	in := "pkg: x/y\nBenchmarkA 1 3 ns/op\nBenchmarkA 1 1 ns/op\nBenchmarkA 1 2 ns/op\nBenchmarkA 1 10 ns/op\n"
	b, err := parseBench(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := benchSet(b).metric("y", "A", "ns/op"); v != 2.5 {
		t.Errorf("median of 1,2,3,10 = %v, want 2.5", v)
	}
	if _, err := parseBench(strings.NewReader("BenchmarkA 1 x ns/op\n")); err == nil {
		t.Error("a non-numeric metric was accepted")
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		rss, hwm  int64
		wantError bool
	}{
		{"linux", "Name:\thandler\nVmPeak:\t 1000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t5\n", 10 << 20, 20 << 20, false},
		{"missing HWM", "VmRSS:\t 1 kB\n", 0, 0, true},
		{"odd unit", "VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n", 0, 0, true},
		{"negative", "VmRSS:\t -1 kB\nVmHWM:\t 1 kB\n", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss, hwm, err := parseStatus(strings.NewReader(tc.in))
			if (err != nil) != tc.wantError || rss != tc.rss || hwm != tc.hwm {
				t.Errorf("got %d, %d, %v", rss, hwm, err)
			}
		})
	}
}

func TestBuildRows(t *testing.T) {
	in := inputs{bench: readBench(t), errs: map[string]string{},
		startup: &startupResult{Runs: 21, HandlerMedian: 12, HelloMedian: 10, PairRatio: 1.2, IdleRSS: 12 << 20},
		burst:   &burstResult{Invocations: 400, PeakRSS: 30 << 20, RSS: 28 << 20, IdleRSS: 14 << 20},
		load:    &loadresult.Result{Commands: 1000, CommandsPerSecond: 50, P50Ms: 100, P99Ms: 900, Sessions: 450, Malformed: 50, Duplicates: 100, Poison: 0},
		timing: &loadresult.Timing{ReadyFollowUps: &loadresult.Latency{N: 20, P50Ms: 2500, P95Ms: 4900, MaxMs: 4950},
			ReadyBaseline: &loadresult.Latency{N: 20, P50Ms: 8000, P95Ms: 58800, MaxMs: 60000},
			Conversion:    &loadresult.Latency{N: 20, P95Ms: 4000, MaxMs: 4500},
			PolicyStop:    &loadresult.Latency{N: 20, P95Ms: 2500, MaxMs: 3000, MinMs: -5},
			PolicyWarning: &loadresult.Latency{N: 20, P95Ms: 2500, MaxMs: 3000},
			PoolWarm:      &loadresult.Latency{N: 60, P50Ms: 186, P95Ms: 479, MaxMs: 951},
			PoolCold:      &loadresult.Latency{N: 10, P50Ms: 6063, P95Ms: 6074, MaxMs: 6080},
			PoolBurst:     &loadresult.PoolBurst{Starts: 200, Pool: 20, Warm: 20, Cold: 180}}}
	rows := buildRows(in)
	byMetric := map[string]row{}
	for _, r := range rows {
		byMetric[r.Metric] = r
	}
	for _, tc := range []struct {
		metric, met string
		r           float64
	}{
		{"commands decode+dispatch, start (per core)", "yes", 24761.0 / 11321},
		{"handler overhead, commands start", "yes", 0.95},
		{"start-up to first GET / (median of 21)", "yes", 1.2},
		{"idle RSS (VmRSS after start)", "yes", 0},
		{"ARR calls per session lifecycle", "yes", 0},
		{"table writes per unchanged watch sweep", "yes", 0},
		{"shutdown sweep, 1,000 sessions: ARR calls", "yes", 0},
		{"shutdown sweep, 1,000 sessions: wall", none, 24021685948.0 / 52020581},
		{"route commands-start (Azurite + simulator)", none, 8770 / 118.8},
		{"load: sessions / malformed / duplicates / poison", "yes", 0},
		{"ARR Ready -> SessionReady, follow-ups", "yes", 12},
		{"conversion finished -> ConversionSucceeded", "yes", 0},
		{"policy limit -> ARR stop call", "NO", 0}, // 5 ms early
		{"warning instant -> SessionStopWarning", "yes", 0},
		{"ARR calls per follow-up tick, 1 / 10 / 100 starting", "yes", 0},
		{"start on the queue -> reply with hostname, pool hours", "yes", 6074.0 / 479},
		{"200 concurrent starts vs a pool of 20", "yes", 0},
	} {
		r, ok := byMetric[tc.metric]
		if !ok {
			t.Errorf("no row %q", tc.metric)
			continue
		}
		if r.Met != tc.met || (tc.r != 0 && (r.R < tc.r*0.999 || r.R > tc.r*1.001)) {
			t.Errorf("%s: met %q ratio %v; want %q %v", tc.metric, r.Met, r.R, tc.met, tc.r)
		}
	}

	// A slow start-up and missing parts are reported as gaps.
	in.startup.HandlerMedian, in.startup.HelloMedian = 30, 10
	in.timing.PolicyStop.MinMs = 0
	in.load, in.errs["load"] = nil, "no load.json"
	in.timing.PoolBurst.DoubleClaims = 1
	var out bytes.Buffer
	printTable(&out, buildRows(in))
	s := out.String()
	if !strings.Contains(s, "targets not met (2): start-up to first GET / (median of 21); 200 concurrent starts vs a pool of 20") || !strings.Contains(s, "no load.json") {
		t.Errorf("table:\n%s", s)
	}
}

func TestRunWithoutProcesses(t *testing.T) {
	dir := t.TempDir()
	load, _ := json.Marshal(loadresult.Result{Commands: 20, Sessions: 9, Malformed: 1, Poison: 1})
	if err := os.WriteFile(filepath.Join(dir, "load.json"), load, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"benchtable", "-bench", filepath.Join("testdata", "bench.txt"), "-load", filepath.Join(dir, "load.json"),
		"-out", dir, "-skip-processes"}, os.Getenv, &out)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "bench-*.json"))
	if len(files) != 1 {
		t.Fatalf("results: %v\n%s", files, out.String())
	}
	var rep report
	b, _ := os.ReadFile(files[0])
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Rows) == 0 || rep.Load == nil || rep.Load.Commands != 20 || len(rep.Benchmarks) != 24 {
		t.Errorf("report %s: %v", b, err)
	}
	if !strings.Contains(out.String(), "skipped (-skip-processes)") || !strings.Contains(out.String(), "timing scenarios absent") {
		t.Errorf("table:\n%s", out.String())
	}
}

// TestStartServer starts the hello server as the start-up measurement does.
func TestStartServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	dir := t.TempDir()
	handler, hello, err := build(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := measureStartup(t.Context(), handler, hello, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.HandlerMs) != 2 || res.HandlerMedian <= 0 || res.HelloMedian <= 0 || res.IdleRSS < 1<<20 {
		t.Errorf("%+v", res)
	}
}

func FuzzParseBench(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "bench.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("BenchmarkA-2 10 5 ns/op 1 x/op\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := parseBench(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range res {
			if !strings.HasPrefix(s, "Benchmark") && !strings.Contains(s, "\nBenchmark") || r.Metrics == nil {
				t.Fatalf("result %+v from input without a benchmark line", r)
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add("VmHWM:\t 20480 kB\nVmRSS:\t 10240 kB\n")
	f.Fuzz(func(t *testing.T, s string) {
		rss, hwm, err := parseStatus(strings.NewReader(s))
		if err == nil && (rss < 0 || hwm < 0) {
			t.Fatalf("negative memory %d %d", rss, hwm)
		}
	})
}
