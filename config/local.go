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
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
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
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return f.Values[k]
	}, nil
}
