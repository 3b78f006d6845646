package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrops/arrops/internal/infracheck"
	"github.com/arrops/arrops/internal/modroot"
)

const standin = "./cmd/package/testdata/standin"

func build(t *testing.T, args ...string) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	out := filepath.Join(t.TempDir(), "arrops.zip")
	var stdout bytes.Buffer
	args = append([]string{"-o", out}, args...)
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout); err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out, stdout.String()
}

func TestPackageLayout(t *testing.T) {
	t.Parallel()
	root, _ := modroot.Dir()
	out, stdout := build(t, "-handler-pkg", standin, "-list")
	problems, err := infracheck.CheckZip(out, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, want := range []string{"-rwxr-xr-x", " handler\n", " host.json\n", " commands/function.json\n", "1980-01-01 00:00"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("listing lacks %q:\n%s", want, stdout)
		}
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.Contains(f.Name, ".go") || strings.HasPrefix(f.Name, "functions/") {
			t.Errorf("unexpected entry %s", f.Name)
		}
	}
}

func TestPackageIsReproducible(t *testing.T) {
	t.Parallel()
	a, _ := build(t, "-handler-pkg", standin)
	b, _ := build(t, "-handler-pkg", standin)
	ab, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, bb) {
		t.Fatal("two builds of the same sources differ")
	}
}

func TestPackageDir(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	dir := filepath.Join(t.TempDir(), "pkg")
	build(t, "-handler-pkg", standin, "-dir", dir)
	st, err := os.Stat(filepath.Join(dir, "handler"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("handler: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "watch", "function.json")); err != nil {
		t.Fatal(err)
	}
	// A second run replaces its own earlier output ...
	build(t, "-handler-pkg", standin, "-dir", dir)
	// ... but never a folder it did not write.
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "keep.txt"), []byte("mine"), 0o644)
	root, _ := modroot.Dir()
	err = run(context.Background(), []string{"-o", filepath.Join(t.TempDir(), "x.zip"), "-handler-pkg", standin, "-dir", foreign, "-root", root},
		func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "keep.txt")); err != nil {
		t.Fatal("foreign folder was touched")
	}
}

func TestPackageErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  string
		build bool // runs go build
	}{
		{"handler does not build", []string{"-handler-pkg", "./cmd/package/testdata/nosuch"}, "go build ./cmd/package/testdata/nosuch", true},
		{"stray argument", []string{"extra"}, "unexpected arguments", false},
		{"root without functions", []string{"-root", "testdata"}, "host.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.build && testing.Short() {
				t.Skip("builds or starts processes: skipped under -short")
			}
			args := append([]string{"-o", filepath.Join(t.TempDir(), "x.zip")}, tc.args...)
			err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestPackageRealHandler packages ./handler itself and checks the zip only.
// TestPackagedHandlerStartsUnderDevhost does the same and also runs it; this
// one stays for ARROPS_TEST_PACKAGE_HANDLER=1 with -short (no Azurite).
func TestPackageRealHandler(t *testing.T) {
	if os.Getenv("ARROPS_TEST_PACKAGE_HANDLER") != "1" || !testing.Short() {
		t.Skip("covered by TestPackagedHandlerStartsUnderDevhost; runs with ARROPS_TEST_PACKAGE_HANDLER=1 and -short")
	}
	root, _ := modroot.Dir()
	if _, err := os.Stat(filepath.Join(root, "handler", "main.go")); err != nil {
		t.Skip("no ./handler yet")
	}
	out, _ := build(t)
	problems, err := infracheck.CheckZip(out, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
