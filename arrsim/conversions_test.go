package arrsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

func convBody(container, rel, readSAS, writeSAS, outPrefix string) string {
	in := map[string]any{"storageContainerUri": container, "blobPrefix": "Input", "relativeInputAssetPath": rel}
	out := map[string]any{"storageContainerUri": container, "blobPrefix": outPrefix}
	if readSAS != "" {
		in["storageContainerReadListSas"] = readSAS
	}
	if writeSAS != "" {
		out["storageContainerWriteSas"] = writeSAS
	}
	b, _ := json.Marshal(map[string]any{"settings": map[string]any{"inputLocation": in, "outputLocation": out}})
	return string(b)
}

// finish advances the clock past ConversionAfter and polls once.
func finish(t *testing.T, h *harness, id string) map[string]any {
	t.Helper()
	h.sim.Advance(h.sim.opts.ConversionAfter)
	r := h.do("GET", "/conversions/"+id, "")
	if r.status != 200 {
		t.Fatalf("get conversion: %d %s", r.status, r.body)
	}
	return r.json(t)
}

func TestConversionsAgainstAzurite(t *testing.T) {
	st := newStorage(t)
	uri := st.container("convert")
	st.upload("convert", "Input/model.glb", sampleGLB)
	st.upload("convert", "Input/notes.txt", []byte("hello"))
	st.upload("convert", "Input/empty.fbx", nil)
	good := st.sas("convert", rwlc)
	readOnly := st.sas("convert", sas.ContainerPermissions{Read: true, List: true})

	tests := []struct {
		name            string
		rel, rsas, wsas string
		status, code    string
	}{
		{"success, SAS with '?'", "model.glb", "?" + good, "?" + good, convSucceeded, ""},
		{"success, SAS without '?'", "model.glb", good, good, convSucceeded, ""},
		{"missing input", "boxWhichDoesNotExist.fbx", good, good, convFailed, "ConversionProcessFailed"},
		{"unsupported extension", "notes.txt", good, good, convFailed, "ConversionProcessFailed"},
		{"empty input", "empty.fbx", good, good, convFailed, "ConversionProcessFailed"},
		{"write SAS without write permission", "model.glb", good, readOnly, convFailed, "OutputContainerAccessDenied"},
		{"forged read SAS", "model.glb", strings.Replace(good, "sig=", "sig=AAAA", 1), good, convFailed, "InputContainerAccessDenied"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			id := fmt.Sprintf("conv-%d", i)
			prefix := "out" + fmt.Sprint(i)
			r := h.do("PUT", "/conversions/"+id, convBody(uri, tc.rel, tc.rsas, tc.wsas, prefix))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			m := r.json(t)
			if m["status"] != convNotStarted || m["error"] != nil || strings.Contains(string(r.body), "sig=") {
				t.Fatalf("create body %s", r.body)
			}
			if _, ok := m["error"]; !ok {
				t.Errorf("error member missing: %s", r.body)
			}
			settings := m["settings"].(map[string]any)
			if settings["inputLocation"].(map[string]any)["blobPrefix"] != "Input/" {
				t.Errorf("input prefix not normalised: %s", r.body)
			}
			base := strings.TrimSuffix(tc.rel, tc.rel[strings.LastIndex(tc.rel, "."):])
			if settings["outputLocation"].(map[string]any)["outputAssetFilename"] != base+".arrAsset" {
				t.Errorf("default output name: %s", r.body)
			}
			h.sim.Advance(h.sim.opts.ConversionAfter / 2)
			if m := h.do("GET", "/conversions/"+id, "").json(t); m["status"] != convRunning {
				t.Errorf("midway status %v", m["status"])
			}
			m = finish(t, h, id)
			if m["status"] != tc.status {
				t.Fatalf("status %v, want %s: %v", m["status"], tc.status, m)
			}
			out := prefix + "/" + base + ".arrAsset"
			if tc.status == convFailed {
				if e := m["error"].(map[string]any); e["code"] != tc.code {
					t.Errorf("error %v, want %s", e, tc.code)
				}
				if _, ok := m["output"]; ok {
					t.Errorf("output on failure")
				}
			} else {
				if got := m["output"].(map[string]any)["outputAssetUri"]; got != uri+"/"+out {
					t.Errorf("outputAssetUri %v, want %s", got, uri+"/"+out)
				}
				asset, err := st.download("convert", out)
				if err != nil {
					t.Fatalf("output blob: %v", err)
				}
				sum := sha256.Sum256(sampleGLB)
				if !bytes.Contains(asset, []byte("sha256: "+hex.EncodeToString(sum[:]))) {
					t.Errorf("asset content %q", asset)
				}
			}
			if strings.Contains(logs.String(), "sig=") {
				t.Errorf("a SAS reached the log")
			}
		})
	}
}

func TestConversionNoSASNotLinked(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.do("PUT", "/conversions/nosas", convBody("https://example.invalid/c", "box.fbx", "", "", "out"))
	if r.status != 403 || r.json(t)["error"].(map[string]any)["code"] != "DelegatedResourceAccessError" {
		t.Fatalf("no SAS: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/conversions/nosas", ""); r.status != 404 {
		t.Errorf("a refused conversion exists: %d", r.status)
	}
}

// TestLinkedStorage: no SAS in the request; the simulator's own access
// (LinkedStorageSAS) reads and writes the blobs.
func TestLinkedStorage(t *testing.T) {
	st := newStorage(t)
	uri := st.container("linked")
	st.upload("linked", "Input/box.fbx", sampleGLB)
	h := newHarness(t, Options{LinkedStorage: true, LinkedStorageSAS: func(string, bool) (string, error) {
		return st.sas("linked", rwlc), nil
	}})
	if r := h.do("PUT", "/conversions/l1", convBody(uri, "box.fbx", "", "", "")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	m := finish(t, h, "l1")
	if m["status"] != convSucceeded || m["output"].(map[string]any)["outputAssetUri"] != uri+"/box.arrAsset" {
		t.Fatalf("linked conversion %v", m)
	}
	if m["settings"].(map[string]any)["outputLocation"].(map[string]any)["blobPrefix"] != "" {
		t.Errorf("empty prefix must stay empty: %v", m["settings"])
	}
}

// TestConversionWorker: nobody polls, yet the output blob appears.
func TestConversionWorker(t *testing.T) {
	st := newStorage(t)
	uri := st.container("worker")
	st.upload("worker", "Input/w.glb", sampleGLB)
	s := st.sas("worker", rwlc)
	h := newHarness(t, Options{Clock: time.Now, ClockSpeed: 1000, ConversionAfter: 20 * time.Second})
	h.do("PUT", "/conversions/w", convBody(uri, "w.glb", s, s, "o"))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// The run is counted once its output files are written, just
		// after the asset appears.
		if _, err := st.download("worker", "o/w.arrAsset"); err == nil && h.sim.Stats().ConversionsRun == 1 {
			if got := h.sim.Stats(); got.GetConversion != 0 {
				t.Errorf("stats %+v", got)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("worker never wrote the output blob")
}

func TestConversionIdempotencyAndList(t *testing.T) {
	h := newHarness(t, Options{PageSize: 2})
	const sasv = "sv=2021-12-02&sr=c&sp=rwl&sig=placeholder"
	body := func(rel string) string { return convBody("https://example.invalid/c", rel, sasv, sasv, "out") }
	for i := range 5 {
		if r := h.do("PUT", fmt.Sprintf("/conversions/c%d", i), body("box.fbx")); r.status != 201 {
			t.Fatalf("create %d: %d", i, r.status)
		}
	}
	if r := h.do("PUT", "/conversions/c0", body("box.fbx")); r.status != 200 {
		t.Errorf("retry with same settings: %d", r.status)
	}
	// The SAS is not part of the settings: a retry with a fresh SAS is the same.
	if r := h.do("PUT", "/conversions/c0", convBody("https://example.invalid/c", "box.fbx", "?"+sasv+"2", sasv, "out/")); r.status != 200 {
		t.Errorf("retry with another SAS and normalised prefix: %d %s", r.status, r.body)
	}
	if r := h.do("PUT", "/conversions/c0", body("other.fbx")); r.status != 409 {
		t.Errorf("different settings: %d", r.status)
	}
	if r := h.do("PUT", "/conversions/bad.id", body("box.fbx")); r.status != 400 {
		t.Errorf("bad id: %d", r.status)
	}
	if r := h.do("GET", "/conversions/none", ""); r.status != 404 || len(r.body) != 0 {
		t.Errorf("unknown: %d %s", r.status, r.body)
	}
	url := h.ts.URL + "/accounts/" + testAccount + "/conversions?api-version=2021-01-01"
	var ids []string
	for url != "" {
		r := h.doURL("GET", url, "", h.token)
		if r.header.Get("Cache-Control") != "" {
			t.Errorf("list conversions has Cache-Control")
		}
		m := r.json(t)
		next, ok := m["@nextLink"]
		if !ok {
			t.Fatalf("@nextLink member missing: %s", r.body)
		}
		for _, c := range m["conversions"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		url, _ = next.(string)
	}
	if strings.Join(ids, ",") != "c0,c1,c2,c3,c4" {
		t.Errorf("listed %v", ids)
	}
}

func TestConversionCreationTime(t *testing.T) {
	h := newHarness(t, Options{})
	const sasv = "sig=x"
	m := h.do("PUT", "/conversions/t", convBody("https://example.invalid/c", "a.fbx", sasv, sasv, "")).json(t)
	if m["creationTime"] != "2026-01-02T03:04:05.1234567Z" {
		t.Errorf("creationTime %v", m["creationTime"])
	}
}
