package bicep

import (
	"fmt"
	"strings"
)

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIdent
	tString // Str holds the raw body between quotes (escapes kept)
	tMultiString
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, number, or raw string body
	pos  int    // byte offset in the source
	end  int    // offset just past the token
}

// lex splits src into tokens. Comments are dropped, except that their text
// is collected so callers can read annotations.
func lex(src string) ([]token, []string, error) {
	var toks []token
	var comments []string
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			toks = append(toks, token{tNewline, "\n", i, i + 1})
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			comments = append(comments, strings.TrimSpace(src[i+2:i+j]))
			i += j
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return nil, nil, fmt.Errorf("offset %d: unterminated comment", i)
			}
			comments = append(comments, strings.TrimSpace(src[i+2:i+2+j]))
			i += j + 4
		case strings.HasPrefix(src[i:], "'''"):
			j := strings.Index(src[i+3:], "'''")
			if j < 0 {
				return nil, nil, fmt.Errorf("offset %d: unterminated multi-line string", i)
			}
			toks = append(toks, token{tMultiString, src[i+3 : i+3+j], i, i + j + 6})
			i += j + 6
		case c == '\'':
			end, err := scanString(src, i)
			if err != nil {
				return nil, nil, err
			}
			toks = append(toks, token{tString, src[i+1 : end-1], i, end})
			i = end
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{tIdent, src[i:j], i, j})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, token{tNumber, src[i:j], i, j})
			i = j
		default:
			p := ""
			for _, op := range []string{"==", "!=", ">=", "<=", "&&", "||", "??", "?.", "=>", "=~", "!~"} {
				if strings.HasPrefix(src[i:], op) {
					p = op
					break
				}
			}
			if p == "" {
				if !strings.ContainsRune("{}[]()<>,:.?=!+-*/%@|", rune(c)) {
					return nil, nil, fmt.Errorf("offset %d: unexpected character %q", i, c)
				}
				p = string(c)
			}
			toks = append(toks, token{tPunct, p, i, i + len(p)})
			i += len(p)
		}
	}
	toks = append(toks, token{tEOF, "", len(src), len(src)})
	return toks, comments, nil
}

// scanString returns the offset just past the closing quote of the string
// starting at src[start] == '\”, skipping escapes and ${...} holes (which
// may themselves contain strings and braces).
func scanString(src string, start int) (int, error) {
	i := start + 1
	for i < len(src) {
		switch {
		case src[i] == '\\':
			i += 2
		case src[i] == '\'':
			return i + 1, nil
		case src[i] == '\n':
			return 0, fmt.Errorf("offset %d: newline in string", start)
		case strings.HasPrefix(src[i:], "${"):
			end, err := scanHole(src, i+2)
			if err != nil {
				return 0, err
			}
			i = end
		default:
			i++
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated string", start)
}

// scanHole returns the offset just past the '}' closing an interpolation hole
// whose expression starts at i.
func scanHole(src string, i int) (int, error) {
	depth := 0
	for i < len(src) {
		switch c := src[i]; {
		case c == '\'':
			end, err := scanString(src, i)
			if err != nil {
				return 0, err
			}
			i = end
			continue
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i + 1, nil
			}
			depth--
		}
		i++
	}
	return 0, fmt.Errorf("offset %d: unterminated interpolation", i)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
