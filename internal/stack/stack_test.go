package stack

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	cases := []struct {
		name, stat string
		comm       string
		ppid       int
		ok         bool
	}{
		{"handler", "4242 (handler) S 4200 4242 4200 0 -1 4194560 1\n", "handler", 4200, true},
		{"name with spaces and parens", "77 (a (b) c) R 1 77 77 0 -1\n", "a (b) c", 1, true},
		{"truncated", "77 (handler) S\n", "", 0, false},
		{"no parens", "77 handler S 1\n", "", 0, false},
		{"ppid not a number", "77 (handler) S x 1\n", "", 0, false},
		{"empty", "", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comm, ppid, ok := parseStat([]byte(c.stat))
			if comm != c.comm || ppid != c.ppid || ok != c.ok {
				t.Errorf("parseStat(%q) = %q, %d, %v; want %q, %d, %v", c.stat, comm, ppid, ok, c.comm, c.ppid, c.ok)
			}
		})
	}
}

// TestParseStatSelf reads this test process's own /proc entry: the format
// the kernel writes, not a hand-made one.
func TestParseStatSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if _, ppid, ok := parseStat(b); !ok || ppid != os.Getppid() {
		t.Errorf("parseStat(/proc/self/stat) ppid %d ok %v, want %d", ppid, ok, os.Getppid())
	}
}
