package stack

import (
	"slices"
	"strings"

	"github.com/arrops/arrops/config"
)

// MergeSettings is how make run layers its settings: the stack's defaults
// (Start) < the Values of local.settings.json (file) < the environment. From
// the environment only settings arrops reads (config.Settings) and names the
// file sets are taken, so an unrelated variable (PATH, HOME) never becomes
// an app setting. It returns the overrides for Options.Settings and the
// names the environment supplied.
func MergeSettings(file map[string]string, environ []string) (map[string]string, []string) {
	out := map[string]string{}
	for k, v := range file {
		out[k] = v
	}
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Name] = true
	}
	var fromEnv []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		if _, inFile := file[k]; known[k] || inFile {
			out[k] = v
			fromEnv = append(fromEnv, k)
		}
	}
	slices.Sort(fromEnv)
	return out, fromEnv
}
