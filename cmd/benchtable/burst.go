package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/trigger"
)

// The simulator's account for the burst: a made-up id and a throwaway key
// that only this in-process simulator accepts.
const (
	burstAccount = "11111111-2222-4333-8444-555555555555"
	burstKey     = "benchtable-simulator-key-not-a-secret"
)

// burstResult is the handler's memory before and after a burst of commands.
type burstResult struct {
	Sessions    int     `json:"sessions"`
	Invocations int     `json:"invocations"`
	Failed      int     `json:"failed"`
	Seconds     float64 `json:"seconds"`
	IdleRSS     int64   `json:"idleRssBytes"`
	RSS         int64   `json:"rssAfterBytes"`
	PeakRSS     int64   `json:"peakRssBytes"`
}

// measureBurst runs the handler binary against a private Azurite and an
// in-process simulator on loopback, reads its idle memory, sends a start
// command for each of n sessions and then a stop for each (concurrency at a
// time, over HTTP as the host does), and reads VmRSS and VmHWM.
func measureBurst(ctx context.Context, handler string, n, concurrency int) (*burstResult, error) {
	az, err := azurite.Start(ctx, azurite.Options{})
	if err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	defer az.Stop()
	sim := arrsim.New(arrsim.Options{AccountID: burstAccount, AccountKey: burstKey, ReadyAfter: time.Second})
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	simURL := "http://" + ln.Addr().String()
	env := []string{
		"ARR_ACCOUNT_ID=" + burstAccount, "ARR_ACCOUNT_DOMAIN=eastus.mixedreality.azure.com",
		"ARR_ENDPOINT=" + simURL, "ARR_STS_ENDPOINT=" + simURL, "ARR_ACCOUNT_KEY=" + burstKey,
		"AzureWebJobsStorage=" + az.ConnectionString(), "ARR_STORAGE_ACCESS=accountSas",
	}
	p, _, err := startServer(ctx, handler, env)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	time.Sleep(time.Second)
	res := &burstResult{Sessions: n}
	if res.IdleRSS, _, err = p.memory(); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	var seq, failed atomic.Int64
	send := func(action string) {
		var g errgroup.Group
		g.SetLimit(concurrency)
		for i := range n {
			g.Go(func() error {
				id := fmt.Sprintf("burst-%04d", i)
				body := fmt.Sprintf(`{"action":%q,"sessionId":%q,"size":"Standard","requestedBy":"benchtable"}`, action, id)
				if action == "stop" {
					body = fmt.Sprintf(`{"action":"stop","sessionId":%q,"requestedBy":"benchtable"}`, id)
				}
				if err := invoke(ctx, client, p.url, fmt.Sprintf("%s-%s", action, id), body, seq.Add(1)); err != nil {
					failed.Add(1)
				}
				return nil
			})
		}
		g.Wait()
	}
	start := time.Now()
	send("start")
	sim.Advance(2 * time.Second)
	send("stop")
	res.Seconds = time.Since(start).Seconds()
	res.Invocations, res.Failed = 2*n, int(failed.Load())
	if res.RSS, res.PeakRSS, err = p.memory(); err != nil {
		return nil, err
	}
	return res, nil
}

// invoke POSTs one Service Bus command invocation to the handler's commands
// route, as the Functions host does.
func invoke(ctx context.Context, client *http.Client, base, messageID, body string, seq int64) error {
	now := time.Now().UTC()
	inv, err := trigger.EncodeServiceBusInvocation("cmd", trigger.ServiceBusMessage{
		Body: []byte(body), MessageID: messageID, DeliveryCount: 1, ContentType: "application/json",
		EnqueuedTime: now, SequenceNumber: seq, Sys: trigger.NewSys("commands", now)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/commands", bytes.NewReader(inv))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(trigger.HeaderInvocationID, fmt.Sprintf("benchtable-%d", seq))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /commands: %s", resp.Status)
	}
	return nil
}
