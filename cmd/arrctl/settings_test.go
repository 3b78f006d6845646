package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFindSettings(t *testing.T) {
	root := t.TempDir()
	checkout := filepath.Join(root, "checkout")
	deep := filepath.Join(checkout, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	touch := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch(filepath.Join(checkout, "go.mod"))
	// Above the checkout: never used.
	touch(filepath.Join(root, settingsName))
	if got, want := findSettings(deep), filepath.Join(deep, settingsName); got != want {
		t.Errorf("no file in the checkout: %s, want %s", got, want)
	}
	touch(filepath.Join(checkout, settingsName))
	if got, want := findSettings(deep), filepath.Join(checkout, settingsName); got != want {
		t.Errorf("from a subfolder: %s, want %s", got, want)
	}
	touch(filepath.Join(checkout, "a", settingsName))
	if got, want := findSettings(deep), filepath.Join(checkout, "a", settingsName); got != want {
		t.Errorf("the nearest wins: %s, want %s", got, want)
	}
}

// writeSettingsFile writes values as make run writes local.settings.json.
func writeSettingsFile(t *testing.T, path string, values map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"IsEncrypted": false, "Values": values})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
