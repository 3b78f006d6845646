package bicep

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ValueKind is the kind of an evaluated value.
type ValueKind int

// Value kinds. Unknown stands for anything only Azure can compute
// (resource properties, uniqueString, ...).
const (
	Unknown ValueKind = iota
	String
	Int
	Bool
	Null
	Object
	Array
)

// Value is the result of evaluating an expression as far as possible.
type Value struct {
	Kind  ValueKind
	Str   string // String; the decimal text of an Int; "true"/"false"
	Keys  []string
	Props map[string]Value
	Items []Value
	Raw   string // source text of an Unknown value
}

// Known reports whether v and everything in it could be evaluated.
func (v Value) Known() bool {
	switch v.Kind {
	case Unknown:
		return false
	case Object:
		for _, k := range v.Keys {
			if !v.Props[k].Known() {
				return false
			}
		}
	case Array:
		for _, it := range v.Items {
			if !it.Known() {
				return false
			}
		}
	}
	return true
}

// Get returns property key of an object value (Unknown if absent).
func (v Value) Get(key string) Value {
	if v.Kind != Object {
		return Value{Raw: "<not an object>"}
	}
	p, ok := v.Props[key]
	if !ok {
		return Value{Raw: "<no " + key + ">"}
	}
	return p
}

// Path follows dotted property names.
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// Strings returns the string items of an array value.
func (v Value) Strings() []string {
	var out []string
	for _, it := range v.Items {
		if it.Kind == String {
			out = append(out, it.Str)
		}
	}
	return out
}

func (v Value) String() string {
	switch v.Kind {
	case String, Int, Bool:
		return v.Str
	case Null:
		return "null"
	case Object:
		return "{" + strings.Join(v.Keys, " ") + "}"
	case Array:
		s := make([]string, len(v.Items))
		for i, it := range v.Items {
			s[i] = it.String()
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return "<" + v.Raw + ">"
}

// Scope evaluates expressions of one file, with the parameter values its
// caller passed.
type Scope struct {
	File   *File
	Params map[string]Value
	depth  int
	// Params and vars are evaluated once: a reference cycle yields Unknown
	// and repeated references cost nothing (fan-out would be exponential).
	memo map[string]Value
	busy map[string]bool
}

// Eval evaluates n.
func (s *Scope) Eval(n *Node) Value {
	if n == nil {
		return Value{Raw: "<nothing>"}
	}
	s.depth++
	defer func() { s.depth-- }()
	unknown := Value{Raw: s.File.Text(n)}
	if s.depth > 100 {
		return unknown
	}
	switch n.Kind {
	case KString:
		var b strings.Builder
		b.WriteString(n.Segs[0])
		for i, h := range n.Holes {
			v := s.Eval(h)
			if v.Kind != String && v.Kind != Int && v.Kind != Bool {
				return unknown
			}
			b.WriteString(v.Str)
			b.WriteString(n.Segs[i+1])
		}
		return Value{Kind: String, Str: b.String()}
	case KNumber:
		return Value{Kind: Int, Str: n.Text}
	case KBool:
		return Value{Kind: Bool, Str: n.Text}
	case KNull:
		return Value{Kind: Null}
	case KIdent:
		return s.ident(n.Text, unknown)
	case KObject:
		v := Value{Kind: Object, Props: map[string]Value{}}
		for _, p := range n.Props {
			v.Keys = append(v.Keys, p.Key)
			v.Props[p.Key] = s.Eval(p.Value)
		}
		return v
	case KArray:
		v := Value{Kind: Array}
		for _, it := range n.Items {
			v.Items = append(v.Items, s.Eval(it))
		}
		return v
	case KMember:
		x := s.Eval(n.X)
		if x.Kind == Object {
			if p, ok := x.Props[n.Text]; ok {
				return p
			}
		}
		return unknown
	case KTernary:
		c := s.Eval(n.X)
		if c.Kind == Bool {
			if c.Str == "true" {
				return s.Eval(n.Y)
			}
			return s.Eval(n.Z)
		}
		return unknown
	case KUnary:
		x := s.Eval(n.X)
		if n.Text == "!" && x.Kind == Bool {
			return boolValue(x.Str != "true")
		}
		return unknown
	case KCall:
		return s.call(n, unknown)
	}
	return unknown
}

func boolValue(b bool) Value { return Value{Kind: Bool, Str: strconv.FormatBool(b)} }

func (s *Scope) ident(name string, unknown Value) Value {
	if v, ok := s.memo[name]; ok {
		return v
	}
	if s.busy[name] {
		return unknown
	}
	if s.memo == nil {
		s.memo, s.busy = map[string]Value{}, map[string]bool{}
	}
	s.busy[name] = true
	v := s.lookup(name, unknown)
	delete(s.busy, name)
	s.memo[name] = v
	return v
}

func (s *Scope) lookup(name string, unknown Value) Value {
	d := s.File.Lookup(name)
	if d == nil {
		return unknown
	}
	switch d.Keyword {
	case "param":
		if v, ok := s.Params[name]; ok {
			return v
		}
		if d.Value != nil {
			return s.Eval(d.Value)
		}
	case "var":
		return s.Eval(d.Value)
	}
	return unknown
}

func (s *Scope) call(n *Node, unknown Value) Value {
	if n.X != nil && !(n.X.Kind == KIdent && (n.X.Text == "sys" || n.X.Text == "az")) {
		return unknown
	}
	args := make([]Value, len(n.Items))
	for i, a := range n.Items {
		args[i] = s.Eval(a)
	}
	switch n.Text {
	case "union":
		out := Value{Kind: Object, Props: map[string]Value{}}
		for _, a := range args {
			if a.Kind != Object {
				return unknown
			}
			for _, k := range a.Keys {
				if _, ok := out.Props[k]; !ok {
					out.Keys = append(out.Keys, k)
				}
				out.Props[k] = a.Props[k]
			}
		}
		return out
	case "string":
		if len(args) == 1 && (args[0].Kind == String || args[0].Kind == Int || args[0].Kind == Bool) {
			return Value{Kind: String, Str: args[0].Str}
		}
	case "toLower":
		if len(args) == 1 && args[0].Kind == String {
			return Value{Kind: String, Str: strings.ToLower(args[0].Str)}
		}
	case "empty":
		if len(args) == 1 {
			switch a := args[0]; a.Kind {
			case String:
				return boolValue(a.Str == "")
			case Null:
				return boolValue(true)
			case Object:
				return boolValue(len(a.Keys) == 0)
			case Array:
				return boolValue(len(a.Items) == 0)
			}
		}
	}
	return unknown
}

// Resource is a resource declaration of the deployment, with its file's
// scope so its properties can be evaluated.
type Resource struct {
	Symbol      string
	Type        string // e.g. Microsoft.Storage/storageAccounts/queueServices/queues
	APIVersion  string
	Existing    bool
	Conditional bool // the resource, or a module holding it, has an if condition
	Loop        bool
	Decl        *Decl
	Scope       *Scope
	Body        *Node // the object literal
	Module      string
}

// Prop evaluates a dotted property path of the resource body.
func (r *Resource) Prop(path string) Value {
	return r.Scope.Eval(r.Body).Path(strings.Split(path, ".")...)
}

// Name evaluates the resource's name property.
func (r *Resource) Name() Value { return r.Prop("name") }

// Ref resolves a property that refers to another resource of the same file
// by symbol (parent, scope); nil when it is not such a reference.
func (r *Resource) Ref(prop string, all []*Resource) *Resource {
	n := r.Body.Get(prop)
	if n == nil || n.Kind != KIdent {
		return nil
	}
	for _, o := range all {
		if o.Scope.File == r.Scope.File && o.Module == r.Module && o.Symbol == n.Text {
			return o
		}
	}
	return nil
}

// Deployment is a main file and its local modules, flattened.
type Deployment struct {
	Main      *File
	Files     []*File
	Resources []*Resource
}

// Load parses the main Bicep file at path and, recursively, every local
// module it uses, binding module parameters to the values passed in.
func Load(path string) (*Deployment, error) {
	d := &Deployment{}
	if err := d.load(path, nil, "", false, 0); err != nil {
		return nil, err
	}
	d.Main = d.Files[0]
	return d, nil
}

func (d *Deployment) load(path string, params map[string]Value, module string, conditional bool, depth int) error {
	if depth > 10 {
		return fmt.Errorf("%s: modules nested too deeply", path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := Parse(path, src)
	if err != nil {
		return err
	}
	d.Files = append(d.Files, f)
	sc := &Scope{File: f, Params: params}
	for name := range params {
		if p := f.Lookup(name); p == nil || p.Keyword != "param" {
			return fmt.Errorf("%s: module %s passes %q, which is not a parameter", path, module, name)
		}
	}
	for _, decl := range f.Decls {
		switch decl.Keyword {
		case "param":
			if _, ok := params[decl.Name]; !ok && decl.Value == nil && module != "" {
				return fmt.Errorf("%s: module %s does not pass required parameter %q", path, module, decl.Name)
			}
		case "resource", "module":
			body, cond, loop := unwrap(decl.Value)
			if body == nil || body.Kind != KObject {
				return fmt.Errorf("%s: %s %s: body is not an object", path, decl.Keyword, decl.Name)
			}
			if decl.Keyword == "resource" {
				typ, ver, ok := strings.Cut(decl.Type, "@")
				if !ok {
					return fmt.Errorf("%s: resource %s: type %q has no @version", path, decl.Name, decl.Type)
				}
				d.Resources = append(d.Resources, &Resource{Symbol: decl.Name, Type: typ, APIVersion: ver,
					Existing: decl.Existing, Conditional: conditional || cond, Loop: loop,
					Decl: decl, Scope: sc, Body: body, Module: module})
				continue
			}
			if strings.HasPrefix(decl.Type, "br:") || strings.HasPrefix(decl.Type, "br/") || strings.HasPrefix(decl.Type, "ts:") {
				return fmt.Errorf("%s: module %s: registry modules cannot be checked offline", path, decl.Name)
			}
			passed := map[string]Value{}
			if ps := body.Get("params"); ps != nil {
				if ps.Kind != KObject {
					return fmt.Errorf("%s: module %s: params is not an object literal", path, decl.Name)
				}
				for _, p := range ps.Props {
					passed[p.Key] = sc.Eval(p.Value)
				}
			}
			name := decl.Name
			if module != "" {
				name = module + "/" + name
			}
			if err := d.load(filepath.Join(filepath.Dir(path), filepath.FromSlash(decl.Type)), passed, name, conditional || cond, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// unwrap strips "if (...)" and "[for ...]" from a resource or module value.
func unwrap(n *Node) (body *Node, cond, loop bool) {
	for n != nil {
		switch n.Kind {
		case KIf:
			cond = true
			n = n.Y
		case KFor:
			loop = true
			n = n.Y
		default:
			return n, cond, loop
		}
	}
	return nil, cond, loop
}
