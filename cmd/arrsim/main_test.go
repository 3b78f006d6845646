package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"
)

func noEnv(string) string { return "" }

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncbuf.Buffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-account-id", "acc-1", "-account-key", "k", "-ready-after", "1ms"}, noEnv, out)
	}()
	re := regexp.MustCompile(`arrsim listening on (http://127\.0\.0\.1:\d+) account=acc-1\n`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("no listening line in %q", out.String())
	}
	req, _ := http.NewRequest("GET", base+"/Accounts/acc-1/token", nil)
	req.Header.Set("Authorization", "Bearer acc-1:k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("STS: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	var logLines int
	for sc.Scan() {
		if strings.Contains(sc.Text(), "op=sts.token") {
			logLines++
		}
		if strings.Contains(sc.Text(), "acc-1:k") {
			t.Errorf("account key logged: %s", sc.Text())
		}
	}
	if logLines != 1 {
		t.Errorf("%d STS log lines in %q", logLines, out.String())
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"help", []string{"-h"}, map[string]string{"ARRSIM_ACCOUNT_KEY": "env-secret"}, "help"},
		{"missing key", []string{"-addr", "127.0.0.1:0"}, nil, "account-key"},
		{"bad rate", []string{"-account-key", "k", "-fault-429-rate", "2"}, nil, "outside 0..1"},
		{"extra args", []string{"-account-key", "k", "extra"}, nil, "unexpected arguments"},
		{"bad addr", []string{"-account-key", "k", "-addr", "256.0.0.1:99999"}, nil, "listen"},
		{"key from env, bad addr", []string{"-addr", "256.0.0.1:99999"}, map[string]string{"ARRSIM_ACCOUNT_KEY": "k"}, "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			getenv := func(k string) string { return tc.env[k] }
			err := run(context.Background(), tc.args, getenv, &out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(out.String(), "env-secret") {
				t.Errorf("account key printed: %s", out.String())
			}
			if tc.name == "help" {
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("help err %v", err)
				}
				for _, f := range []string{"-addr", "-account-id", "-account-key", "-accept-any-bearer", "-ready-after", "-conversion-after",
					"-clock-speed", "-linked-storage", "-style-2021", "-page-size", "-fault-429-rate", "-fault-retry-after",
					"-fault-500-rate", "-fault-latency", "-fault-start-error-rate"} {
					if !strings.Contains(out.String(), f+" ") && !strings.Contains(out.String(), f+"\n") {
						t.Errorf("usage lacks %s", f)
					}
				}
			}
		})
	}
}

var _ io.Writer = (*syncbuf.Buffer)(nil)
