package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/stack"
)

// TestConversionsEndToEnd is issue 7's "Must show" over real processes
// (Azurite, arrsim, devhost running the handler): BlobCreated events in the
// captured Event Grid and CloudEvents formats, base64 on arr-blob-created as
// Event Grid writes them, become conversions whose .arrAsset appears at the
// mirrored path; a deleted input fails with ARR's code; invalid uploads are
// rejected without an ARR call or a poison message; a triple delivery is one
// conversion; and no SAS appears in any output or record of the run.
func TestConversionsEndToEnd(t *testing.T) {
	began := time.Now()
	s := startSystem(t, stack.Options{
		SimArgs: []string{"-conversion-after", "2s"},
		Settings: map[string]string{"WATCH_SCHEDULE": "*/1 * * * * *", "ARR_INPUT_PREFIX": "models/", "ARR_OUTPUT_PREFIX": "assets",
			"ARR_INPUT_CONTAINER": "arr-input", "ARR_OUTPUT_CONTAINER": "arr-output"},
	})
	t.Logf("system up after %s", time.Since(began).Round(time.Millisecond))
	// The stack creates the input and output containers, as `make run` does;
	// "elsewhere" is a container outside the input that the test needs.
	if _, err := s.blobs.CreateContainer(s.ctx, "elsewhere", nil); err != nil {
		t.Fatal(err)
	}
	// The handler creates its tables on its first invocation; the test reads
	// them before that may have happened.
	if err := s.store.EnsureTables(s.ctx); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{s: s}

	// Invalid uploads first, while ARR has seen nothing: each is rejected
	// with its reason, answered 2xx (no poison message), with no ARR call.
	rejections := []struct {
		name string
		ev   functest.BlobEvent
		code string
	}{
		{"unsupported format", functest.BlobEvent{Path: "models/plant.obj", Size: 9}, "UnsupportedFormat"},
		{"ampersand in the name", functest.BlobEvent{Path: "models/R&D/plant.glb", Size: 9}, "InvalidBlobName"},
		{"zero-length blob", functest.BlobEvent{Path: "models/empty.fbx"}, "EmptyBlob"},
		{"other container", functest.BlobEvent{Container: "elsewhere", Path: "models/plant.glb", Size: 9}, "OutsideInputContainer"},
		{"outside the prefix", functest.BlobEvent{Path: "drafts/plant.glb", Size: 9}, "OutsideInputContainer"},
		{"not BlobCreated", functest.BlobEvent{Path: "models/old.glb", EventType: "Microsoft.Storage.BlobDeleted", API: "DeleteBlob", Size: 9}, "NotBlobCreated"},
		{"CloudEvents, unsupported", functest.BlobEvent{Cloud: true, Path: "models/notes.txt", Size: 9}, "UnsupportedFormat"},
	}
	for i := range rejections {
		r := &rejections[i].ev
		if r.Container == "" {
			r.Container = "arr-input"
		}
		r.ETag = fmt.Sprintf("0x8DD00000000%04d", i)
		s.deliverBlobEvent(r.JSON(t))
	}
	s.eventually(20*time.Second, "rejections recorded", func() error {
		byPath := map[string]*arrops.Conversion{}
		for _, c := range s.conversions() {
			byPath[c.InputContainer+"/"+c.InputPath] = c
		}
		for _, tc := range rejections {
			c := byPath[tc.ev.Container+"/"+tc.ev.Path]
			if c == nil {
				return fmt.Errorf("%s: no record", tc.name)
			}
			if c.Status != arrops.ConversionRejected || c.ErrorCode != tc.code || c.ErrorMessage == "" {
				s.t.Fatalf("%s: record %+v, want Rejected %s with a reason", tc.name, c, tc.code)
			}
		}
		return nil
	})
	s.eventually(10*time.Second, "arr-blob-created drained", func() error {
		if n := s.queueLength(config.BlobCreatedQueue); n != 0 {
			return fmt.Errorf("%d messages left", n)
		}
		return nil
	})
	if st := s.simStats(); st.CreateConversion != 0 {
		t.Fatalf("rejected uploads reached ARR: %d create calls", st.CreateConversion)
	}

	// Valid uploads: one in the Event Grid schema, one in CloudEvents schema
	// delivered three times at once, one deleted before ARR converts it.
	plant := functest.BlobEvent{Container: "arr-input", Path: "models/site/plant.glb"}
	plant.ETag, plant.Size = s.putBlob("arr-input", plant.Path, functest.SampleGLB), int64(len(functest.SampleGLB))
	pump := functest.BlobEvent{Cloud: true, Container: "arr-input", Path: "models/site/b/Pump.FBX"}
	pump.ETag, pump.Size = s.putBlob("arr-input", pump.Path, functest.SampleGLB[:40]), 40
	valve := functest.BlobEvent{Container: "arr-input", Path: "models/gone/valve.glb"}
	valve.ETag, valve.Size = s.putBlob("arr-input", valve.Path, functest.SampleGLB), int64(len(functest.SampleGLB))
	if _, err := s.blobs.DeleteBlob(s.ctx, "arr-input", valve.Path, nil); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	s.deliverBlobEvent(plant.JSON(t))
	s.deliverBlobEvent(valve.JSON(t))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); s.deliverBlobEvent(pump.JSON(t)) }()
	}
	wg.Wait()

	recs := s.waitConversions(30*time.Second, plant, pump, valve)
	t.Logf("three conversions terminal %s after the events", time.Since(sent).Round(time.Millisecond))
	blob := s.stack.Azurite.BlobEndpoint
	for _, tc := range []struct {
		up       functest.BlobEvent
		out      string
		data     []byte
		inFormat string
	}{{plant, "assets/site/plant.arrAsset", functest.SampleGLB, "Event Grid"}, {pump, "assets/site/b/Pump.arrAsset", functest.SampleGLB[:40], "CloudEvents"}} {
		c := recs[tc.up.Path]
		if c.Status != arrops.ConversionSucceeded || c.OutputURI != blob+"/arr-output/"+tc.out || c.OutputPath != tc.out ||
			c.Duration() <= 0 || c.Duration() > 30*time.Second || c.ErrorCode != "" {
			t.Errorf("%s (%s): record %+v (duration %s), want Succeeded with output %s", tc.up.Path, tc.inFormat, c, c.Duration(), tc.out)
			continue
		}
		// The simulator read the input through the SAS: the asset names
		// the input's size and hash.
		resp, err := s.blobs.DownloadStream(s.ctx, "arr-output", tc.out, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.out, err)
			continue
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(tc.data)
		if !strings.Contains(buf.String(), hex.EncodeToString(sum[:])) || !strings.Contains(buf.String(), fmt.Sprintf("bytes: %d", len(tc.data))) {
			t.Errorf("%s holds %q, not a conversion of the uploaded blob", tc.out, buf.String())
		}
		t.Logf("%s: Succeeded in %s, %s", tc.up.Path, c.Duration().Round(time.Millisecond), c.OutputURI)
	}
	gone := recs[valve.Path]
	if gone.Status != arrops.ConversionFailed || gone.ErrorCode != "ConversionProcessFailed" || !strings.Contains(gone.ErrorMessage, "Invalid input provided") || gone.OutputURI != "" {
		t.Errorf("deleted input: record %+v, want Failed with ARR's ConversionProcessFailed", gone)
	}
	// Three deliveries of the pump event: one record, one conversion run.
	n := 0
	for _, c := range s.conversions() {
		if c.InputPath == pump.Path {
			n++
		}
	}
	st := s.simStats()
	if n != 1 || st.ConversionsRun != 3 {
		t.Errorf("pump delivered 3 times: %d records, simulator ran %d conversions in all (want 1 record, 3 runs: plant, pump, valve)", n, st.ConversionsRun)
	}
	t.Logf("simulator: %d create calls (3 deliveries of one event may race to a 200 retry), %d runs, %d blob reads, %d writes",
		st.CreateConversion, st.ConversionsRun, st.BlobReads, st.BlobWrites)

	// One event per terminal conversion on arr-events (the topic locally).
	want := map[string]arrops.EventType{recs[plant.Path].ID: arrops.EventConversionSucceeded,
		recs[pump.Path].ID: arrops.EventConversionSucceeded, recs[valve.Path].ID: arrops.EventConversionFailed}
	s.eventually(15*time.Second, "conversion events", func() error {
		got := events.byConversion()
		for id, typ := range want {
			if len(got[id]) == 0 {
				return fmt.Errorf("no event for %s", id)
			}
			if ev := got[id][0]; ev.Type != typ || len(got[id]) != 1 {
				s.t.Fatalf("events for %s: %+v, want one %s", id, got[id], typ)
			}
		}
		return nil
	})
	if ev := events.byConversion()[recs[valve.Path].ID][0]; ev.ErrorCode != "ConversionProcessFailed" || ev.InputBlob != "arr-input/"+valve.Path {
		t.Errorf("ConversionFailed event %+v", ev)
	}
	if ev := events.byConversion()[recs[plant.Path].ID][0]; ev.OutputURI != recs[plant.Path].OutputURI || ev.DurationSeconds <= 0 {
		t.Errorf("ConversionSucceeded event %+v", ev)
	}

	if n := s.queueLength(config.BlobCreatedQueue + "-poison"); n != 0 {
		t.Errorf("%d poison messages", n)
	}
	s.assertNoSAS(events)
	t.Logf("total %s", time.Since(began).Round(time.Millisecond))
}

// deliverBlobEvent puts an event on arr-blob-created base64-encoded, as the
// Event Grid storage-queue handler does.
func (s *system) deliverBlobEvent(event []byte) {
	s.t.Helper()
	q := s.queues.NewQueueClient(config.BlobCreatedQueue)
	if _, err := q.Create(s.ctx, nil); err != nil && !strings.Contains(err.Error(), "QueueAlreadyExists") {
		s.t.Fatalf("create %s: %v", config.BlobCreatedQueue, err)
	}
	if _, err := q.EnqueueMessage(s.ctx, base64.StdEncoding.EncodeToString(event), (*azqueue.EnqueueMessageOptions)(nil)); err != nil {
		s.t.Fatalf("enqueue blob event: %v", err)
	}
}

// putBlob uploads data and returns the blob's eTag.
func (s *system) putBlob(container, path string, data []byte) string {
	s.t.Helper()
	resp, err := s.blobs.UploadBuffer(s.ctx, container, path, data, nil)
	if err != nil {
		s.t.Fatalf("upload %s/%s: %v", container, path, err)
	}
	return string(*resp.ETag)
}

// waitConversions waits until every upload has exactly one terminal record
// and returns them by input path.
func (s *system) waitConversions(limit time.Duration, ups ...functest.BlobEvent) map[string]*arrops.Conversion {
	s.t.Helper()
	out := map[string]*arrops.Conversion{}
	s.eventually(limit, "conversions terminal", func() error {
		clear(out)
		for _, c := range s.conversions() {
			for _, u := range ups {
				if c.InputContainer == u.Container && c.InputPath == u.Path && c.InputETag == strings.Trim(u.ETag, `"`) {
					if out[u.Path] != nil {
						s.t.Fatalf("two records for one upload %s: %s and %s", u.Path, out[u.Path].ID, c.ID)
					}
					out[u.Path] = c
				}
			}
		}
		for _, u := range ups {
			if c := out[u.Path]; c == nil || !c.Status.Terminal() {
				return fmt.Errorf("%s: %+v", u.Path, c)
			}
		}
		return nil
	})
	return out
}

// eventLog accumulates what was received from arr-events, so later scans see
// everything the run published.
type eventLog struct {
	s    *system
	mu   sync.Mutex
	raw  []string
	evts []arrops.Event
}

func (l *eventLog) byConversion() map[string][]arrops.Event {
	for _, m := range l.s.receive(config.EventsTopic, 32, 200*time.Millisecond) {
		var ev arrops.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			l.s.t.Fatalf("event %s: %v", m.Body, err)
		}
		l.mu.Lock()
		l.raw = append(l.raw, fmt.Sprintf("%+v %s", m.ApplicationProperties, m.Body))
		l.evts = append(l.evts, ev)
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]arrops.Event{}
	for _, ev := range l.evts {
		if ev.ConversionID != "" {
			out[ev.ConversionID] = append(out[ev.ConversionID], ev)
		}
	}
	return out
}

// assertNoSAS scans every process's output, every record of the run
// (conversions, sessions, command audit) and every event for a SAS signature.
func (s *system) assertNoSAS(events *eventLog) {
	s.t.Helper()
	events.byConversion()
	var all strings.Builder
	// Azurite's request log is the storage service's own access log, not
	// output of arrops: it shows the simulator's blob reads and writes with
	// the SAS it was handed (Azure Storage keeps such logs itself). Those
	// lines are checked to be exactly that (plus convert's own probe of the
	// write SAS: a one-blob listing of the output container before ARR gets
	// it), and left out of the scan.
	sasUses := 0
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "azurite") {
			if strings.Contains(line, "sig=") {
				probe := strings.Contains(line, `"GET /devstoreaccount1/arr-output?comp=list&maxresults=1&restype=container&`)
				if !strings.Contains(line, `"GET /devstoreaccount1/arr-input/`) && !strings.Contains(line, `"PUT /devstoreaccount1/arr-output/`) && !probe {
					s.t.Errorf("a SAS was used for something else than reading the input or writing the output: %s", line)
				}
				sasUses++
			}
			continue
		}
		all.WriteString(line + "\n")
	}
	if sasUses == 0 {
		s.t.Error("storage saw no SAS-authorised request: the simulator did not read through the SAS")
	}
	for _, c := range s.conversions() {
		b, _ := json.Marshal(c)
		all.Write(b)
	}
	for _, x := range s.sessions() {
		b, _ := json.Marshal(x)
		all.Write(b)
	}
	for _, a := range s.audit("") {
		b, _ := json.Marshal(a)
		all.Write(b)
	}
	events.mu.Lock()
	all.WriteString(strings.Join(events.raw, "\n"))
	events.mu.Unlock()
	text := all.String()
	if !strings.Contains(text, "conversion") {
		s.t.Fatal("the scan saw no conversion output at all")
	}
	for _, needle := range []string{"sig=", "sig%3D", "sig%3d"} {
		if i := strings.Index(text, needle); i >= 0 {
			s.t.Errorf("a SAS signature leaked (%s): ...%s...", needle, text[max(0, i-200):min(len(text), i+100)])
		}
	}
	s.t.Logf("no SAS in %d bytes of process output, records and events; storage saw %d SAS-authorised blob requests", len(text), sasUses)
}
