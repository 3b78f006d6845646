package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrops/arrops/internal/modroot"
)

// TestREADMEDocumentsEverySetting keeps the README's settings table in step
// with Settings: every setting has a row, and every row names a setting.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	root, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the Settings section: the Deploy section has its own table of azd
	// environment values.
	_, section, _ := strings.Cut(string(b), "\n## Settings\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.Index(name, "`"); i > 0 {
				rows[name[:i]] = true
			}
		}
	}
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Name] = true
		if !rows[s.Name] {
			t.Errorf("README.md has no settings row for %s", s.Name)
		}
	}
	for name := range rows {
		if strings.ToUpper(name) == name && strings.Contains(name, "_") && !known[name] {
			t.Errorf("README.md documents %s, which config.Settings does not list", name)
		}
	}
}
