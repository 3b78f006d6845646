package arrops_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The module's layers, arrows inward (README, "Repository layout"): the
// domain at the root imports nothing of ours; adapters wrap one outside
// service each and know only the domain; config reads the app settings into
// the adapters' option types; functions compose adapters; handler and cmd
// wire everything (the functions run in the handler; the CLIs use the
// adapters). Adapters never depend on one another. Internal helpers may be
// used anywhere their own dependencies allow; the test kits only by tests.
const module = "github.com/arrops/arrops"

var (
	adapters = []string{"arr", "store", "notify", "policy", "pool", "report", "schedule", "trigger"}
	testKits = []string{"internal/functest", "internal/azuritetest", "internal/browsertest", "internal/syncbuf", "store/storetest", "notify/notifytest"}
	// drivers are other implementations of an adapter's interface (in-memory
	// records and bus); they may use their own adapter's types and nothing else.
	drivers = []string{"store/memstore", "notify/membus"}
)

// layer names the layer of a module-relative package path.
func layer(p string) string {
	switch {
	case p == "":
		return "domain"
	case slices.Contains(adapters, p):
		return "adapter"
	case slices.Contains(drivers, p):
		return "driver"
	case p == "config":
		return "config"
	case p == "functions":
		return "functions"
	case strings.HasPrefix(p, "functions/"):
		return "function"
	case p == "handler":
		return "handler"
	case strings.HasPrefix(p, "cmd/"):
		return "cmd"
	case p == "arrsim":
		return "simulator"
	case slices.Contains(testKits, p):
		return "testkit"
	case strings.HasPrefix(p, "internal/"):
		return "internal"
	case p == "e2e":
		return "e2e"
	}
	return "unknown"
}

// mayDependOn lists, per layer, the layers its packages may depend on (also
// indirectly: a forbidden package reached through an internal helper counts).
var mayDependOn = map[string][]string{
	"domain":    {},
	"adapter":   {"domain", "internal"},
	"driver":    {"domain", "adapter", "internal"}, // its own adapter only: see violations
	"config":    {"domain", "adapter", "internal"},
	"functions": {"domain", "adapter", "config", "internal"},
	"function":  {"domain", "adapter", "config", "functions", "internal"},
	"handler":   {"domain", "adapter", "config", "functions", "function", "internal"},
	"cmd":       {"domain", "adapter", "config", "simulator", "internal"}, // the functions run in the handler
	"simulator": {"domain", "internal"},
	"internal":  {"domain", "adapter", "driver", "config", "functions", "function", "simulator", "internal", "testkit"},
	"testkit":   {"domain", "adapter", "driver", "config", "functions", "function", "simulator", "internal", "testkit"},
	"e2e":       {"domain", "adapter", "driver", "config", "functions", "function", "simulator", "internal", "testkit"},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

// violations returns one line per dependency that breaks the layering rules.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		from = strings.TrimPrefix(from, "/")
		fl := layer(from)
		allowed, known := mayDependOn[fl]
		if !known {
			out = append(out, fmt.Sprintf("%s: no layer: add it to layering_test.go", p.ImportPath))
			continue
		}
		for _, d := range p.Deps {
			to, ok := strings.CutPrefix(d, module)
			if !ok || (to != "" && !strings.HasPrefix(to, "/")) {
				continue
			}
			to = strings.TrimPrefix(to, "/")
			tl := layer(to)
			switch {
			case !slices.Contains(allowed, tl):
				out = append(out, fmt.Sprintf("%s (%s) depends on %s (%s)", p.ImportPath, fl, d, tl))
			case fl == "driver" && tl == "adapter" && !strings.HasPrefix(from, to+"/"):
				out = append(out, fmt.Sprintf("%s depends on another adapter %s: a driver knows only its own adapter", p.ImportPath, d))
			case fl == "function" && tl == "function":
				out = append(out, fmt.Sprintf("%s depends on another function %s: share code through package functions", p.ImportPath, d))
			}
		}
	}
	return out
}

// TestLayering runs `go list -deps` over the module (production code, not
// tests) and fails on an import that points outward.
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: not the whole module", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestLayeringRules: the rules catch each import the project has had to
// remove, and let the intended ones through.
func TestLayeringRules(t *testing.T) {
	dep := func(from string, to ...string) pkg {
		p := pkg{ImportPath: module + from}
		for _, d := range to {
			p.Deps = append(p.Deps, module+d)
		}
		return p
	}
	tests := []struct {
		name string
		p    pkg
		bad  bool
	}{
		{"adapter imports config", dep("/store", "/config"), true},
		{"adapter imports config through a helper", dep("/notify", "/internal/infracheck", "/config"), true},
		{"adapter imports another adapter", dep("/policy", "/store"), true},
		{"adapter imports its caller", dep("/notify", "/functions"), true},
		{"function imports a sibling", dep("/functions/shutdown", "/functions/watch"), true},
		{"functions imports a function", dep("/functions", "/functions/report"), true},
		{"cmd imports a function", dep("/cmd/arrctl", "/functions/report"), true},
		{"domain imports an adapter", dep("", "/arr"), true},
		{"production code imports a test kit", dep("/handler", "/internal/functest"), true},
		{"package without a layer", dep("/newthing"), true},
		{"adapter on the domain and a helper", dep("/store", "", "/internal/connstr"), false},
		{"function on functions, adapters, config", dep("/functions/watch", "", "/functions", "/arr", "/config", "/trigger"), false},
		{"handler wires everything", dep("/handler", "/functions/watch", "/store", "/notify", "/config"), false},
		{"config on option types", dep("/config", "/policy", "/report"), false},
		{"outside modules ignored", pkg{ImportPath: module + "/store", Deps: []string{"github.com/Azure/azure-sdk-for-go/sdk/azcore", module + "x/other"}}, false},
	}
	for _, tt := range tests {
		if got := violations([]pkg{tt.p}); (len(got) > 0) != tt.bad {
			t.Errorf("%s: violations %q, want bad=%v", tt.name, got, tt.bad)
		}
	}
}
