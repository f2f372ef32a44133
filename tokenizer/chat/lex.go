// Lexer for the Jinja subset (Jinja2 docs, "Template Designer Documentation": delimiters, whitespace control).

package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tText
	tVarBegin   // {{
	tVarEnd     // }}
	tBlockBegin // {%
	tBlockEnd   // %}
	tName
	tString
	tInt
	tFloat
	tOp
)

type token struct {
	kind tokKind
	s    string // text, name, operator or decoded string literal
	pos  int    // byte offset in the source, for error positions
}

// Error is a template error with its position in the template source.
// Raised is true when the template itself called raise_exception.
type Error struct {
	Line, Col int // 1-based; 0 when the position is unknown
	Msg       string
	Raised    bool
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "chat: template: " + e.Msg
	}
	return fmt.Sprintf("chat: template line %d col %d: %s", e.Line, e.Col, e.Msg)
}

// errAt builds an Error at byte offset pos of src; col counts runes.
func errAt(src string, pos int, format string, args ...any) *Error {
	if pos > len(src) {
		pos = len(src)
	}
	line := 1 + strings.Count(src[:pos], "\n")
	start := strings.LastIndexByte(src[:pos], '\n') + 1
	return &Error{Line: line, Col: 1 + utf8.RuneCountInString(src[start:pos]), Msg: fmt.Sprintf(format, args...)}
}

// lexer turns the source into one flat token stream. Whitespace control is
// applied here, as Jinja2's lexer does, with Hugging Face's settings:
// trim_blocks and lstrip_blocks on, keep_trailing_newline off.
type lexer struct {
	src  string
	toks []token
	// What the previous tag asked of the text that follows it.
	stripNext   bool // "-%}": drop all leading whitespace
	trimNewline bool // trim_blocks: drop one leading newline
	textEnd     int  // source offset where the last text token ended
}

// normalizeNewlines turns \r\n and \r into \n, as Jinja2 does with the
// template text (newline_sequence "\n"); positions are then counted in the
// normalised source.
func normalizeNewlines(src string) string {
	if strings.IndexByte(src, '\r') < 0 {
		return src
	}
	return strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
}

func lex(src string) ([]token, error) {
	// keep_trailing_newline=False: one final newline is not part of the template.
	src = strings.TrimSuffix(src, "\n")
	lx := &lexer{src: src}
	pos := 0
	for pos < len(src) {
		open := nextOpen(src, pos)
		if open < 0 {
			lx.text(pos, len(src))
			break
		}
		lx.text(pos, open)
		var err error
		pos, err = lx.tag(open)
		if err != nil {
			return nil, err
		}
	}
	lx.toks = append(lx.toks, token{kind: tEOF, pos: len(src)})
	return lx.toks, nil
}

// nextOpen finds the next "{{", "{%" or "{#" at or after pos.
func nextOpen(src string, pos int) int {
	for {
		i := strings.IndexByte(src[pos:], '{')
		if i < 0 || pos+i+1 >= len(src) {
			return -1
		}
		if c := src[pos+i+1]; c == '{' || c == '%' || c == '#' {
			return pos + i
		}
		pos += i + 1
	}
}

// text emits src[from:to] as a text token after the pending right-side trim.
func (lx *lexer) text(from, to int) {
	s := lx.src[from:to]
	switch {
	case lx.stripNext:
		s = strings.TrimLeft(s, " \t\r\n")
	case lx.trimNewline:
		if strings.HasPrefix(s, "\r\n") {
			s = s[2:]
		} else if strings.HasPrefix(s, "\n") {
			s = s[1:]
		}
	}
	lx.stripNext, lx.trimNewline = false, false
	if s != "" {
		lx.toks = append(lx.toks, token{kind: tText, s: s, pos: from})
		lx.textEnd = to
	}
}

// leftTrim applies "{%-" (strip all) or lstrip_blocks (strip the indentation
// of a tag alone at the start of its line) to the text token just before a tag.
// Only the immediately preceding token counts: text before an earlier {{ }}
// is not on the tag's line start.
func (lx *lexer) leftTrim(open int, all, lstrip bool) {
	n := len(lx.toks)
	if n == 0 || lx.toks[n-1].kind != tText || lx.textEnd != open {
		return
	}
	t := &lx.toks[n-1]
	if all {
		t.s = strings.TrimRight(t.s, " \t\r\n")
	} else if lstrip {
		nl := strings.LastIndexByte(t.s, '\n')
		tail := t.s[nl+1:]
		if strings.Trim(tail, " \t") != "" {
			return
		}
		// The whitespace must start a line: after a newline in this text,
		// or at the start of the template or of a source line.
		start := lx.textEnd - len(t.s) + nl + 1
		if nl < 0 && start > 0 && lx.src[start-1] != '\n' {
			return
		}
		t.s = t.s[:nl+1]
	}
	if t.s == "" {
		lx.toks = lx.toks[:n-1]
	}
}

// tag lexes one tag starting at src[open] and returns the offset after it.
func (lx *lexer) tag(open int) (int, error) {
	src := lx.src
	kind := src[open+1]
	pos := open + 2
	minus := pos < len(src) && src[pos] == '-'
	plus := pos < len(src) && src[pos] == '+'
	if minus || plus {
		pos++
	}
	lx.stripNext, lx.trimNewline = false, false
	lx.leftTrim(open, minus, kind != '{' && !plus)
	if kind == '#' {
		end := strings.Index(src[pos:], "#}")
		if end < 0 {
			return 0, errAt(src, open, "unclosed comment")
		}
		end += pos
		lx.stripNext = end > pos && src[end-1] == '-'
		lx.trimNewline = !lx.stripNext
		return end + 2, nil
	}
	begin, endKind, closer := tVarBegin, tVarEnd, "}}"
	if kind == '%' {
		begin, endKind, closer = tBlockBegin, tBlockEnd, "%}"
	}
	first := len(lx.toks)
	lx.toks = append(lx.toks, token{kind: begin, pos: open})
	depth := 0 // brackets open; an end delimiter only counts outside them
	for {
		for pos < len(src) && strings.IndexByte(" \t\r\n", src[pos]) >= 0 {
			pos++
		}
		if pos >= len(src) {
			return 0, errAt(src, open, "unclosed %q", src[open:open+2])
		}
		if depth == 0 {
			if strings.HasPrefix(src[pos:], "-"+closer) {
				lx.toks = append(lx.toks, token{kind: endKind, pos: pos})
				lx.stripNext = true
				return lx.afterTag(first, pos+3)
			}
			if strings.HasPrefix(src[pos:], "+"+closer) {
				lx.toks = append(lx.toks, token{kind: endKind, pos: pos})
				return lx.afterTag(first, pos+3)
			}
			if strings.HasPrefix(src[pos:], closer) {
				lx.toks = append(lx.toks, token{kind: endKind, pos: pos})
				lx.trimNewline = kind == '%'
				return lx.afterTag(first, pos+2)
			}
		}
		t, next, err := lexExprToken(src, pos)
		if err != nil {
			return 0, err
		}
		switch t.s {
		case "(", "[", "{":
			if t.kind == tOp {
				depth++
			}
		case ")", "]", "}":
			if t.kind == tOp && depth > 0 {
				depth--
			}
		}
		lx.toks = append(lx.toks, t)
		pos = next
	}
}

// afterTag handles {% raw %}: its body up to {% endraw %} is plain text.
func (lx *lexer) afterTag(first, pos int) (int, error) {
	toks := lx.toks[first:]
	if len(toks) != 3 || toks[0].kind != tBlockBegin || toks[1].kind != tName || toks[1].s != "raw" {
		return pos, nil
	}
	lx.toks = lx.toks[:first]
	src := lx.src
	for i := pos; ; {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			return 0, errAt(src, toks[0].pos, "unclosed raw block")
		}
		j += i
		k := j + 2
		minus := k < len(src) && src[k] == '-'
		plus := k < len(src) && src[k] == '+'
		if minus || plus {
			k++
		}
		rest := strings.TrimLeft(src[k:], " \t\r\n")
		if strings.HasPrefix(rest, "endraw") {
			after := strings.TrimLeft(rest[6:], " \t\r\n")
			end := len(src) - len(after)
			stripAfter := strings.HasPrefix(after, "-%}")
			if !stripAfter && !strings.HasPrefix(after, "%}") {
				return 0, errAt(src, j, "malformed endraw tag")
			}
			lx.trimNewline = false // trim_blocks does not reach into a raw body
			lx.text(pos, j)
			lx.leftTrim(j, minus, !minus && !plus)
			if stripAfter {
				lx.stripNext = true
				return end + 3, nil
			}
			lx.trimNewline = true
			return end + 2, nil
		}
		i = j + 2
	}
}

// operators, longest first so that "//" wins over "/".
var operators = []string{"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|", "=", "?"}

func lexExprToken(src string, pos int) (token, int, error) {
	c := src[pos]
	switch {
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		end := pos + 1
		for end < len(src) && (src[end] == '_' || src[end] >= 'a' && src[end] <= 'z' || src[end] >= 'A' && src[end] <= 'Z' || src[end] >= '0' && src[end] <= '9') {
			end++
		}
		return token{kind: tName, s: src[pos:end], pos: pos}, end, nil
	case c >= '0' && c <= '9':
		end := pos
		for end < len(src) && (src[end] >= '0' && src[end] <= '9' || src[end] == '_') {
			end++
		}
		kind := tInt
		if end+1 < len(src) && src[end] == '.' && src[end+1] >= '0' && src[end+1] <= '9' {
			kind = tFloat
			end++
			for end < len(src) && src[end] >= '0' && src[end] <= '9' {
				end++
			}
		}
		if end < len(src) && (src[end] == 'e' || src[end] == 'E') {
			e := end + 1
			if e < len(src) && (src[e] == '+' || src[e] == '-') {
				e++
			}
			if e < len(src) && src[e] >= '0' && src[e] <= '9' {
				kind = tFloat
				for end = e; end < len(src) && src[end] >= '0' && src[end] <= '9'; end++ {
				}
			}
		}
		return token{kind: kind, s: strings.ReplaceAll(src[pos:end], "_", ""), pos: pos}, end, nil
	case c == '\'' || c == '"':
		return lexString(src, pos)
	}
	for _, op := range operators {
		if strings.HasPrefix(src[pos:], op) {
			return token{kind: tOp, s: op, pos: pos}, pos + len(op), nil
		}
	}
	r, _ := utf8.DecodeRuneInString(src[pos:])
	return token{}, 0, errAt(src, pos, "unexpected character %q", r)
}

// lexString decodes a quoted literal with Python's common escapes.
func lexString(src string, pos int) (token, int, error) {
	q := src[pos]
	var b strings.Builder
	for i := pos + 1; i < len(src); i++ {
		c := src[i]
		if c == q {
			return token{kind: tString, s: b.String(), pos: pos}, i + 1, nil
		}
		if c != '\\' || i+1 >= len(src) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := src[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'u', 'x', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			var r rune
			ok := i+n < len(src)
			for k := 1; ok && k <= n; k++ {
				d := hexVal(src[i+k])
				ok = d >= 0
				r = r*16 + rune(d)
			}
			if !ok {
				return token{}, 0, errAt(src, i-1, "bad \\%c escape", e)
			}
			b.WriteRune(r)
			i += n
		case '\n':
			// a backslash-newline continues the literal
		default:
			if e != '\\' && e != '\'' && e != '"' {
				b.WriteByte('\\') // Python keeps unknown escapes verbatim
			}
			b.WriteByte(e)
		}
	}
	return token{}, 0, errAt(src, pos, "unterminated string")
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
