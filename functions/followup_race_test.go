package functions_test

import (
	"context"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/schedule"
)

// recordingScheduler counts the follow-ups scheduled per generation.
type recordingScheduler struct {
	next schedule.Scheduler
	mu   *sync.Mutex
	gens map[int64]int
}

func (r recordingScheduler) Schedule(ctx context.Context, m arrops.DueMessage, at time.Time) error {
	if err := r.next.Schedule(ctx, m, at); err != nil {
		return err
	}
	r.mu.Lock()
	r.gens[m.Gen]++
	r.mu.Unlock()
	return nil
}

// TestChainTwoInstancesRacing: two handler instances (own table and queue
// clients, as when the app scales out) share one Azurite: both take links
// off the due queue, a third of the deliveries "crash" before the message is
// deleted (it comes back after its lease, as after a SIGKILL), and commands
// kick the chain from both instances meanwhile. Every generation is
// scheduled at most once and continued at most once: one chain.
func TestChainTwoInstancesRacing(t *testing.T) {
	az := azuritetest.Start(t)
	tables := functest.FreshTables("Race")
	var mu sync.Mutex
	gens := map[int64]int{}
	continued := map[int64]int{}
	type instance struct {
		f *functions.FollowUps
		q *azqueue.QueueClient
	}
	var inst [2]instance
	for i := range inst {
		st := functest.Store(t, az.ConnectionString, tables)
		svc, err := notify.QueueService(az.ConnectionString, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		q := svc.NewQueueClient("arr-due-race")
		inst[i] = instance{q: q, f: &functions.FollowUps{Period: 500 * time.Millisecond,
			Records: functions.Value[functions.ChainRecords](st),
			Due:     functions.Value[schedule.Scheduler](recordingScheduler{schedule.NewQueue(q, nil), &mu, gens})}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var busy atomic.Int32
	busy.Store(12) // the first 12 sweeps see something in transition
	sweep := func(context.Context) (bool, error) { return busy.Add(-1) > 0, nil }

	var wg sync.WaitGroup
	kicking := make(chan struct{})
	for i := range inst {
		wg.Add(1)
		go func() { // commands on instance i
			defer wg.Done()
			for range 10 {
				if _, err := inst[i].f.Kick(ctx, time.Now()); err != nil {
					t.Error(err)
				}
				time.Sleep(150 * time.Millisecond)
			}
		}()
	}
	go func() { wg.Wait(); close(kicking) }()
	var ended atomic.Int32
	var crashes atomic.Int32
	var dw sync.WaitGroup
	for i := range inst {
		dw.Add(1)
		go func() { // the due function on instance i
			defer dw.Done()
			n := 0
			for ctx.Err() == nil {
				select {
				case <-kicking:
					if ended.Load() > 0 && busy.Load() <= 0 {
						return
					}
				default:
				}
				resp, err := inst[i].q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(4)), VisibilityTimeout: to.Ptr(int32(1))})
				if err != nil || len(resp.Messages) == 0 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for _, qm := range resp.Messages {
					b, _ := base64.StdEncoding.DecodeString(*qm.MessageText)
					msg, err := arrops.ParseDueMessage(b)
					if err != nil {
						t.Errorf("due message %q: %v", b, err)
						continue
					}
					out, err := inst[i].f.Link(ctx, msg, time.Now, sweep)
					if err != nil {
						continue // redelivered after its lease
					}
					switch out {
					case functions.LinkContinued:
						mu.Lock()
						continued[msg.Gen]++
						mu.Unlock()
					case functions.LinkEnded:
						ended.Add(1)
					}
					if n++; n%3 == 0 {
						crashes.Add(1)
						continue // "killed" before deleting: the message returns
					}
					inst[i].q.DeleteMessage(ctx, *qm.MessageID, *qm.PopReceipt, nil)
				}
			}
		}()
	}
	dw.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the chain did not end in time: ended %d, busy %d", ended.Load(), busy.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	for g, n := range gens {
		if n > 1 {
			t.Errorf("generation %d scheduled %d times", g, n)
		}
	}
	for g, n := range continued {
		if n > 1 {
			t.Errorf("generation %d continued %d times", g, n)
		}
	}
	if ended.Load() < 1 || len(gens) < 5 || crashes.Load() == 0 {
		t.Errorf("ended %d times, %d generations, %d crashes: the race did not happen", ended.Load(), len(gens), crashes.Load())
	}
	t.Logf("%d generations, %d crashed deliveries, chain ended %d time(s) (kicks restart it after an end)", len(gens), crashes.Load(), ended.Load())
}
