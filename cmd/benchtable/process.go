package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// probeSettings are the app settings a start-up probe passes: valid, and
// pointing nowhere, since the handler connects to nothing before its first
// invocation. The storage string is Azurite's well-known development one.
var probeSettings = []string{
	"ARR_ACCOUNT_ID=11111111-2222-4333-8444-555555555555",
	"ARR_ACCOUNT_DOMAIN=eastus.mixedreality.azure.com",
	"AzureWebJobsStorage=UseDevelopmentStorage=true",
}

// proc is a started server process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr bytes.Buffer
	done   chan struct{}
}

// startServer starts bin with env and FUNCTIONS_CUSTOMHANDLER_PORT set to a
// free loopback port, as the Functions host does, and returns once GET /
// answers 200, with the time from just before the start to that answer.
func startServer(ctx context.Context, bin string, env []string) (*proc, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	p := &proc{url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(slices.Clone(env), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	p.cmd.Stdout = io.Discard // the handler's routine log lines
	p.cmd.Stderr = &p.stderr
	// A fresh connection per probe: a kept-alive one would need the server up.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(start), nil
			}
		}
		select {
		case <-p.done:
			return nil, 0, fmt.Errorf("%s exited before answering GET /: %s", bin, strings.TrimSpace(p.stderr.String()))
		case <-ctx.Done():
			p.stop()
			return nil, 0, ctx.Err()
		default:
		}
		if time.Since(start) > 20*time.Second {
			p.stop()
			return nil, 0, fmt.Errorf("%s: no 200 on GET / after 20 s (last error %v)", bin, err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// memory reads VmRSS and VmHWM (resident now, and its peak) of the process
// from /proc/<pid>/status, in bytes.
func (p *proc) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:	   12345 kB") from a
// /proc/<pid>/status file.
func parseStatus(r io.Reader) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(r)
	found := 0
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		if key == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, errors.New("VmRSS or VmHWM missing from /proc status")
	}
	return rss, hwm, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startupResult compares the handler's start-up with the hello server's.
type startupResult struct {
	Runs          int       `json:"runs"`
	HandlerMs     []float64 `json:"handlerMs"`
	HelloMs       []float64 `json:"helloMs"`
	HandlerMedian float64   `json:"handlerMedianMs"`
	HelloMedian   float64   `json:"helloMedianMs"`
	// PairRatio is the median of the run-by-run ratios (handler/hello),
	// which a drift in the machine's speed moves less than the medians' ratio.
	PairRatio float64 `json:"pairRatio"`
	IdleRSS   int64   `json:"idleRssBytes"`
}

// measureStartup starts the handler and the hello server alternately, runs
// times each after one unmeasured warm-up of both, and then reads the
// handler's resident memory after a second of idling.
func measureStartup(ctx context.Context, handler, hello string, runs int) (*startupResult, error) {
	once := func(bin string) (time.Duration, error) {
		p, d, err := startServer(ctx, bin, probeSettings)
		if err != nil {
			return 0, err
		}
		p.stop()
		return d, nil
	}
	for _, bin := range []string{handler, hello} {
		if _, err := once(bin); err != nil {
			return nil, err
		}
	}
	res := &startupResult{Runs: runs}
	var ratios []float64
	for range runs {
		h, err := once(handler)
		if err != nil {
			return nil, err
		}
		y, err := once(hello)
		if err != nil {
			return nil, err
		}
		res.HandlerMs = append(res.HandlerMs, ms(h))
		res.HelloMs = append(res.HelloMs, ms(y))
		ratios = append(ratios, float64(h)/float64(y))
	}
	res.HandlerMedian, res.HelloMedian, res.PairRatio = median(res.HandlerMs), median(res.HelloMs), median(ratios)
	p, _, err := startServer(ctx, handler, probeSettings)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	time.Sleep(time.Second)
	if res.IdleRSS, _, err = p.memory(); err != nil {
		return nil, fmt.Errorf("idle RSS: %w", err)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
