package infracheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestArrctlReplyQueueName reads cmd/arrctl's ServiceBusReplyQueue from its
// source (a main package cannot be imported) so the queue Bicep must declare
// follows a rename there.
func TestArrctlReplyQueueName(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(repoRoot(t), "cmd", "arrctl", "bus.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if name.Name == "ServiceBusReplyQueue" && i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					got, _ = strconv.Unquote(lit.Value)
				}
			}
		}
		return true
	})
	if got != ArrctlReplyQueue {
		t.Fatalf("cmd/arrctl ServiceBusReplyQueue = %q, infracheck.ArrctlReplyQueue = %q", got, ArrctlReplyQueue)
	}
}
