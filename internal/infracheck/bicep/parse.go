package bicep

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of an expression node.
type Kind int

// Expression kinds.
const (
	KString  Kind = iota // Segs and Holes: Segs[0] Holes[0] Segs[1] ...
	KNumber              // Text
	KBool                // Text "true" or "false"
	KNull                //
	KIdent               // Text
	KObject              // Props
	KArray               // Items
	KCall                // Text (function), X (namespace or receiver, may be nil), Items (arguments)
	KMember              // X.Text
	KIndex               // X[Y]
	KUnary               // Text X
	KBinary              // X Text Y
	KTernary             // X ? Y : Z
	KFor                 // [for Vars in X: Y]
	KIf                  // if (X) Y
)

// Node is one expression.
type Node struct {
	Kind       Kind
	Text       string
	X, Y, Z    *Node
	Items      []*Node
	Props      []Prop
	Segs       []string
	Holes      []*Node
	Vars       []string
	Start, End int // byte offsets in the file's source
}

// Prop is one property of an object literal.
type Prop struct {
	Key   string
	Value *Node
}

// Get returns the value of the property key of an object node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != KObject {
		return nil
	}
	for _, p := range n.Props {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// Decl is one top-level declaration.
type Decl struct {
	Keyword    string // param, var, resource, module, output, targetScope, ...
	Name       string // symbolic name
	Type       string // param/output type; resource "type@version"; module path
	Existing   bool   // resource ... existing
	Value      *Node  // var, resource, module, output, targetScope value; param default (nil: none)
	Decorators []*Node
	Pos        int
}

// File is a parsed Bicep file.
type File struct {
	Path     string
	Src      string
	Decls    []*Decl
	Comments []string // text of every comment, in order, without the markers
}

// Lookup returns the declaration named name, or nil.
func (f *File) Lookup(name string) *Decl {
	for _, d := range f.Decls {
		if d.Name == name && d.Keyword != "output" {
			return d
		}
	}
	return nil
}

// Text returns the source text of n.
func (f *File) Text(n *Node) string {
	if n == nil {
		return ""
	}
	return f.Src[n.Start:n.End]
}

// ParseError locates a syntax error.
type ParseError struct {
	Path      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Col, e.Msg)
}

type parser struct {
	path   string
	src    string
	toks   []token
	i      int
	nlSkip int // > 0 inside parentheses, where newlines do not end expressions
	depth  int
}

type bail struct{ err error }

// Parse parses one Bicep file.
func Parse(path string, src []byte) (f *File, err error) {
	s := string(src)
	toks, comments, lerr := lex(s)
	if lerr != nil {
		return nil, fmt.Errorf("%s: %w", path, lerr)
	}
	p := &parser{path: path, src: s, toks: toks}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			f, err = nil, b.err
		}
	}()
	f = &File{Path: path, Src: s, Comments: comments}
	f.Decls = p.file()
	return f, nil
}

func (p *parser) fail(pos int, format string, args ...any) {
	line := 1 + strings.Count(p.src[:pos], "\n")
	col := pos - strings.LastIndex(p.src[:pos], "\n")
	panic(bail{&ParseError{p.path, line, col, fmt.Sprintf(format, args...)}})
}

func (p *parser) peek() token {
	if p.nlSkip > 0 {
		for p.toks[p.i].kind == tNewline {
			p.i++
		}
	}
	return p.toks[p.i]
}

func (p *parser) next() token {
	t := p.peek()
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) skipNewlines() {
	for p.toks[p.i].kind == tNewline {
		p.i++
	}
}

func (p *parser) is(text string) bool {
	t := p.peek()
	return (t.kind == tPunct || t.kind == tIdent) && t.text == text
}

func (p *parser) expect(text string) token {
	t := p.next()
	if (t.kind != tPunct && t.kind != tIdent) || t.text != text {
		p.fail(t.pos, "expected %q, found %s", text, describe(t))
	}
	return t
}

func (p *parser) ident() token {
	t := p.next()
	if t.kind != tIdent {
		p.fail(t.pos, "expected a name, found %s", describe(t))
	}
	return t
}

func (p *parser) str() token {
	t := p.next()
	if t.kind != tString || strings.Contains(t.text, "${") {
		p.fail(t.pos, "expected a plain string, found %s", describe(t))
	}
	return t
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tNewline:
		return "end of line"
	case tString, tMultiString:
		return "a string"
	}
	return strconv.Quote(t.text)
}

func (p *parser) endOfDecl() {
	t := p.toks[p.i]
	if t.kind != tNewline && t.kind != tEOF {
		p.fail(t.pos, "expected end of line, found %s", describe(t))
	}
}

func (p *parser) file() []*Decl {
	var decls []*Decl
	var decorators []*Node
	for {
		p.skipNewlines()
		t := p.toks[p.i]
		if t.kind == tEOF {
			if len(decorators) > 0 {
				p.fail(t.pos, "decorator without a declaration")
			}
			return decls
		}
		if t.kind == tPunct && t.text == "@" {
			p.i++
			decorators = append(decorators, p.postfix())
			p.endOfDecl()
			continue
		}
		if t.kind != tIdent {
			p.fail(t.pos, "expected a declaration, found %s", describe(t))
		}
		p.i++
		d := &Decl{Keyword: t.text, Pos: t.pos, Decorators: decorators}
		decorators = nil
		switch t.text {
		case "targetScope":
			p.expect("=")
			d.Value = p.expr()
		case "param":
			d.Name = p.ident().text
			d.Type = p.typeText()
			if p.is("=") {
				p.next()
				d.Value = p.expr()
			}
		case "var":
			d.Name = p.ident().text
			p.expect("=")
			d.Value = p.expr()
		case "output":
			d.Name = p.ident().text
			d.Type = p.typeText()
			p.expect("=")
			d.Value = p.expr()
		case "resource":
			d.Name = p.ident().text
			d.Type = unescape(p.str().text)
			if p.is("existing") {
				p.next()
				d.Existing = true
			}
			p.expect("=")
			d.Value = p.declValue()
		case "module":
			d.Name = p.ident().text
			d.Type = unescape(p.str().text)
			p.expect("=")
			d.Value = p.declValue()
		case "import", "type", "func", "metadata", "extension", "using":
			p.skipLine()
		default:
			p.fail(t.pos, "unknown declaration %q", t.text)
		}
		p.endOfDecl()
		decls = append(decls, d)
	}
}

// typeText reads a param/output type up to "=" or the end of the line.
func (p *parser) typeText() string {
	start := p.toks[p.i].pos
	end := start
	depth := 0
	for {
		t := p.toks[p.i]
		if t.kind == tEOF || (depth == 0 && (t.kind == tNewline || t.kind == tPunct && t.text == "=")) {
			break
		}
		if t.kind == tPunct {
			switch t.text {
			case "{", "[", "(":
				depth++
			case "}", "]", ")":
				depth--
			}
		}
		end = t.end
		p.i++
	}
	if end == start {
		p.fail(start, "expected a type")
	}
	return strings.TrimSpace(p.src[start:end])
}

func (p *parser) skipLine() {
	depth := 0
	for {
		t := p.toks[p.i]
		if t.kind == tEOF || depth == 0 && t.kind == tNewline {
			return
		}
		if t.kind == tPunct {
			switch t.text {
			case "{", "[", "(":
				depth++
			case "}", "]", ")":
				depth--
			}
		}
		p.i++
	}
}

// declValue parses the value of a resource or module: an object, a
// conditional object, or a loop.
func (p *parser) declValue() *Node {
	if p.is("if") {
		return p.ifExpr()
	}
	return p.expr()
}

func (p *parser) ifExpr() *Node {
	t := p.expect("if")
	p.expect("(")
	p.nlSkip++
	cond := p.expr()
	p.nlSkip--
	p.expect(")")
	body := p.expr()
	return &Node{Kind: KIf, X: cond, Y: body, Start: t.pos, End: body.End}
}

func (p *parser) enter(pos int) {
	p.depth++
	if p.depth > 200 {
		p.fail(pos, "expression nested too deeply")
	}
}

func (p *parser) expr() *Node {
	t := p.peek()
	p.enter(t.pos)
	defer func() { p.depth-- }()
	cond := p.binary(0)
	if !p.is("?") {
		return cond
	}
	p.next()
	x := p.expr()
	p.expect(":")
	y := p.expr()
	return &Node{Kind: KTernary, X: cond, Y: x, Z: y, Start: cond.Start, End: y.End}
}

var precedence = map[string]int{
	"??": 1, "||": 2, "&&": 3,
	"==": 4, "!=": 4, "=~": 4, "!~": 4,
	"<": 5, ">": 5, "<=": 5, ">=": 5,
	"+": 6, "-": 6, "*": 7, "/": 7, "%": 7,
}

func (p *parser) binary(min int) *Node {
	x := p.unary()
	for {
		t := p.peek()
		prec, ok := precedence[t.text]
		if t.kind != tPunct || !ok || prec <= min {
			return x
		}
		p.next()
		y := p.binary(prec)
		x = &Node{Kind: KBinary, Text: t.text, X: x, Y: y, Start: x.Start, End: y.End}
	}
}

func (p *parser) unary() *Node {
	t := p.peek()
	if t.kind == tPunct && (t.text == "!" || t.text == "-") {
		p.next()
		p.enter(t.pos)
		x := p.unary()
		p.depth--
		return &Node{Kind: KUnary, Text: t.text, X: x, Start: t.pos, End: x.End}
	}
	return p.postfix()
}

func (p *parser) postfix() *Node {
	x := p.primary()
	for {
		t := p.toks[p.i] // a newline ends the chain, even inside parentheses
		if p.nlSkip > 0 {
			t = p.peek()
		}
		switch {
		case t.kind == tPunct && (t.text == "." || t.text == "?."):
			p.next()
			name := p.ident()
			if p.toks[p.i].kind == tPunct && p.toks[p.i].text == "(" {
				args, end := p.args()
				x = &Node{Kind: KCall, Text: name.text, X: x, Items: args, Start: x.Start, End: end}
				continue
			}
			x = &Node{Kind: KMember, Text: name.text, X: x, Start: x.Start, End: name.end}
		case t.kind == tPunct && t.text == "[":
			p.next()
			p.nlSkip++
			idx := p.expr()
			p.nlSkip--
			end := p.expect("]").end
			x = &Node{Kind: KIndex, X: x, Y: idx, Start: x.Start, End: end}
		case t.kind == tPunct && t.text == "(" && x.Kind == KIdent:
			args, end := p.args()
			x = &Node{Kind: KCall, Text: x.Text, Items: args, Start: x.Start, End: end}
		default:
			return x
		}
	}
}

func (p *parser) args() ([]*Node, int) {
	p.expect("(")
	p.nlSkip++
	var args []*Node
	for !p.is(")") {
		args = append(args, p.expr())
		if !p.is(",") {
			break
		}
		p.next()
	}
	p.nlSkip--
	return args, p.expect(")").end
}

func (p *parser) primary() *Node {
	t := p.next()
	switch t.kind {
	case tString:
		return p.stringNode(t)
	case tMultiString:
		return &Node{Kind: KString, Segs: []string{t.text}, Start: t.pos, End: t.end}
	case tNumber:
		return &Node{Kind: KNumber, Text: t.text, Start: t.pos, End: t.end}
	case tIdent:
		switch t.text {
		case "true", "false":
			return &Node{Kind: KBool, Text: t.text, Start: t.pos, End: t.end}
		case "null":
			return &Node{Kind: KNull, Start: t.pos, End: t.end}
		}
		return &Node{Kind: KIdent, Text: t.text, Start: t.pos, End: t.end}
	case tPunct:
		switch t.text {
		case "(":
			p.nlSkip++
			x := p.expr()
			p.nlSkip--
			p.expect(")")
			return x
		case "{":
			return p.object(t)
		case "[":
			return p.array(t)
		}
	}
	p.fail(t.pos, "expected a value, found %s", describe(t))
	return nil
}

// object parses an object literal after its "{". Inside, newlines separate
// properties again, even when the object sits in parentheses.
func (p *parser) object(open token) *Node {
	saved := p.nlSkip
	p.nlSkip = 0
	defer func() { p.nlSkip = saved }()
	n := &Node{Kind: KObject, Start: open.pos}
	for {
		p.skipNewlines()
		t := p.next()
		if t.kind == tPunct && t.text == "}" {
			n.End = t.end
			return n
		}
		var key string
		switch {
		case t.kind == tIdent:
			key = t.text
		case t.kind == tString && !strings.Contains(t.text, "${"):
			key = unescape(t.text)
		default:
			p.fail(t.pos, "expected a property name, found %s", describe(t))
		}
		p.expect(":")
		v := p.expr()
		for _, prev := range n.Props {
			if prev.Key == key {
				p.fail(t.pos, "duplicate property %q", key)
			}
		}
		n.Props = append(n.Props, Prop{Key: key, Value: v})
		switch u := p.toks[p.i]; {
		case u.kind == tNewline:
		case u.kind == tPunct && u.text == ",":
			p.i++
		case u.kind == tPunct && u.text == "}":
		default:
			p.fail(u.pos, "expected end of line after property %q, found %s", key, describe(u))
		}
	}
}

func (p *parser) array(open token) *Node {
	saved := p.nlSkip
	p.nlSkip = 0
	defer func() { p.nlSkip = saved }()
	p.skipNewlines()
	if p.is("for") {
		return p.forExpr(open)
	}
	n := &Node{Kind: KArray, Start: open.pos}
	for {
		p.skipNewlines()
		if t := p.toks[p.i]; t.kind == tPunct && t.text == "]" {
			p.i++
			n.End = t.end
			return n
		}
		n.Items = append(n.Items, p.expr())
		switch u := p.toks[p.i]; {
		case u.kind == tNewline:
		case u.kind == tPunct && u.text == ",":
			p.i++
		case u.kind == tPunct && u.text == "]":
		default:
			p.fail(u.pos, "expected end of line after array item, found %s", describe(u))
		}
	}
}

func (p *parser) forExpr(open token) *Node {
	p.expect("for")
	n := &Node{Kind: KFor, Start: open.pos}
	if p.is("(") {
		p.next()
		n.Vars = append(n.Vars, p.ident().text)
		p.expect(",")
		n.Vars = append(n.Vars, p.ident().text)
		p.expect(")")
	} else {
		n.Vars = append(n.Vars, p.ident().text)
	}
	p.expect("in")
	n.X = p.expr()
	p.expect(":")
	if p.is("if") {
		n.Y = p.ifExpr()
	} else {
		n.Y = p.expr()
	}
	p.skipNewlines()
	n.End = p.expect("]").end
	return n
}

// stringNode splits a string token into literal segments and parsed holes.
func (p *parser) stringNode(t token) *Node {
	n := &Node{Kind: KString, Start: t.pos, End: t.end}
	body := t.text
	base := t.pos + 1
	var seg strings.Builder
	for i := 0; i < len(body); {
		switch {
		case body[i] == '\\':
			if i+1 >= len(body) {
				p.fail(base+i, "bad escape")
			}
			switch c := body[i+1]; c {
			case '\\', '\'', '$':
				seg.WriteByte(c)
			case 'n':
				seg.WriteByte('\n')
			case 'r':
				seg.WriteByte('\r')
			case 't':
				seg.WriteByte('\t')
			default:
				p.fail(base+i, "unsupported escape \\%c", c)
			}
			i += 2
		case strings.HasPrefix(body[i:], "${"):
			end, err := scanHole(body, i+2)
			if err != nil {
				p.fail(base+i, "%v", err)
			}
			hole := p.sub(body[i+2:end-1], base+i+2)
			n.Segs = append(n.Segs, seg.String())
			seg.Reset()
			n.Holes = append(n.Holes, hole)
			i = end
		default:
			seg.WriteByte(body[i])
			i++
		}
	}
	n.Segs = append(n.Segs, seg.String())
	return n
}

// sub parses the expression of an interpolation hole found at offset base.
func (p *parser) sub(text string, base int) *Node {
	toks, _, err := lex(text)
	if err != nil {
		p.fail(base, "%v", err)
	}
	for i := range toks {
		toks[i].pos += base
		toks[i].end += base
	}
	q := &parser{path: p.path, src: p.src, toks: toks, nlSkip: 1, depth: p.depth}
	x := q.expr()
	if t := q.peek(); t.kind != tEOF {
		p.fail(t.pos, "unexpected %s in interpolation", describe(t))
	}
	return x
}

// unescape decodes the escapes of a plain string body.
func unescape(s string) string {
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\$`, `$`, `\n`, "\n", `\r`, "\r", `\t`, "\t")
	return r.Replace(s)
}
