// Package schedule sends arrops' delayed messages to itself: a message put on
// the arr-due storage queue with a visibility delay stays invisible until it
// is due, and the Functions host then delivers it to the `due` function.
// That is how arrops acts at an instant (a follow-up sweep in 5 s, a policy
// stop at 14:30) instead of at the next timer tick.
//
// Two drivers implement Scheduler: Queue (Azure Storage or Azurite, through
// azqueue) and Memory (tests; it releases messages when a test's clock says
// they are due). Both cap the delay at MaxDelay, the queue's limit: a message
// due later arrives early, carries its real instant (DueMessage.At), and is
// scheduled again by its receiver.
package schedule

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/arrops/arrops"
)

// MaxDelay is the longest visibility delay a storage queue accepts (7 days,
// arrops.QueueMaxVisibilityHours in the limits table).
const MaxDelay = arrops.QueueMaxVisibilityHours * time.Hour

// Scheduler puts msg on the due queue so that it is delivered at at (not
// before; later by the host's polling, at most its maxPollingInterval).
type Scheduler interface {
	Schedule(ctx context.Context, msg arrops.DueMessage, at time.Time) error
}

// Delay is how long a message due at at is held back when put at now:
// rounded up to whole seconds (the queue's unit; never early), at least 0,
// at most MaxDelay.
func Delay(at, now time.Time) time.Duration {
	d := at.Sub(now)
	if d <= 0 {
		return 0
	}
	d = (d + time.Second - 1).Truncate(time.Second)
	return min(d, MaxDelay)
}

// Text is the queue text of msg due at at: base64 of its JSON (host.json
// sets extensions.queues.messageEncoding to base64). Deterministic.
func Text(msg arrops.DueMessage, at time.Time) (string, error) {
	msg.At = at.UTC()
	b, err := json.Marshal(msg)
	if err != nil {
		return "", fmt.Errorf("encode due message: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Queue schedules on a storage queue (arr-due). Safe for concurrent use.
type Queue struct {
	q   *azqueue.QueueClient
	now func() time.Time
}

// QueueOptions configure a Queue.
type QueueOptions struct {
	// Now is the clock delays are measured from; default time.Now.
	Now func() time.Time
}

// NewQueue returns a Scheduler over q (the arr-due queue client).
func NewQueue(q *azqueue.QueueClient, opts *QueueOptions) *Queue {
	var o QueueOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Queue{q: q, now: o.Now}
}

// Schedule puts msg with a visibility delay until at (see Delay). Messages
// never expire: one due in 7 days must not vanish on the queue's default
// 7-day time to live.
func (q *Queue) Schedule(ctx context.Context, msg arrops.DueMessage, at time.Time) error {
	text, err := Text(msg, at)
	if err != nil {
		return err
	}
	opts := &azqueue.EnqueueMessageOptions{
		VisibilityTimeout: to.Ptr(int32(Delay(at, q.now()) / time.Second)),
		TimeToLive:        to.Ptr(int32(-1)),
	}
	_, err = q.q.EnqueueMessage(ctx, text, opts)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		// Bicep declares the queue; Azurite starts empty.
		if _, cerr := q.q.Create(ctx, nil); cerr != nil && !queueerror.HasCode(cerr, queueerror.QueueAlreadyExists) {
			return fmt.Errorf("create due queue: %w", cerr)
		}
		_, err = q.q.EnqueueMessage(ctx, text, opts)
	}
	if err != nil {
		return fmt.Errorf("schedule %s at %s: %w", msg.Kind, at.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Scheduled is a message held by Memory.
type Scheduled struct {
	Msg arrops.DueMessage
	// Visible is when the queue would let it be dequeued (At, or MaxDelay
	// after it was put if At lies further ahead).
	Visible time.Time
}

// Memory is an in-memory Scheduler for tests: messages wait until Due
// releases them. Safe for concurrent use.
type Memory struct {
	Now func() time.Time // default time.Now

	mu   sync.Mutex
	msgs []Scheduled
	// Err, when set, fails every Schedule (an outage).
	err error
}

// Schedule records msg (with At set to at) as a queue would hold it.
func (m *Memory) Schedule(ctx context.Context, msg arrops.DueMessage, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	msg.At = at.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	n := now()
	m.msgs = append(m.msgs, Scheduled{Msg: msg, Visible: n.Add(Delay(at, n))})
	return nil
}

// Fail makes Schedule return err (nil: work again).
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// Due removes and returns the messages visible at now, earliest first.
func (m *Memory) Due(now time.Time) []arrops.DueMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	slices.SortStableFunc(m.msgs, func(a, b Scheduled) int { return a.Visible.Compare(b.Visible) })
	var out []arrops.DueMessage
	i := 0
	for ; i < len(m.msgs) && !m.msgs[i].Visible.After(now); i++ {
		out = append(out, m.msgs[i].Msg)
	}
	m.msgs = slices.Delete(m.msgs, 0, i)
	return out
}

// Pending returns the messages not yet released, earliest first.
func (m *Memory) Pending() []Scheduled {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.msgs)
	slices.SortStableFunc(out, func(a, b Scheduled) int { return a.Visible.Compare(b.Visible) })
	return out
}

// Next is the earliest Visible of the pending messages; ok is false if none.
func (m *Memory) Next() (time.Time, bool) {
	p := m.Pending()
	if len(p) == 0 {
		return time.Time{}, false
	}
	return p[0].Visible, true
}

// Delete drops the pending messages drop selects (a lost message) and
// returns how many it dropped.
func (m *Memory) Delete(drop func(arrops.DueMessage) bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.msgs)
	m.msgs = slices.DeleteFunc(m.msgs, func(s Scheduled) bool { return drop(s.Msg) })
	return n - len(m.msgs)
}

// ErrOutage is a convenient error for Fail.
var ErrOutage = errors.New("schedule: unavailable (test outage)")
