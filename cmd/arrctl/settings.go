package main

import (
	"os"
	"path/filepath"
)

// settingsName is the file arrctl, make run and func start read.
const settingsName = "local.settings.json"

// findSettings returns the local.settings.json that applies in dir: the
// first one found in dir or a folder above it, up to the checkout's root
// (the folder with go.mod), so arrctl works from any folder of the
// checkout. Without one it returns dir's (absent) file, which reads as no
// values.
func findSettings(dir string) string {
	for d := dir; ; {
		p := filepath.Join(d, settingsName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			break // the checkout's root: nothing above it is ours
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return filepath.Join(dir, settingsName)
}
