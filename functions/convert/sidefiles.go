package convert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/arrops/arrops"
)

// checkSideFiles validates the model's settings file (or, without one, the
// deprecated folder-wide conversionSettings.json) and its material
// overrides file before ARR is asked: ARR reads them itself, and an invalid
// one fails the conversion late with little said. A *Rejection names the
// file, the field and the reason; other errors are transient.
// What the check finds (the settings file used, notes on deprecated use) is
// set on side: SettingsFile, and Note appended to.
func (h *handler) checkSideFiles(ctx context.Context, container, inputPath string, side *arrops.Conversion, log *slog.Logger) error {
	if h.Blobs == nil {
		return nil
	}
	blobs, err := h.Blobs.Get(ctx)
	if err != nil {
		return fmt.Errorf("open blob reader: %w", err)
	}
	settings, legacy, overrides := SideFiles(inputPath)
	pointCloud := arrops.IsPointCloud(inputPath)
	// The three reads run at once: an upload without side files (the usual
	// case) pays one storage round trip, not three.
	names := []string{settings, legacy, overrides}
	if pointCloud {
		names = names[:2] // ARR applies no materials to point clouds
	}
	type result struct {
		data  []byte
		found bool
		err   error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			b, err := blobs.ReadBlob(ctx, container, name, maxSideFile)
			switch arrops.ErrorCode(err) {
			case "":
				results[i] = result{data: b, found: true}
			case arrops.ENOTFOUND:
			case arrops.EINVALID:
				results[i].err = &Rejection{RejectInvalidSettings, fmt.Sprintf("%s: %s", name, arrops.ErrorMessage(err))}
			default:
				results[i].err = err
			}
		})
	}
	wg.Wait()
	read := func(i int) ([]byte, bool, error) { return results[i].data, results[i].found, results[i].err }
	data, found, err := read(0)
	if err != nil {
		return err
	}
	name := settings
	if !found {
		if data, found, err = read(1); err != nil {
			return err
		}
		if found {
			name = legacy
			side.Note = joinNote(side.Note, fmt.Sprintf("settings from the deprecated %s: rename it to %s", legacy, settings[strings.LastIndex(settings, "/")+1:]))
		}
	}
	if found {
		notes, err := ValidateSettings(data, pointCloud)
		var se *SettingsError
		if errors.As(err, &se) {
			return &Rejection{RejectInvalidSettings, fmt.Sprintf("%s: %s", name, se.Error())}
		}
		for _, n := range notes {
			side.Note = joinNote(side.Note, n)
		}
		side.SettingsFile = name
		log.Info("conversion settings validated", "settingsFile", name)
	}
	if pointCloud {
		return nil
	}
	data, found, err = read(2)
	if err != nil || !found {
		return err
	}
	if err := ValidateOverrides(data); err != nil {
		return &Rejection{RejectInvalidSettings, fmt.Sprintf("%s: %s", overrides, err.Error())}
	}
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
