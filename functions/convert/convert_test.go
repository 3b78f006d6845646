package convert

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/functest"
)

// createBody is the part of a create-conversion request the tests check.
type createBody struct {
	Settings struct {
		InputLocation struct {
			StorageContainerURI         string  `json:"storageContainerUri"`
			StorageContainerReadListSas *string `json:"storageContainerReadListSas"`
			BlobPrefix                  string  `json:"blobPrefix"`
			RelativeInputAssetPath      string  `json:"relativeInputAssetPath"`
		} `json:"inputLocation"`
		OutputLocation struct {
			StorageContainerURI      string  `json:"storageContainerUri"`
			StorageContainerWriteSas *string `json:"storageContainerWriteSas"`
			BlobPrefix               string  `json:"blobPrefix"`
			OutputAssetFilename      string  `json:"outputAssetFilename"`
		} `json:"outputLocation"`
	} `json:"settings"`
}

func (e *env) sweep() watch.Stats {
	e.t.Helper()
	st, err := watch.Sweep(e.ctx, watch.Deps{Config: e.cfg, ARR: functions.Value(e.arr), Now: func() time.Time { return e.now },
		Records: functions.Value[watch.Records](e.store), Bus: functions.Value[functions.Publisher](e.bus),
		Blobs: functions.Value[functions.BlobReader](e.reader)})
	if err != nil {
		e.t.Fatalf("watch sweep: %v", err)
	}
	return st
}

// TestConvert drives the function over HTTP as the host does, against
// Azurite and the simulator: uploads are converted once, redeliveries are
// no-ops, re-uploads are new conversions, and the output mirrors the input.
func TestConvert(t *testing.T) {
	e := newEnv(t, map[string]string{"ARR_INPUT_PREFIX": "models/", "ARR_OUTPUT_PREFIX": "assets"}, arrsim.Options{ConversionAfter: 90 * time.Second})
	creates := func() int { return len(e.tap.bodies()) }

	// A real upload, announced in the captured Event Grid format.
	etag := e.upload("arr-input", "models/site/plant.glb", functest.SampleGLB)
	first := functest.BlobEvent{Container: "arr-input", Path: "models/site/plant.glb", ETag: etag, Size: int64(len(functest.SampleGLB))}
	id := ConversionID("arr-input", "models/site/plant.glb", strings.Trim(etag, `"`))
	if code := e.deliver(first.JSON(t)); code != http.StatusOK {
		t.Fatalf("deliver: HTTP %d\n%s", code, e.logs)
	}
	rec := e.record(id)
	if rec == nil || rec.Status != arrops.ConversionNotStarted || rec.InputContainer != "arr-input" || rec.InputPath != "models/site/plant.glb" ||
		rec.InputSize != int64(len(functest.SampleGLB)) || rec.OutputContainer != "arr-output" || rec.OutputPath != "assets/site/plant.arrAsset" {
		t.Fatalf("record %+v", rec)
	}
	puts := e.tap.bodies()
	if len(puts) != 1 {
		t.Fatalf("%d create calls, want 1", len(puts))
	}
	var body createBody
	if err := json.Unmarshal(puts[0], &body); err != nil {
		t.Fatal(err)
	}
	in, out := body.Settings.InputLocation, body.Settings.OutputLocation
	if in.StorageContainerURI != e.az.BlobEndpoint+"/arr-input" || in.BlobPrefix != "models/site/" || in.RelativeInputAssetPath != "plant.glb" ||
		out.StorageContainerURI != e.az.BlobEndpoint+"/arr-output" || out.BlobPrefix != "assets/site/" || out.OutputAssetFilename != "plant.arrAsset" {
		t.Errorf("ARR was asked %s", puts[0])
	}
	if in.StorageContainerReadListSas == nil || !strings.Contains(*in.StorageContainerReadListSas, "sig=") ||
		out.StorageContainerWriteSas == nil || !strings.Contains(*out.StorageContainerWriteSas, "sig=") {
		t.Errorf("accountSas: ARR did not get signed SAS tokens on the wire")
	}

	// Redeliveries (same event, the same upload in CloudEvents schema, as
	// base64, as a one-element array) start nothing and write nothing.
	cloud := first
	cloud.Cloud, cloud.ID = true, "other-delivery-id"
	for i, body := range [][]byte{first.JSON(t), first.JSON(t), cloud.JSON(t),
		[]byte(base64.StdEncoding.EncodeToString(first.JSON(t))), []byte("[" + string(first.JSON(t)) + "]")} {
		if code := e.deliver(body); code != http.StatusOK {
			t.Fatalf("redelivery %d: HTTP %d", i, code)
		}
	}
	if creates() != 1 {
		t.Errorf("redeliveries made %d create calls, want 1", creates())
	}
	if again := e.record(id); again.ETag != rec.ETag {
		t.Errorf("a redelivery rewrote the record")
	}

	// The simulator finishes; watch records Succeeded with the output URI and
	// a duration, and announces it once.
	e.sim.Advance(91 * time.Second)
	e.now = e.now.Add(93 * time.Second)
	if st := e.sweep(); st.ConversionGets != 1 || st.ConversionWrites != 1 {
		t.Errorf("sweep %+v, want one GET and one write for the conversion", st)
	}
	rec = e.record(id)
	wantURI := e.az.BlobEndpoint + "/arr-output/assets/site/plant.arrAsset"
	if rec.Status != arrops.ConversionSucceeded || rec.OutputURI != wantURI || rec.Duration() != 93*time.Second {
		t.Fatalf("after watch: %+v (duration %s), want Succeeded at %s after 93s", rec, rec.Duration(), wantURI)
	}
	if _, err := e.blobs.DownloadStream(e.ctx, "arr-output", "assets/site/plant.arrAsset", nil); err != nil {
		t.Errorf("the .arrAsset is not in the output container: %v", err)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Type != arrops.EventConversionSucceeded || evs[0].ConversionID != id || evs[0].OutputURI != wantURI || evs[0].DurationSeconds != 93 {
		t.Errorf("events %+v, want one ConversionSucceeded", evs)
	}
	if st := e.sweep(); st.ConversionGets != 0 {
		t.Errorf("a terminal conversion is polled again: %+v", st)
	}

	// A re-upload (new eTag) is a new conversion.
	etag2 := e.upload("arr-input", "models/site/plant.glb", append(functest.SampleGLB, ' '))
	second := first
	second.ETag, second.Size = etag2, int64(len(functest.SampleGLB)+1)
	if code := e.deliver(second.JSON(t)); code != http.StatusOK || creates() != 2 {
		t.Fatalf("re-upload: HTTP %d, %d creates; want a second conversion", code, creates())
	}
	if id2 := ConversionID("arr-input", "models/site/plant.glb", strings.Trim(etag2, `"`)); id2 == id || e.record(id2) == nil {
		t.Errorf("re-upload: no record of a new conversion %s", id2)
	}

	// Data Lake: CreateFile then FlushWithClose (new eTag) start once; a
	// PutBlockList event with the FlushWithClose eTag is the same upload.
	lake := functest.BlobEvent{Container: "arr-input", Path: "models/lake/scan.e57", API: "CreateFile", ETag: "0x8DD0000000000A1", Size: 0}
	flush := lake
	flush.API, flush.ETag, flush.Size = "FlushWithClose", "0x8DD0000000000B2", 4096
	blockList := flush
	blockList.API = "PutBlockList"
	for _, ev := range []functest.BlobEvent{lake, flush, blockList, flush} {
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", ev.API, code)
		}
	}
	if creates() != 3 || e.record(ConversionID("arr-input", lake.Path, lake.ETag)) != nil {
		t.Errorf("Data Lake upload: %d creates (want 3 in all), CreateFile recorded: %v", creates(), e.record(ConversionID("arr-input", lake.Path, lake.ETag)) != nil)
	}

	// One message carrying an array: each event is handled on its own.
	okEv := functest.BlobEvent{Container: "arr-input", Path: "models/b/pump.fbx", ETag: "0x1", Size: 10}
	badEv := functest.BlobEvent{Container: "arr-input", Path: "models/b/pump.obj", ETag: "0x1", Size: 10}
	if code := e.deliver([]byte("[" + string(okEv.JSON(t)) + "," + string(badEv.JSON(t)) + "]")); code != http.StatusOK || creates() != 4 {
		t.Fatalf("array: HTTP %d, %d creates", code, creates())
	}
	if r := e.record(ConversionID("arr-input", badEv.Path, "0x1")); r == nil || r.Status != arrops.ConversionRejected || r.ErrorCode != RejectUnsupported {
		t.Errorf("array: rejected event recorded as %+v", r)
	}

	// An id ARR already has with other settings (an earlier attempt that
	// crashed before recording): followed, not failed.
	conflict := functest.BlobEvent{Container: "arr-input", Path: "models/c/tank.ply", ETag: "0x77", Size: 5}
	cid := ConversionID("arr-input", conflict.Path, "0x77")
	if _, err := e.arr.CreateConversion(e.ctx, cid, arr.ConversionSettings{
		InputLocation:  arr.InputLocation{StorageContainerURI: e.az.BlobEndpoint + "/arr-input", RelativeInputAssetPath: "other.ply", StorageContainerReadListSAS: "sv=x"},
		OutputLocation: arr.OutputLocation{StorageContainerURI: e.az.BlobEndpoint + "/arr-output", StorageContainerWriteSAS: "sv=x"}}, nil); err != nil {
		t.Fatal(err)
	}
	if code := e.deliver(conflict.JSON(t)); code != http.StatusOK {
		t.Fatalf("conflict: HTTP %d", code)
	}
	if r := e.record(cid); r == nil || r.Status != arrops.ConversionNotStarted {
		t.Errorf("conflict: record %+v, want the existing conversion followed", r)
	}

	// ARR unavailable: 500 to the host (retry), only the intent recorded
	// (Requested); the retry after recovery starts it.
	flaky := functest.BlobEvent{Container: "arr-input", Path: "models/d/valve.glb", ETag: "0x5", Size: 5}
	fid := ConversionID("arr-input", flaky.Path, "0x5")
	e.sim.SetFaults(arrsim.Faults{Error500Rate: 1})
	if code := e.deliver(flaky.JSON(t)); code != http.StatusInternalServerError || e.record(fid) == nil || e.record(fid).Status != arrops.ConversionRequested {
		t.Fatalf("ARR down: HTTP %d, record %v; want 500 and the Requested intent", code, e.record(fid))
	}
	e.sim.SetFaults(arrsim.Faults{})
	if code := e.deliver(flaky.JSON(t)); code != http.StatusOK || e.record(fid) == nil || e.record(fid).Status != arrops.ConversionNotStarted {
		t.Fatalf("retry: HTTP %d, record %v", code, e.record(fid))
	}

	assertNoSAS(t, e)
}

// TestRejections: every invalid upload is answered 2xx (no poison message),
// recorded as Rejected with its reason, and costs no ARR call.
func TestRejections(t *testing.T) {
	e := newEnv(t, map[string]string{"ARR_INPUT_PREFIX": "models/"}, arrsim.Options{})
	tests := []struct {
		name string
		ev   functest.BlobEvent
		code string
	}{
		{"unsupported format", functest.BlobEvent{Container: "arr-input", Path: "models/plant.obj", ETag: "1", Size: 9}, RejectUnsupported},
		{"ampersand", functest.BlobEvent{Container: "arr-input", Path: "models/R&D/plant.glb", ETag: "1", Size: 9}, RejectInvalidName},
		{"empty blob", functest.BlobEvent{Container: "arr-input", Path: "models/empty.fbx", ETag: "1", Size: 0}, RejectEmpty},
		{"other container", functest.BlobEvent{Container: "elsewhere", Path: "models/plant.glb", ETag: "1", Size: 9}, RejectOutsideInput},
		{"outside the prefix", functest.BlobEvent{Container: "arr-input", Path: "drafts/plant.glb", ETag: "1", Size: 9}, RejectOutsideInput},
		{"BlobDeleted", functest.BlobEvent{Container: "arr-input", Path: "models/plant.glb", EventType: "Microsoft.Storage.BlobDeleted", API: "DeleteBlob"}, RejectNotBlobCreated},
		{"CloudEvents, unsupported", functest.BlobEvent{Cloud: true, Container: "arr-input", Path: "models/notes.txt", ETag: "1", Size: 9}, RejectUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // a redelivery changes nothing
				if code := e.deliver(tc.ev.JSON(t)); code != http.StatusOK {
					t.Fatalf("HTTP %d, want 200 (a rejection is final, not retried)", code)
				}
			}
			in, _ := Validate(ptr(tc.ev.Decoded(t)), "arr-input", "models/")
			r := e.record(ConversionID(in.Container, in.Path, in.ETag))
			if r == nil || r.Status != arrops.ConversionRejected || r.ErrorCode != tc.code || r.ErrorMessage == "" || r.CompletedAt.IsZero() {
				t.Fatalf("record %+v, want Rejected %s with a reason", r, tc.code)
			}
		})
	}
	t.Run("undecodable body", func(t *testing.T) {
		for range 2 {
			if code := e.deliver([]byte("this is not an event")); code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
		}
		var found int
		for _, r := range e.records() {
			if r.ErrorCode == RejectUndecodableEvent {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%d UndecodableEvent records, want 1", found)
		}
	})
	t.Run("CreateFile is neither started nor recorded", func(t *testing.T) {
		n := len(e.records())
		ev := functest.BlobEvent{Container: "arr-input", Path: "models/x.glb", API: "CreateFile", ETag: "1"}
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK || len(e.records()) != n {
			t.Fatalf("HTTP %d, records %d -> %d", code, n, len(e.records()))
		}
	})
	if st := e.sim.Stats(); st.CreateConversion != 0 || st.TokenCalls != 0 {
		t.Errorf("rejections reached ARR: %+v", st)
	}
	if n := len(e.records()); n != len(tests)+1 {
		t.Errorf("%d records, want %d", n, len(tests)+1)
	}
	assertNoSAS(t, e)
}

func ptr[T any](v T) *T { return &v }

// TestARRFailures: ARR's refusal and a failed conversion are recorded with
// ARR's code, message (and MS-CV) and announced as ConversionFailed. In
// linked mode ARR gets no SAS at all.
func TestARRFailures(t *testing.T) {
	t.Run("linked storage not linked", func(t *testing.T) {
		e := newEnv(t, map[string]string{"ARR_STORAGE_ACCESS": "linked"}, arrsim.Options{})
		ev := functest.BlobEvent{Container: "arr-input", Path: "plant.glb", ETag: "0x1", Size: 80}
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
			t.Fatalf("HTTP %d, want 200: a 403 is permanent", code)
		}
		puts := e.tap.bodies()
		if len(puts) != 1 || strings.Contains(string(puts[0]), "Sas") || strings.Contains(string(puts[0]), "sig=") {
			t.Fatalf("linked mode sent %q", puts)
		}
		r := e.record(ConversionID("arr-input", "plant.glb", "0x1"))
		if r == nil || r.Status != arrops.ConversionFailed || r.ErrorCode != "DelegatedResourceAccessError" ||
			!strings.Contains(r.ErrorMessage, "HTTP 403") || !strings.Contains(r.ErrorMessage, "MS-CV ") || r.Announced != arrops.ConversionFailed {
			t.Fatalf("record %+v", r)
		}
		evs := e.events()
		if len(evs) != 1 || evs[0].Type != arrops.EventConversionFailed || evs[0].ErrorCode != "DelegatedResourceAccessError" {
			t.Fatalf("events %+v", evs)
		}
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK || len(e.tap.bodies()) != 1 || len(e.events()) != 0 {
			t.Errorf("a redelivery after the refusal called ARR or announced again")
		}
	})
	t.Run("input deleted before the conversion", func(t *testing.T) {
		e := newEnv(t, nil, arrsim.Options{ConversionAfter: 30 * time.Second})
		etag := e.upload("arr-input", "gone/plant.glb", functest.SampleGLB)
		ev := functest.BlobEvent{Container: "arr-input", Path: "gone/plant.glb", ETag: etag, Size: int64(len(functest.SampleGLB))}
		if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
			t.Fatalf("HTTP %d", code)
		}
		if _, err := e.blobs.DeleteBlob(e.ctx, "arr-input", "gone/plant.glb", nil); err != nil {
			t.Fatal(err)
		}
		e.sim.Advance(31 * time.Second)
		e.now = e.now.Add(40 * time.Second)
		e.sweep()
		r := e.record(ConversionID("arr-input", "gone/plant.glb", strings.Trim(etag, `"`)))
		if r == nil || r.Status != arrops.ConversionFailed || r.ErrorCode != "ConversionProcessFailed" || !strings.Contains(r.ErrorMessage, "Invalid input") ||
			r.OutputURI != "" || r.Duration() != 40*time.Second {
			t.Fatalf("record %+v", r)
		}
		evs := e.events()
		if len(evs) != 1 || evs[0].Type != arrops.EventConversionFailed || evs[0].ErrorCode != "ConversionProcessFailed" || evs[0].InputBlob != "arr-input/gone/plant.glb" {
			t.Fatalf("events %+v", evs)
		}
		assertNoSAS(t, e)
	})
}

// assertNoSAS scans everything the run left behind (logs of the function and
// the simulator, every record) for a SAS signature.
func assertNoSAS(t *testing.T, e *env) {
	t.Helper()
	var all strings.Builder
	all.WriteString(e.logs.String())
	for _, r := range e.records() {
		fmt.Fprintf(&all, "%+v\n", *r)
	}
	if strings.Contains(all.String(), "sig=") || strings.Contains(all.String(), "sig%3D") {
		t.Errorf("a SAS leaked into logs or records:\n%s", all.String())
	}
}

// TestARRErrorClasses: each class of arr.Classify does what the README's
// error contract says to a conversion. A credential or role failure is
// recorded as Failed (with the reason and a hint for the operator),
// announced, answered 2xx and logged at error level; a transient one (429,
// 500) fails the invocation so the host retries, with only the intent
// (Requested) recorded.
func TestARRErrorClasses(t *testing.T) {
	e := newEnv(t, nil, arrsim.Options{})
	tests := []struct {
		name     string
		faults   arrsim.Faults
		wantHTTP int
		wantCode string // the record's ErrorCode; "" for no record
	}{
		{"role missing (403)", arrsim.Faults{Forbidden403Next: 1}, http.StatusOK, "Forbidden"},
		{"throttled (429)", arrsim.Faults{Throttle429Next: 2, RetryAfterSeconds: 1}, http.StatusInternalServerError, ""},
		{"ARR down (500)", arrsim.Faults{Error500Next: 2}, http.StatusInternalServerError, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := functest.BlobEvent{Container: "arr-input", Path: fmt.Sprintf("classes/m%d.glb", i), ETag: "0x1", Size: 5}
			id := ConversionID("arr-input", ev.Path, "0x1")
			e.logs.Reset()
			e.sim.SetFaults(tt.faults)
			defer e.sim.SetFaults(arrsim.Faults{})
			if code := e.deliver(ev.JSON(t)); code != tt.wantHTTP {
				t.Fatalf("HTTP %d, want %d", code, tt.wantHTTP)
			}
			r := e.record(id)
			if tt.wantCode == "" {
				if r == nil || r.Status != arrops.ConversionRequested || r.ErrorCode != "" {
					t.Fatalf("a transient failure recorded %+v, want the Requested intent only", r)
				}
				return
			}
			if r == nil || r.Status != arrops.ConversionFailed || r.ErrorCode != tt.wantCode ||
				!strings.Contains(r.ErrorMessage, "MS-CV ") || !strings.Contains(r.ErrorMessage, functions.OperatorMustFix) {
				t.Fatalf("record %+v", r)
			}
			if evs := e.events(); len(evs) != 1 || evs[0].Type != arrops.EventConversionFailed {
				t.Errorf("events %+v", evs)
			}
			if !strings.Contains(strings.Join(e.replyLogs, "\n"), `"level":"ERROR"`) {
				t.Errorf("no error-level log for the operator: %q", e.replyLogs)
			}
		})
	}
}
