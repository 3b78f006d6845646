package infracheck

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type zipEntry struct {
	name   string
	body   []byte
	mode   fs.FileMode
	method uint16
	mod    time.Time
}

// goodEntries is the layout cmd/package writes, with a stand-in handler
// cross-built for linux/amd64.
func goodEntries(t *testing.T) []zipEntry {
	t.Helper()
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "handler")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "./cmd/package/testdata/standin")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stand-in: %v\n%s", err, out)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	es := []zipEntry{{name: "handler", body: read(bin), mode: 0o755}, {name: "host.json", body: read(filepath.Join(root, "host.json")), mode: 0o644}}
	for fn := range Functions {
		es = append(es, zipEntry{name: fn + "/function.json", body: read(filepath.Join(root, "functions", fn, "function.json")), mode: 0o644})
	}
	slices.SortFunc(es, func(a, b zipEntry) int { return strings.Compare(a.name, b.name) })
	for i := range es {
		es[i].method = zip.Deflate
		es[i].mod = ZipEpoch
	}
	return es
}

func writeTestZip(t *testing.T, es []zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: e.method, Modified: e.mod}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckZip(t *testing.T) {
	good := goodEntries(t)
	find := func(es []zipEntry, name string) int {
		for i, e := range es {
			if e.name == name {
				return i
			}
		}
		t.Fatalf("no entry %s", name)
		return -1
	}
	// A small dynamically linked amd64 executable from the system.
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := os.ReadFile(truePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func([]zipEntry) []zipEntry
		want   []string
	}{
		{"good", func(es []zipEntry) []zipEntry { return es }, nil},
		{"handler not executable", func(es []zipEntry) []zipEntry { es[find(es, "handler")].mode = 0o644; return es },
			[]string{"zip: handler: has mode -rw-r--r--, want -rwxr-xr-x"}},
		{"function.json missing", func(es []zipEntry) []zipEntry { i := find(es, "watch/function.json"); return slices.Delete(es, i, i+1) },
			[]string{"zip: watch/function.json: is missing"}},
		{"source file included", func(es []zipEntry) []zipEntry {
			return append(es, zipEntry{name: "watch/watch.go", body: []byte("package watch"), mode: 0o644, method: zip.Deflate, mod: ZipEpoch})
		}, []string{"zip: watch/watch.go: is not part of a deployment (only handler, host.json and */function.json)"}},
		{"stored, not deflated", func(es []zipEntry) []zipEntry { es[find(es, "host.json")].method = zip.Store; return es },
			[]string{"zip: host.json: is stored with method 0, want deflate"}},
		{"time stamp", func(es []zipEntry) []zipEntry {
			es[find(es, "host.json")].mod = time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
			return es
		}, []string{"zip: host.json: is dated 2026-01-02T03:04:06Z, want 1980-01-01T00:00:00Z"}},
		{"stale host.json", func(es []zipEntry) []zipEntry { es[find(es, "host.json")].body = []byte("{}"); return es },
			[]string{"zip: host.json: differs from " + filepath.Join(repoRoot(t), "host.json")}},
		{"unsorted", func(es []zipEntry) []zipEntry { es[0], es[1] = es[1], es[0]; return es },
			[]string{"zip: order: entries are not sorted: [" + good[1].name + " " + good[0].name + " " + func() string {
				var s []string
				for _, e := range good[2:] {
					s = append(s, e.name)
				}
				return strings.Join(s, " ")
			}() + "]"}},
		{"dynamically linked handler", func(es []zipEntry) []zipEntry { es[find(es, "handler")].body = dynamic; return es },
			[]string{"zip: handler: is dynamically linked (build with CGO_ENABLED=0)"}},
		{"not a binary", func(es []zipEntry) []zipEntry { es[find(es, "handler")].body = []byte("#!/bin/sh\n"); return es },
			[]string{"zip: handler: is not an ELF executable (a linux/amd64 Go binary)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			es := tc.mutate(slices.Clone(good))
			ps, err := CheckZip(writeTestZip(t, es), repoRoot(t))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}
