package infracheck

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// ZipEpoch is the modification time every entry of a reproducible
// deployment zip carries.
var ZipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckZip checks a deployment zip against the tree at root: exactly
// handler (a static linux/amd64 ELF, mode 0755), host.json and
// <function>/function.json for each function folder (byte-identical to the
// tree, mode 0644), sorted, deflated and dated ZipEpoch.
func CheckZip(zipPath, root string) ([]Problem, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("infracheck: %w", err)
	}
	defer zr.Close()
	var ps []Problem
	add := func(subject, format string, args ...any) {
		ps = append(ps, Problem{"zip", subject, fmt.Sprintf(format, args...)})
	}
	want := map[string]string{"handler": "", "host.json": filepath.Join(root, "host.json")}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("infracheck: %w", err)
	}
	for _, d := range dirs {
		p := filepath.Join(root, "functions", d.Name(), "function.json")
		if _, err := os.Stat(p); d.IsDir() && err == nil {
			want[d.Name()+"/function.json"] = p
		}
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		src, ok := want[f.Name]
		if !ok {
			add(f.Name, "is not part of a deployment (only handler, host.json and */function.json)")
			continue
		}
		delete(want, f.Name)
		if f.Method != zip.Deflate {
			add(f.Name, "is stored with method %d, want deflate", f.Method)
		}
		if !f.Modified.Equal(ZipEpoch) {
			add(f.Name, "is dated %s, want %s", f.Modified.UTC().Format(time.RFC3339), ZipEpoch.Format(time.RFC3339))
		}
		body, err := readEntry(f)
		if err != nil {
			add(f.Name, "cannot be read: %v", err)
			continue
		}
		if f.Name == "handler" {
			if f.Mode().Perm() != 0o755 || !f.Mode().IsRegular() {
				add(f.Name, "has mode %v, want -rwxr-xr-x", f.Mode())
			}
			if err := checkELF(body); err != nil {
				add(f.Name, "%v", err)
			}
			continue
		}
		if f.Mode().Perm() != 0o644 || !f.Mode().IsRegular() {
			add(f.Name, "has mode %v, want -rw-r--r--", f.Mode())
		}
		if disk, err := os.ReadFile(src); err != nil || !bytes.Equal(disk, body) {
			add(f.Name, "differs from %s", src)
		}
	}
	if !sort.StringsAreSorted(names) {
		add("order", "entries are not sorted: %v", names)
	}
	missing := make([]string, 0, len(want))
	for n := range want {
		missing = append(missing, n)
	}
	slices.Sort(missing)
	for _, n := range missing {
		add(n, "is missing")
	}
	return ps, nil
}

func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// checkELF accepts a statically linked linux/amd64 executable (CGO_ENABLED=0:
// no interpreter, so it runs on the Functions host image as is).
func checkELF(b []byte) error {
	if !bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
		return fmt.Errorf("is not an ELF executable (a linux/amd64 Go binary)")
	}
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("is not an ELF executable: %v", err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_X86_64 || ef.Class != elf.ELFCLASS64 {
		return fmt.Errorf("is built for %v, want x86-64 (GOARCH=amd64)", ef.Machine)
	}
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return fmt.Errorf("is an ELF %v, not an executable", ef.Type)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("is dynamically linked (build with CGO_ENABLED=0)")
		}
	}
	return nil
}
