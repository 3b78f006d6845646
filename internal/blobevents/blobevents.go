// Package blobevents stands in, locally, for the Event Grid subscription of
// infra/modules/eventgrid.bicep: it watches the input container on Azurite
// and puts one Microsoft.Storage.BlobCreated event (Event Grid schema, base64
// as Event Grid writes to storage queues) on arr-blob-created for every new
// blob version that passes the subscription's filter (subject begins with
// the input container and prefix, ends case-insensitively in one of
// arrops.InputFormats). Azurite has no change feed and no Event Grid, so the
// container is listed every Interval (1 s: an event is queued within about
// 2 s of the upload).
//
// A blob version is its eTag: a re-upload (even of the same bytes) is a new
// event, and a version already announced never is again, also across
// restarts, because the announced versions are kept in a state blob next to
// the host's own (azure-webjobs-hosts/eventgrid-standin/<container>.json) in
// Azurite's data folder, written eTag-conditionally. Like the subscription,
// which only sees uploads after it exists, the first run records the blobs
// already there without announcing them. A crash between queueing and
// saving the state can announce a version twice; the convert function's
// conversion id (container, path, eTag) makes that a no-op.
package blobevents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
)

// BlobCreated is the event type the subscription includes.
const BlobCreated = "Microsoft.Storage.BlobCreated"

// StateContainer holds the state blob (the Functions host's own container).
const StateContainer = "azure-webjobs-hosts"

// Options configure a Watcher.
type Options struct {
	// Blobs is the storage account's blob client; Queue the destination
	// (arr-blob-created).
	Blobs *azblob.Client
	Queue *azqueue.QueueClient
	// Container and Prefix are the subscription's subjectBeginsWith
	// (ARR_INPUT_CONTAINER, ARR_INPUT_PREFIX).
	Container, Prefix string
	// AccountName names the account in the event's topic.
	AccountName string
	// Interval between listings; default 1 s.
	Interval time.Duration
	// Log receives one line per announced event (default discard).
	Log *slog.Logger
}

// Watcher announces new blob versions of one container.
type Watcher struct {
	opts      Options
	stateBlob *blockblob.Client
	seen      map[string]string // blob name -> eTag of the version last seen
	stateETag *azcore.ETag      // nil: no state blob yet
}

// state is the persisted form.
type state struct {
	// Seen maps every blob name of the container to the eTag of the version
	// already announced (or, for blobs the filter excludes or that predate
	// the first run, merely seen).
	Seen map[string]string `json:"seen"`
}

// New returns a Watcher; Start or Poll use it.
func New(opts Options) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.AccountName == "" {
		opts.AccountName = "devstoreaccount1"
	}
	name := "eventgrid-standin/" + opts.Container + ".json"
	return &Watcher{opts: opts, stateBlob: opts.Blobs.ServiceClient().NewContainerClient(StateContainer).NewBlockBlobClient(name)}
}

// Init loads the state; on the first run ever it records the blobs already
// in the container without announcing them. Call it before uploads that
// must be announced (the stack does, before it reports ready).
func (w *Watcher) Init(ctx context.Context) error {
	resp, err := w.stateBlob.DownloadStream(ctx, nil)
	switch {
	case err == nil:
		defer resp.Body.Close()
		var st state
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return fmt.Errorf("read event stand-in state: %w", err)
		}
		if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
			return fmt.Errorf("event stand-in state %s/%s: %w", StateContainer, w.stateName(), err)
		}
		w.seen, w.stateETag = st.Seen, resp.ETag
		if w.seen == nil {
			w.seen = map[string]string{}
		}
		return nil
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound):
		blobs, err := w.list(ctx)
		if err != nil {
			return err
		}
		w.seen = map[string]string{}
		for name, p := range blobs {
			w.seen[name] = p.etag
		}
		if len(blobs) > 0 {
			w.opts.Log.Info("blobs uploaded before the Event Grid stand-in existed are not announced (as with a new subscription); upload them again to convert them",
				"container", w.opts.Container, "blobs", len(blobs))
		}
		return w.save(ctx)
	default:
		return fmt.Errorf("read event stand-in state: %w", err)
	}
}

func (w *Watcher) stateName() string { return "eventgrid-standin/" + w.opts.Container + ".json" }

// Run polls until ctx ends. A failed poll is logged and retried at the next
// tick (Azurite restarting, say).
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A pass in flight finishes even when ctx ends, so Ctrl-C never
		// leaves events queued but not recorded.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if _, err := w.Poll(pctx); err != nil {
			w.opts.Log.Warn("blob event stand-in: poll failed; retrying", "err", err.Error())
		}
		cancel()
	}
}

// Poll lists the container once, queues an event for every new version
// that passes the filter, and saves the state. It returns the events queued.
func (w *Watcher) Poll(ctx context.Context) (int, error) {
	if w.seen == nil {
		if err := w.Init(ctx); err != nil {
			return 0, err
		}
	}
	current, err := w.list(ctx)
	if err != nil {
		return 0, err
	}
	changed, queued := len(current) != len(w.seen), 0
	for name, p := range current {
		if w.seen[name] == p.etag {
			continue
		}
		changed = true
		if w.passes(name) {
			if err := w.announce(ctx, name, p); err != nil {
				// Keep what was announced so far; the rest comes next poll.
				return queued, errors.Join(err, w.save(ctx))
			}
			queued++
		}
		w.seen[name] = p.etag
	}
	if !changed {
		return 0, nil
	}
	for name := range w.seen {
		if _, ok := current[name]; !ok {
			delete(w.seen, name) // deleted blobs
		}
	}
	return queued, w.save(ctx)
}

// passes applies the subscription's filter to the blob's subject.
func (w *Watcher) passes(name string) bool {
	if !strings.HasPrefix(name, w.opts.Prefix) {
		return false
	}
	lower := strings.ToLower(name)
	for _, ext := range arrops.InputFormats {
		if strings.HasSuffix(lower, strings.ToLower(ext)) {
			return true
		}
	}
	return false
}

type blobProps struct {
	etag, contentType, blobType string
	size                        int64
	modified                    time.Time
}

// list returns every blob of the container with the properties an event
// carries.
func (w *Watcher) list(ctx context.Context) (map[string]blobProps, error) {
	out := map[string]blobProps{}
	pager := w.opts.Blobs.NewListBlobsFlatPager(w.opts.Container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if bloberror.HasCode(err, bloberror.ContainerNotFound) {
				break // nothing uploaded can be there
			}
			return nil, fmt.Errorf("list %s: %w", w.opts.Container, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || b.Properties == nil || b.Properties.ETag == nil {
				continue
			}
			p := blobProps{etag: strings.Trim(string(*b.Properties.ETag), `"`)}
			if b.Properties.ContentType != nil {
				p.contentType = *b.Properties.ContentType
			}
			if b.Properties.ContentLength != nil {
				p.size = *b.Properties.ContentLength
			}
			if b.Properties.BlobType != nil {
				p.blobType = string(*b.Properties.BlobType)
			}
			if b.Properties.LastModified != nil {
				p.modified = *b.Properties.LastModified
			}
			out[*b.Name] = p
		}
	}
	return out, nil
}

// save writes the state eTag-conditionally: a second stand-in on the same
// account (which should not exist) makes this fail instead of both
// overwriting each other; the next Init reloads.
func (w *Watcher) save(ctx context.Context) error {
	b, err := json.Marshal(state{Seen: w.seen})
	if err != nil {
		return err
	}
	cond := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{}}
	if w.stateETag == nil {
		cond.ModifiedAccessConditions.IfNoneMatch = to.Ptr(azcore.ETagAny)
	} else {
		cond.ModifiedAccessConditions.IfMatch = w.stateETag
	}
	resp, err := w.stateBlob.UploadBuffer(ctx, b, &blockblob.UploadBufferOptions{AccessConditions: cond})
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if _, cerr := w.opts.Blobs.CreateContainer(ctx, StateContainer, nil); cerr != nil && !isConflict(cerr) {
			return fmt.Errorf("create %s: %w", StateContainer, cerr)
		}
		resp, err = w.stateBlob.UploadBuffer(ctx, b, &blockblob.UploadBufferOptions{AccessConditions: cond})
	}
	if err != nil {
		if isPrecondition(err) {
			w.seen = nil // reload at the next poll
		}
		return fmt.Errorf("save event stand-in state: %w", err)
	}
	w.stateETag = resp.ETag
	return nil
}

func isConflict(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusConflict
}

func isPrecondition(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusPreconditionFailed || re.StatusCode == http.StatusConflict)
}

// announce queues the event of one blob version.
func (w *Watcher) announce(ctx context.Context, name string, p blobProps) error {
	ev := Event(w.opts.AccountName, w.opts.Blobs.URL(), w.opts.Container, name, p.etag, p.contentType, p.blobType, p.size, p.modified)
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	// Event Grid writes base64 text to storage queues; host.json's
	// messageEncoding (base64) decodes it.
	if _, err := w.opts.Queue.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(b), &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(-1))}); err != nil {
		return fmt.Errorf("queue the BlobCreated event of %s/%s: %w", w.opts.Container, name, err)
	}
	w.opts.Log.Info("BlobCreated announced", "blob", w.opts.Container+"/"+name, "eTag", p.etag, "size", p.size, "eventId", ev.ID)
	return nil
}

// EventGridEvent is one event in the Event Grid schema, with the fields of
// the published BlobCreated example (shared/fixtures/functions).
type EventGridEvent struct {
	Topic           string        `json:"topic"`
	Subject         string        `json:"subject"`
	EventType       string        `json:"eventType"`
	EventTime       string        `json:"eventTime"`
	ID              string        `json:"id"`
	Data            BlobEventData `json:"data"`
	DataVersion     string        `json:"dataVersion"`
	MetadataVersion string        `json:"metadataVersion"`
}

// BlobEventData is the data object of a BlobCreated event.
type BlobEventData struct {
	API                string            `json:"api"`
	ClientRequestID    string            `json:"clientRequestId"`
	RequestID          string            `json:"requestId"`
	ETag               string            `json:"eTag"`
	ContentType        string            `json:"contentType"`
	ContentLength      int64             `json:"contentLength"`
	BlobType           string            `json:"blobType"`
	URL                string            `json:"url"`
	Sequencer          string            `json:"sequencer"`
	StorageDiagnostics map[string]string `json:"storageDiagnostics"`
}

// Event builds the BlobCreated event of one blob version. Its id and
// request ids are derived from container, name and eTag, so the same
// version always yields the same event. The api is a guess (the listing
// does not say how the blob was written): PutBlob up to the 256 MiB the
// SDKs upload in one request, PutBlockList above; convert accepts both.
func Event(account, blobServiceURL, containerName, name, etag, contentType, blobType string, size int64, modified time.Time) EventGridEvent {
	sum := sha256.Sum256([]byte(containerName + "/" + name + "/" + etag))
	api := "PutBlob"
	if size > 256<<20 {
		api = "PutBlockList"
	}
	if blobType == "" {
		blobType = "BlockBlob"
	}
	return EventGridEvent{
		Topic:     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/" + account,
		Subject:   "/blobServices/default/containers/" + containerName + "/blobs/" + name,
		EventType: BlobCreated,
		EventTime: modified.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		ID:        uuid(sum[0:16]),
		Data: BlobEventData{
			API: api, ClientRequestID: uuid(sum[16:32]), RequestID: uuid(sum[8:24]),
			ETag: `"` + etag + `"`, ContentType: contentType, ContentLength: size, BlobType: blobType,
			URL:                strings.TrimRight(blobServiceURL, "/") + "/" + containerName + "/" + name,
			Sequencer:          fmt.Sprintf("%032X", modified.UnixNano()),
			StorageDiagnostics: map[string]string{"batchId": uuid(sum[4:20])},
		},
		DataVersion: "", MetadataVersion: "1",
	}
}

// uuid formats 16 bytes as a version-4-shaped UUID.
func uuid(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
