package devhost

import (
	"encoding/json"
	"strings"
)

// Prefixes of the handler's output lines in devhost's output.
const (
	stdoutPrefix = "[handler] "
	stderrPrefix = "[handler:stderr] "
)

// handlerLine renders one line the handler logged, on stdout or in the Logs
// of a 2xx reply, as devhost prints it: "[handler] ", the line's level when
// the line is a JSON object with a "level" (arrops logs such lines), then the
// line unchanged. Each line is printed once, where it arrived.
//
// The Functions host logs both kinds at Information (stdout through its
// console log, Logs through the invocation's logger; it has no way to take a
// level from either), so the level in front is what keeps a warning or an
// error visible as one in `make run`.
func handlerLine(line string) string {
	if level, ok := lineLevel(line); ok {
		return stdoutPrefix + level + " " + line
	}
	return stdoutPrefix + line
}

// lineLevel returns the "level" of a JSON object line, when it has a short
// one-word level (slog writes DEBUG, INFO, WARN, ERROR, or e.g. INFO+2).
func lineLevel(line string) (string, bool) {
	if !strings.HasPrefix(line, "{") {
		return "", false
	}
	var rec struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Level == "" || len(rec.Level) > 16 {
		return "", false
	}
	for _, c := range rec.Level {
		if c <= ' ' || c == 0x7f {
			return "", false
		}
	}
	return rec.Level, true
}
