package bicep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrops/arrops/internal/modroot"
)

func TestEval(t *testing.T) {
	src := `targetScope = 'subscription'

@description('x')
param name string = 'arr'
param n int = 3
@allowed(['a', 'b'])
param choice string = 'a'
param flag bool = false
param noDefault string
param obj object = {
  a: 1
}

var esc = 'it\'s \${not} ${name}-${n}'
var multi = '''
raw ${x}
'''
var merged = union({ a: 'x', b: 'y' }, {
  b: 'z'
}, obj)
var cond = empty(noDefault) ? 'empty' : 'set'
var negated = !flag
var str = string(flag)
var arr = [
  'one'
  'two', 'three'
]
var call = resourceGroup().location
var member = merged.b
var nested = {
  'quoted-key': {
    inner: toLower('ABC')
  }
}
/* block
comment */
resource r 'Microsoft.X/y@2020-01-01' = if (flag) {
  name: '${name}-r'
}
resource loop 'Microsoft.X/z@2020-01-01' = [for (item, i) in arr: {
  name: item
}]
output o string = name
`
	f, err := Parse("t.bicep", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scope{File: f}
	tests := []struct{ name, want string }{
		{"esc", "it's ${not} arr-3"},
		{"multi", "\nraw ${x}\n"},
		{"merged", "{a b}"},
		{"member", "z"},
		{"cond", "<empty(noDefault) ? 'empty' : 'set'>"},
		{"negated", "true"},
		{"str", "false"},
		{"arr", "[one two three]"},
		{"call", "<resourceGroup().location>"},
		{"nested", "{quoted-key}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sc.Eval(f.Lookup(tc.name).Value).String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := sc.Eval(f.Lookup("merged").Value).Get("a").String(); got != "1" {
		t.Errorf("union: a = %s, want the last object's 1", got)
	}
	if got := sc.Eval(f.Lookup("nested").Value).Path("quoted-key", "inner").String(); got != "abc" {
		t.Errorf("nested = %s", got)
	}
	// A value passed by the caller wins over the default.
	sc2 := &Scope{File: f, Params: map[string]Value{"noDefault": {Kind: String, Str: "v"}}}
	if got := sc2.Eval(f.Lookup("cond").Value).String(); got != "set" {
		t.Errorf("cond with param = %s", got)
	}
	if len(f.Comments) != 1 || f.Comments[0] != "block\ncomment" {
		t.Errorf("comments = %q", f.Comments)
	}
	r := f.Lookup("r")
	if r.Type != "Microsoft.X/y@2020-01-01" || r.Value.Kind != KIf {
		t.Errorf("resource r: %+v", r)
	}
	if l := f.Lookup("loop"); l.Value.Kind != KFor || strings.Join(l.Value.Vars, ",") != "item,i" {
		t.Errorf("loop: %+v", l.Value)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unterminated string", "var a = 'x\n", "newline in string"},
		{"unknown declaration", "variable a = 1\n", `t.bicep:1:1: unknown declaration "variable"`},
		{"missing value", "var a =\n", "t.bicep:1:8: expected a value, found end of line"},
		{"two props on a line", "var a = {\n  b: 1 c: 2\n}\n", `t.bicep:2:8: expected end of line after property "b"`},
		{"duplicate property", "var a = {\n  b: 1\n  b: 2\n}\n", `duplicate property "b"`},
		{"resource without version", "resource r 'Microsoft.X/y' = {\n}\n", ""},
		{"unterminated comment", "/* x", "unterminated comment"},
		{"bad character", "var a = 1 # 2\n", "unexpected character"},
		{"trailing tokens", "var a = 1 2\n", "t.bicep:1:11: expected end of line"},
		{"stray decorator", "@description('x')\n", "decorator without a declaration"},
		{"interpolated resource type", "resource r '${x}@1' = {\n}\n", "expected a plain string"},
		{"deep nesting", "var a = " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + "\n", "nested too deeply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.bicep", []byte(tc.src))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadModules(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "m"), 0o755)
	os.WriteFile(filepath.Join(dir, "main.bicep"), []byte(`param prefix string = 'p'
param on bool = false
module a 'm/a.bicep' = if (on) {
  name: 'a'
  params: {
    qname: '${prefix}-q'
  }
}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "m", "a.bicep"), []byte(`param qname string
param other string = 'd'
resource q 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  name: qname
}
resource o 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  name: other
  parent: q
}
`), 0o644)
	d, err := Load(filepath.Join(dir, "main.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Resources) != 2 {
		t.Fatalf("resources: %d", len(d.Resources))
	}
	q, o := d.Resources[0], d.Resources[1]
	if q.Name().String() != "p-q" || !q.Conditional || q.Module != "a" || q.APIVersion != "2023-05-01" {
		t.Errorf("q: name %s cond %v module %s", q.Name(), q.Conditional, q.Module)
	}
	if o.Name().String() != "d" || !o.Existing || o.Ref("parent", d.Resources) != q {
		t.Errorf("o: name %s existing %v", o.Name(), o.Existing)
	}

	// A module call that misses a required parameter or passes an unknown one is an error.
	for _, params := range []string{"", "    qname: 'x'\n    nosuch: 1\n"} {
		os.WriteFile(filepath.Join(dir, "main.bicep"), []byte("module a 'm/a.bicep' = {\n  name: 'a'\n  params: {\n"+params+"  }\n}\n"), 0o644)
		if _, err := Load(filepath.Join(dir, "main.bicep")); err == nil {
			t.Errorf("params %q: no error", params)
		}
	}
}

// FuzzParse feeds arbitrary text to the reader: it must return a file or an
// error, never panic or loop, and spans must stay inside the source.
func FuzzParse(f *testing.F) {
	root, err := modroot.Dir()
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(root, "infra", "*.bicep"))
	mods, _ := filepath.Glob(filepath.Join(root, "infra", "modules", "*.bicep"))
	for _, p := range append(seeds, mods...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("var a = '${'${'x'}'}'\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("f.bicep", src)
		if err != nil {
			return
		}
		sc := &Scope{File: file}
		for _, d := range file.Decls {
			if d.Value != nil {
				if d.Value.Start < 0 || d.Value.End > len(src) || d.Value.Start > d.Value.End {
					t.Fatalf("span %d..%d outside %d bytes", d.Value.Start, d.Value.End, len(src))
				}
				sc.Eval(d.Value)
			}
		}
	})
}

// Self-references and wide fan-out must evaluate in linear time (found by FuzzParse).
func TestEvalCycles(t *testing.T) {
	var b strings.Builder
	b.WriteString("param p object = {\n  a: p\n  b: p\n}\nvar v0 = 'x'\n")
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "var v%d = [\n  v%d\n  v%d\n  v%d\n]\n", i, i-1, i-1, i-1)
	}
	f, err := Parse("t.bicep", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scope{File: f}
	if got := sc.Eval(f.Lookup("p").Value).Path("a", "a"); got.Kind != Unknown {
		t.Errorf("self-reference evaluated to %s", got)
	}
	if got := sc.Eval(f.Lookup("v60").Value); got.Kind != Array || len(got.Items) != 3 {
		t.Errorf("v60 = %s", got)
	}
}
