package arr

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ParseTime parses an ARR timestamp. The service wrote RFC 3339 with a Z suffix
// (conversions, "2022-09-14T01:03:39.68713Z") or a +00:00 offset (sessions,
// "2021-03-22T17:11:23.214787+00:00"), with 0 to 7 fraction digits. A timestamp
// without any offset is read as UTC, which is what the service meant by it.
// The result is always in UTC.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("arr: empty timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Tolerate a missing offset, e.g. "2021-01-01T11:11:11.111".
		if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("arr: invalid timestamp %q: %w", truncate(s, 64), err)
	}
	return t.UTC(), nil
}

// jsonTime decodes a JSON string timestamp with ParseTime; JSON null leaves it unset.
type jsonTime struct {
	t   time.Time
	set bool
}

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("arr: timestamp is not a JSON string: %s", truncate(string(b), 64))
	}
	t, err := ParseTime(s)
	if err != nil {
		return err
	}
	j.t, j.set = t, true
	return nil
}

func (j *jsonTime) ptr() *time.Time {
	if j == nil || !j.set {
		return nil
	}
	t := j.t
	return &t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
