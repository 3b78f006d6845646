// Command benchtable prints arrops' benchmark results as one table (metric,
// value, baseline, ratio, target, met?) and writes them as JSON to
// results/bench-<UTC time>.json for comparison between runs. `make bench`
// runs it after the Go benchmarks and the load scenario.
//
// It reads the output of `go test -bench` (-bench) and the load scenario's
// load.json (-load), and measures itself what only whole processes show:
// the handler binary's start-up to its first GET / answer against a
// hello-world Go server started alternately in the same run (median of -runs
// each), its idle resident memory (VmRSS), and its peak (VmHWM) after a burst
// of invocations against Azurite and the ARR simulator.
//
// `benchtable -probe BINARY` starts BINARY as the Functions host would, waits
// for GET / to answer 200, stops it and exits: a whole-process start-up probe
// for external timers (/usr/bin/time, hyperfine).
package main
