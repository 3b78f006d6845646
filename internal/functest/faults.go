package functest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops/notify"
)

// TableOp is a kind of Table Storage request, as TableFaults matches them.
type TableOp string

// Table operations.
const (
	OpInsert TableOp = "insert" // POST /<table>: AddEntity (an insert-only create)
	OpUpdate TableOp = "update" // PUT or MERGE with If-Match: a conditional update
	OpUpsert TableOp = "upsert" // PUT or MERGE without If-Match (audit rows)
	OpGet    TableOp = "get"    // GET of one entity
)

// TableFault is one rule of TableFaults: the matching requests after the
// first Skip fail Times times (0: every time, a permanent fault) with a
// service error of Status and Code (Status 0: a connection error).
type TableFault struct {
	Table  string  // table name prefix; "" matches every table
	Op     TableOp // "" matches every operation
	Record bool    // only record entities, not the id index (PartitionKey "id")
	Skip   int
	Times  int
	Status int
	Code   string

	seen, failed int
}

// Common faults.
var (
	// ServerBusy is what the service answers under load: transient.
	ServerBusy = TableFault{Status: http.StatusServiceUnavailable, Code: "ServerBusy"}
	// TooLarge is the 400 of a property over 64 KiB: permanent.
	TooLarge = TableFault{Status: http.StatusBadRequest, Code: "PropertyValueTooLarge"}
)

// TableFaults is an azcore per-call policy (pass it to Store) that fails
// chosen Table Storage requests with the response the service gives, before
// they reach Azurite, so the store's own error handling is what is tested.
// As a per-call policy it runs before the retry policy: an injected fault is
// seen by the store once per call, whatever its retry settings.
type TableFaults struct {
	mu    sync.Mutex
	rules []*TableFault
	// Injected counts the faults injected so far.
	Injected int
}

// Add arms rule f (a copy), after the rules already armed.
func (t *TableFaults) Add(f TableFault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &f)
}

// Clear disarms every rule.
func (t *TableFaults) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// Do implements azpolicy.Policy.
func (t *TableFaults) Do(req *azpolicy.Request) (*http.Response, error) {
	raw := req.Raw()
	op, table, partition := classify(raw)
	t.mu.Lock()
	var hit *TableFault
	for _, f := range t.rules {
		if (f.Table != "" && !strings.HasPrefix(table, f.Table)) || (f.Op != "" && f.Op != op) || (f.Record && partition == "id") {
			continue
		}
		f.seen++
		if f.seen > f.Skip && (f.Times == 0 || f.failed < f.Times) {
			f.failed++
			hit = f
			break
		}
	}
	if hit != nil {
		t.Injected++
	}
	t.mu.Unlock()
	if hit == nil {
		return req.Next()
	}
	if hit.Status == 0 {
		return nil, fmt.Errorf("injected: connection reset by peer (%s %s)", op, table)
	}
	body, _ := json.Marshal(map[string]any{"odata.error": map[string]any{"code": hit.Code,
		"message": map[string]string{"lang": "en-US", "value": "injected " + hit.Code}}})
	h := http.Header{}
	h.Set("Content-Type", "application/json;odata=minimalmetadata")
	h.Set("x-ms-error-code", hit.Code)
	return &http.Response{StatusCode: hit.Status, Status: fmt.Sprintf("%d %s", hit.Status, http.StatusText(hit.Status)),
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: raw}, nil
}

// classify names a Table request: its operation, table and (for inserts and
// entity addresses) partition key.
func classify(r *http.Request) (op TableOp, table, partition string) {
	seg := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	table, addr, _ := strings.Cut(seg, "(")
	if i := strings.Index(addr, "PartitionKey='"); i >= 0 {
		partition, _, _ = strings.Cut(addr[i+len("PartitionKey='"):], "'")
	}
	switch r.Method {
	case http.MethodPost:
		op = OpInsert
		if r.GetBody != nil {
			if b, err := r.GetBody(); err == nil {
				var e struct{ PartitionKey string }
				json.NewDecoder(b).Decode(&e)
				partition = e.PartitionKey
			}
		}
	case http.MethodPut, "MERGE", http.MethodPatch:
		op = OpUpsert
		if r.Header.Get("If-Match") != "" {
			op = OpUpdate
		}
	case http.MethodGet:
		op = OpGet
	}
	return op, table, partition
}

// Publisher is what FaultyBus wraps (functions.Publisher).
type Publisher interface {
	Publish(ctx context.Context, entity string, msgs ...notify.Message) error
}

// BusFault fails the Publish calls to Entity (a prefix; "" every entity)
// after the first Skip, Times times (0: every time) with Err.
type BusFault struct {
	Entity      string
	Skip, Times int
	Err         error

	seen, failed int
}

// FaultyBus wraps a Publisher and fails chosen Publish calls; the others pass
// through to it.
type FaultyBus struct {
	Publisher
	mu    sync.Mutex
	rules []*BusFault
}

// Add arms rule f (a copy).
func (b *FaultyBus) Add(f BusFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = append(b.rules, &f)
}

// Clear disarms every rule.
func (b *FaultyBus) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = nil
}

// Publish implements Publisher.
func (b *FaultyBus) Publish(ctx context.Context, entity string, msgs ...notify.Message) error {
	b.mu.Lock()
	var err error
	for _, f := range b.rules {
		if !strings.HasPrefix(entity, f.Entity) {
			continue
		}
		f.seen++
		if f.seen > f.Skip && (f.Times == 0 || f.failed < f.Times) {
			f.failed++
			err = f.Err
			break
		}
	}
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("publish to %s: %w", entity, err)
	}
	return b.Publisher.Publish(ctx, entity, msgs...)
}
