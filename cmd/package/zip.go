package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"

	"github.com/arrops/arrops/internal/infracheck"
)

// HandlerName is the executable host.json's defaultExecutablePath names.
const HandlerName = "handler"

// ModTime is the fixed modification time of every entry (the zip epoch).
var ModTime = infracheck.ZipEpoch

// markerName marks a -dir folder as written by this program.
const markerName = ".arrops-package"

type entry struct {
	Name string      // slash-separated name in the archive
	Path string      // file on disk
	Mode fs.FileMode // permission bits
}

// collect lists host.json and functions/<name>/function.json under root.
func collect(root string) ([]entry, error) {
	if _, err := os.Stat(filepath.Join(root, "host.json")); err != nil {
		return nil, fmt.Errorf("host.json: %w", err)
	}
	files := []entry{{Name: "host.json", Path: filepath.Join(root, "host.json"), Mode: 0o644}}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	n := 0
	for _, d := range dirs {
		p := filepath.Join(root, "functions", d.Name(), "function.json")
		if !d.IsDir() {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue // a Go helper package without bindings
		}
		files = append(files, entry{Name: d.Name() + "/function.json", Path: p, Mode: 0o644})
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no functions/*/function.json under %s", root)
	}
	return files, nil
}

func sortEntries(files []entry) {
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
}

// buildHandler cross-builds pkg for linux/amd64 into dir and returns the binary's path.
func buildHandler(ctx context.Context, root, pkg, dir string, getenv func(string) string) (string, error) {
	goBin := getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	out := filepath.Join(dir, HandlerName)
	// -trimpath and -buildvcs=false keep paths and the checkout state out of
	// the binary, so the zip depends on the sources only.
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, buf.Bytes())
	}
	return out, nil
}

// writeZip writes files, already sorted, as a reproducible archive.
func writeZip(w io.Writer, files []entry) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: ModTime}
		h.SetMode(f.Mode)
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.Name, err)
		}
		src, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		_, err = io.Copy(dst, src)
		src.Close()
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.Name, err)
		}
	}
	return zw.Close()
}

// writeZipFile writes the archive next to path and renames it into place, so
// an interrupted run never leaves half a zip for a deployment to pick up.
func writeZipFile(path string, files []entry) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".arrops-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := writeZip(tmp, files); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeDir writes files unpacked into dir, replacing an earlier package there.
func writeDir(dir string, files []entry) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(dir, markerName)); err != nil {
			return fmt.Errorf("%s %w", dir, errNotPackage)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), nil, 0o644); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, f.Mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

func printListing(w io.Writer, zipPath string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	fmt.Fprintf(w, "%s\n", zipPath)
	for _, f := range zr.File {
		fmt.Fprintf(w, "%v %10d %s %s\n", f.Mode(), f.UncompressedSize64, f.Modified.UTC().Format("2006-01-02 15:04"), f.Name)
	}
	return nil
}

func abs(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, filepath.FromSlash(path.Clean(p)))
}
