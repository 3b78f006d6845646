// Package modroot finds the repository root (the directory holding go.mod) and
// the read-only shared material beside it, so tests and tools can locate
// fixtures and node_modules no matter which package directory they run in.
package modroot

import (
	"errors"
	"os"
	"path/filepath"
)

// Dir returns the nearest ancestor of the working directory that contains go.mod.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("modroot: no go.mod above " + wd)
		}
	}
}

// Shared returns the path of the shared specification and fixtures folder, a
// sibling of the repository root (../shared), or ARROPS_SHARED when set.
func Shared() (string, error) {
	if p := os.Getenv("ARROPS_SHARED"); p != "" {
		return p, nil
	}
	root, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(root), "shared")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("modroot: shared folder not found at " + p + " (set ARROPS_SHARED)")
	}
	return p, nil
}
