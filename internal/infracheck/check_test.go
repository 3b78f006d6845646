package infracheck

import (
	"testing"

	"github.com/arrops/arrops/internal/modroot"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestRepository is the consistency check of the real tree.
func TestRepository(t *testing.T) {
	problems, err := Check(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
