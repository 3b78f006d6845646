package devhost

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// TestQueueDelayedDelivery: a message put with a visibility timeout (how
// arrops schedules its follow-ups and deadlines on arr-due) stays invisible
// until due and is then delivered within extensions.queues.maxPollingInterval,
// on its first dequeue, as the host delivers it.
func TestQueueDelayedDelivery(t *testing.T) {
	conn := needStorage(t)
	queue := uniqueQueue("due")
	const maxPoll = 500 * time.Millisecond
	host := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}},
 "extensions":{"queues":{"maxDequeueCount":5,"visibilityTimeout":"00:00:00","batchSize":8,"maxPollingInterval":"00:00:00.500"}}}`
	root := app(t, host, map[string]string{"due": `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%","connection":"AzureWebJobsStorage"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"IN_QUEUE": queue}, nil)
	q := queueClient(t, conn, queue)

	delays := []time.Duration{0, 2 * time.Second, 4 * time.Second}
	put := make([]time.Time, len(delays))
	for i, d := range delays {
		put[i] = time.Now()
		if _, err := q.EnqueueMessage(context.Background(), b64(fmt.Sprintf(`{"n":%d}`, i)),
			&azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(d / time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := make([]time.Time, len(delays))
	deadline := time.Now().Add(delays[len(delays)-1] + 10*time.Second)
	for got := 0; got < len(delays); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delayed messages delivered\n%s", got, len(delays), r.out.String())
		}
		now := time.Now()
		got = 0
		for _, rec := range r.records(t) {
			n := -1
			for i := range delays {
				if strings.Contains(string(rec.Body), fmt.Sprintf(`n\\\":%d`, i)) {
					n = i
				}
			}
			if n < 0 {
				t.Fatalf("unexpected invocation %s", rec.Body)
			}
			if seen[n].IsZero() {
				seen[n] = now
				if c := metaString(t, rec.Body, "DequeueCount"); c != "1" {
					t.Errorf("message %d: DequeueCount %s, want 1 (a delay is not a retry)", n, c)
				}
			}
		}
		for _, s := range seen {
			if !s.IsZero() {
				got++
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, d := range delays {
		late := seen[i].Sub(put[i]) - d
		t.Logf("delay %v: delivered %v after due", d, late.Round(time.Millisecond))
		if late < 0 {
			t.Errorf("message delayed %v was delivered %v early", d, -late)
		}
		// Polling adds at most maxPoll; allow a second for Azurite and the handler.
		if late > maxPoll+time.Second {
			t.Errorf("message delayed %v was delivered %v after due, want <= %v", d, late, maxPoll+time.Second)
		}
	}
	waitEmpty(t, q)
}
