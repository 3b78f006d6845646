package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func sampleSessions() []*arrops.Session {
	return []*arrops.Session{
		{ID: "old-stopped", Size: arrops.SizeStandard, Status: arrops.SessionStopped, Origin: arrops.OriginCommand,
			RequestedBy: "viewer-app", Tags: map[string]string{"project": "plant-7"}, MaxLeaseMinutes: 60,
			CreatedAt: t0.Add(-26 * time.Hour), ReadyAt: t0.Add(-26*time.Hour + 3*time.Minute), StoppedAt: t0.Add(-25 * time.Hour),
			StopReason: "stopped by command from arrctl:ops"},
		{ID: "running", Size: arrops.SizePremium, Status: arrops.SessionReady, Origin: arrops.OriginExternal,
			RequestedBy: "=cmd|' /C calc'!A0", MaxLeaseMinutes: 120, CreatedAt: t0, ReadyAt: t0.Add(2 * time.Minute),
			Hostname: "running.eastus.mixedreality.azure.com", HandshakePort: 50051, InspectorPort: 8080},
		{ID: "starting", Size: arrops.SizeStandard, Status: arrops.SessionStarting, RequestedBy: "evil\x1b[31mred\tcol",
			CreatedAt: t0.Add(30 * time.Minute)},
		{ID: "failed", Size: arrops.SizeStandard, Status: arrops.SessionError, RequestedBy: "viewer-app",
			CreatedAt: t0.Add(-time.Hour), StoppedAt: t0.Add(-50 * time.Minute), ErrorCode: "InternalServerError",
			ErrorMessage: strings.Repeat("the rendering server could not be provisioned ", 3)},
	}
}

func sampleConversions() []*arrops.Conversion {
	return []*arrops.Conversion{
		{ID: "conv-ok", InputContainer: "arr-input", InputPath: "plant/pump.fbx", InputSize: 1 << 20, OutputContainer: "arr-output",
			OutputPath: "plant/pump.arrAsset", OutputURI: "https://acct.blob.core.windows.net/arr-output/plant/pump.arrAsset",
			Status: arrops.ConversionSucceeded, CreatedAt: t0, CompletedAt: t0.Add(95 * time.Second),
			SettingsFile: "plant/pump.ConversionSettings.json", RequestedBy: "pipeline",
			Details: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings, WarningsTotal: 2,
				Warnings: []string{"4004 Missing texture (material=steel, texture=steel.png)", "4004 Missing texture (material=rust, texture=rust.png)"},
				Statistics: &arrops.ConversionStatistics{Vertices: 245673, Triangles: 308306, Materials: 149,
					BoundingBox: &arrops.BoundingBox{Min: [3]float64{-0.4352, -0.6178, -0.7964}, Max: [3]float64{0.4352, 0.6178, 0.7964}}},
				Settings: json.RawMessage(`{"scaling":0.01,"recenterToOrigin":true}`)}},
		{ID: "conv-bad", InputContainer: "arr-input", InputPath: "plant/broken.glb", Status: arrops.ConversionFailed,
			ErrorCode: "InvalidInput", ErrorMessage: "the file is not a valid glTF binary", CreatedAt: t0.Add(time.Hour),
			CompletedAt: t0.Add(time.Hour + 20*time.Second)},
		{ID: "conv-rejected", InputContainer: "arr-input", InputPath: "plant/scene.gltf", Status: arrops.ConversionRejected,
			Note: ".gltf needs its side files next to it", CreatedAt: t0.Add(2 * time.Hour)},
		{ID: "conv-running", InputContainer: "arr-input", InputPath: "big.e57", Status: arrops.ConversionRunning, CreatedAt: t0.Add(3 * time.Hour)},
	}
}

func TestSessionFormats(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, f := range []string{formatTable, formatJSON, formatCSV} {
		t.Run(f, func(t *testing.T) {
			list := sampleSessions()
			sortSessions(list)
			var b bytes.Buffer
			if err := writeSessions(&b, f, list, now); err != nil {
				t.Fatal(err)
			}
			golden(t, "sessions."+f, b.Bytes())
			checkMachineReadable(t, f, b.Bytes(), len(list))
		})
	}
	var b bytes.Buffer
	writeSessions(&b, formatTable, nil, now)
	if !strings.Contains(b.String(), "(no sessions)") {
		t.Errorf("empty table: %q", b.String())
	}
}

func TestConversionFormats(t *testing.T) {
	for _, f := range []string{formatTable, formatJSON, formatCSV} {
		t.Run(f, func(t *testing.T) {
			list := sampleConversions()
			sortConversions(list)
			var b bytes.Buffer
			if err := writeConversions(&b, f, list); err != nil {
				t.Fatal(err)
			}
			golden(t, "conversions."+f, b.Bytes())
			checkMachineReadable(t, f, b.Bytes(), len(list))
		})
	}
}

// checkMachineReadable parses json and csv output back and, for tables,
// checks the terminal-safety rules golden files alone would not explain.
func checkMachineReadable(t *testing.T, format string, out []byte, n int) {
	t.Helper()
	switch format {
	case formatJSON:
		var rows []map[string]any
		if err := json.Unmarshal(out, &rows); err != nil || len(rows) != n {
			t.Fatalf("json: %d rows, err %v", len(rows), err)
		}
		for _, r := range rows {
			for _, k := range []string{"ETag", "etag", "ReplyTo", "AnnounceClaimedAt"} {
				if _, ok := r[k]; ok {
					t.Errorf("json exposes record bookkeeping %q", k)
				}
			}
		}
	case formatCSV:
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil || len(recs) != n+1 {
			t.Fatalf("csv: %d records, err %v", len(recs), err)
		}
		for _, rec := range recs {
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
					t.Errorf("csv cell %q can run as a formula", c)
				}
			}
		}
	case formatTable:
		if bytes.ContainsAny(out, "\x1b\t") {
			t.Errorf("table carries control characters: %q", out)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != n+1 {
			t.Fatalf("table has %d lines, want %d", len(lines), n+1)
		}
		// Aligned: every row's second column starts where the header's does.
		col := strings.Index(lines[0], "STATUS")
		for _, l := range lines[1:] {
			if col <= 0 || len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
				t.Errorf("row %q is not aligned with the header at %d", l, col)
			}
		}
	}
}

func TestNewestFirst(t *testing.T) {
	list := sampleSessions()
	sortSessions(list)
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, ","); got != "starting,running,failed,old-stopped" {
		t.Fatalf("order %s", got)
	}
}

func TestWatchLines(t *testing.T) {
	s := &arrops.Session{ID: "w", Status: arrops.SessionStarting, CreatedAt: t0}
	var b bytes.Buffer
	w := &watcher{out: &b}
	w.observe(s, t0.Add(time.Minute))
	w.observe(s, t0.Add(2*time.Minute)) // unchanged: nothing
	s.Status, s.ReadyAt, s.Hostname = arrops.SessionReady, t0.Add(3*time.Minute), "w.example"
	w.observe(s, t0.Add(4*time.Minute))
	s.Status, s.StoppedAt, s.StopReason = arrops.SessionStopped, t0.Add(9*time.Minute), "max age 5 minutes"
	w.observe(s, t0.Add(10*time.Minute))
	golden(t, "watch.txt", b.Bytes())
}

func TestPrintReady(t *testing.T) {
	var b bytes.Buffer
	printReady(&b, &arrops.Event{SessionID: "s1", Status: "Ready", Hostname: "s1.eastus.example", HandshakePort: 50051,
		InspectorPort: 8080, Size: arrops.SizeStandard, MaxLeaseMinutes: 60})
	golden(t, "ready.txt", b.Bytes())
}
