package main

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchResult is one result line of `go test -bench` output.
type benchResult struct {
	Pkg     string             `json:"pkg"`  // last element of the import path
	Name    string             `json:"name"` // without "Benchmark" and the -GOMAXPROCS suffix
	N       int64              `json:"n"`
	Metrics map[string]float64 `json:"metrics"` // unit → value: ns/op, B/op, allocs/op and custom ones
}

// procsSuffix is the "-8" go test appends when GOMAXPROCS is not 1.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads `go test -bench` output: "pkg:" lines name the package of
// the result lines after them; other lines (logs, PASS, ok) are skipped.
func parseBench(r io.Reader) ([]benchResult, error) {
	var out []benchResult
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if p, ok := strings.CutPrefix(text, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line, or one cut by a failure
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		res := benchResult{Pkg: pkg, Name: procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), ""), N: n,
			Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: metric %q: %w", line, f[i], err)
			}
			res.Metrics[f[i+1]] = v
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return out, nil
}

// benchSet looks results up by package, name and unit.
type benchSet []benchResult

// metric returns the median over repeated runs (-count) of unit for the
// benchmark pkg.name.
func (s benchSet) metric(pkg, name, unit string) (float64, bool) {
	var vs []float64
	for _, r := range s {
		if r.Pkg == pkg && r.Name == name {
			if v, ok := r.Metrics[unit]; ok {
				vs = append(vs, v)
			}
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}
