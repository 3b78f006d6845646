package arrops

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseTimeOfDay parses HH:MM on a 24-hour clock (00:00..23:59) into
// minutes after midnight: the form of every daily window in the settings
// (quiet hours, the warm pool's hours).
func ParseTimeOfDay(s string) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00..23:59)", s)
	}
	return hh*60 + mm, nil
}
