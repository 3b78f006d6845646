package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// WithLocalSettings returns a getenv that reads the environment first and
// then the Values of a local.settings.json file (the Functions Core Tools
// format), so operator tools run with the same settings as the handler. A
// missing file is not an error.
func WithLocalSettings(path string, getenv func(string) string) (func(string) string, error) {
	values, err := LocalSettingsValues(path)
	if err != nil {
		return nil, err
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return values[k]
	}, nil
}

// LocalSettingsValues reads the Values of a local.settings.json file (the
// Functions Core Tools format). A missing file gives no values and no error.
func LocalSettingsValues(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var f struct {
		IsEncrypted bool              `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.IsEncrypted {
		return nil, fmt.Errorf("%s is encrypted (func settings decrypt)", path)
	}
	return f.Values, nil
}
