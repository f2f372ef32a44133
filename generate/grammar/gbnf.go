// Reference: llama.cpp grammars/README.md and src/llama-grammar.cpp (parse_space, parse_name,
// parse_char, parse_sequence: the GBNF syntax with its escapes, classes, groups and repetitions).

package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on GBNF sources.
const (
	MaxGBNFBytes = 1 << 20 // source size
	MaxGBNFDepth = 100     // nesting of parentheses
)

// ParseGBNF reads a llama.cpp GBNF grammar. Errors give line:column.
// The start rule is "root", as in llama.cpp.
func ParseGBNF(src string) (*Rules, error) {
	if len(src) > MaxGBNFBytes {
		return nil, fmt.Errorf("gbnf: grammar of %d bytes is over the limit of %d", len(src), MaxGBNFBytes)
	}
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("gbnf: grammar is not valid UTF-8")
	}
	p := &gbnfParser{src: src}
	rules := &Rules{}
	p.space(true)
	for p.pos < len(p.src) {
		name := p.name()
		if name == "" {
			return nil, p.errorf("expected a rule name")
		}
		p.space(false)
		if !strings.HasPrefix(p.src[p.pos:], "::=") {
			return nil, p.errorf("expected ::= after rule name %q", name)
		}
		p.pos += 3
		p.space(true)
		e, err := p.alternatives(0)
		if err != nil {
			return nil, err
		}
		if rules.Has(name) {
			return nil, p.errorf("rule %q is defined twice", name)
		}
		rules.Define(name, e)
		if p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
			return nil, p.errorf("expected the end of the line after rule %q, found %q", name, p.peekRune())
		}
		p.space(true)
	}
	// Undefined references are reported here, with the rule's name, rather
	// than by Compile, so that the message points into the source.
	for _, n := range rules.names {
		if u := undefinedRef(rules, rules.defs[n]); u != "" {
			return nil, fmt.Errorf("gbnf: rule %q refers to undefined rule %q", n, u)
		}
	}
	return rules, nil
}

// CompileGBNF parses src and compiles it from its root rule.
func CompileGBNF(src string) (*Grammar, error) {
	r, err := ParseGBNF(src)
	if err != nil {
		return nil, err
	}
	if !r.Has("root") {
		return nil, fmt.Errorf("gbnf: the grammar has no root rule")
	}
	return Compile(r, "root")
}

func undefinedRef(r *Rules, e Expr) string {
	switch e := e.(type) {
	case Ref:
		if !r.Has(string(e)) {
			return string(e)
		}
	case Seq:
		for _, x := range e {
			if u := undefinedRef(r, x); u != "" {
				return u
			}
		}
	case Alt:
		for _, x := range e {
			if u := undefinedRef(r, x); u != "" {
				return u
			}
		}
	case Repeat:
		return undefinedRef(r, e.X)
	}
	return ""
}

type gbnfParser struct {
	src string
	pos int
}

func (p *gbnfParser) errorf(format string, args ...any) error {
	line, col := 1, 1
	for _, c := range p.src[:min(p.pos, len(p.src))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("gbnf: %d:%d: %s", line, col, fmt.Sprintf(format, args...))
}

func (p *gbnfParser) peekRune() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return string(r)
}

// space skips blanks and # comments; newlines only when newlineOK.
func (p *gbnfParser) space(newlineOK bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
				p.pos++
			}
		case (c == '\n' || c == '\r') && newlineOK:
			p.pos++
		default:
			return
		}
	}
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func (p *gbnfParser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isWordChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// alternatives parses seq ("|" seq)*.
func (p *gbnfParser) alternatives(depth int) (Expr, error) {
	if depth > MaxGBNFDepth {
		return nil, p.errorf("groups nested deeper than %d", MaxGBNFDepth)
	}
	var alts Alt
	for {
		s, err := p.sequence(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			p.space(true)
			continue
		}
		break
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

// sequence parses elements up to "|", ")" or the end of the line (inside
// parentheses, newlines are blanks).
func (p *gbnfParser) sequence(depth int) (Expr, error) {
	var seq Seq
	nested := depth > 0
	for p.pos < len(p.src) {
		start := p.pos
		var e Expr
		switch c := p.src[p.pos]; {
		case c == '"':
			p.pos++
			var b strings.Builder
			for {
				if p.pos >= len(p.src) {
					p.pos = start
					return nil, p.errorf("unterminated literal")
				}
				if p.src[p.pos] == '"' {
					p.pos++
					break
				}
				r, err := p.char()
				if err != nil {
					return nil, err
				}
				b.WriteRune(r)
			}
			e = Lit(b.String())
		case c == '[':
			cl, err := p.class()
			if err != nil {
				return nil, err
			}
			e = cl
		case c == '.':
			p.pos++
			e = Class{Negated: true} // any code point
		case c == '(':
			p.pos++
			p.space(true)
			inner, err := p.alternatives(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				p.pos = start
				return nil, p.errorf("unclosed (")
			}
			p.pos++
			e = inner
		case isWordChar(c):
			e = Ref(p.name())
		case c == '|' || c == ')' || c == '\n' || c == '\r':
			return seq, nil
		case c == '*' || c == '+' || c == '?' || c == '{':
			return nil, p.errorf("%q with nothing before it to repeat", string(c))
		case c == '<':
			return nil, p.errorf("token references (<...>) are not supported")
		default:
			return nil, p.errorf("unexpected %q", p.peekRune())
		}
		p.space(nested)
		// Postfix repetitions, possibly stacked (x?* is legal GBNF).
		for p.pos < len(p.src) {
			c := p.src[p.pos]
			if c == '*' || c == '+' || c == '?' {
				p.pos++
				e = Repeat{X: e, Min: map[byte]int{'*': 0, '+': 1, '?': 0}[c], Max: map[byte]int{'*': -1, '+': -1, '?': 1}[c]}
			} else if c == '{' {
				lo, hi, err := p.braces()
				if err != nil {
					return nil, err
				}
				e = Repeat{X: e, Min: lo, Max: hi}
			} else {
				break
			}
			p.space(nested)
		}
		seq = append(seq, e)
	}
	return seq, nil
}

// braces parses {m}, {m,} or {m,n}.
func (p *gbnfParser) braces() (int, int, error) {
	start := p.pos
	p.pos++
	num := func() (int, bool) {
		p.space(false)
		s := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if s == p.pos {
			return 0, false
		}
		n, err := strconv.Atoi(p.src[s:p.pos])
		if err != nil || n > MaxRepeat {
			return MaxRepeat + 1, true
		}
		return n, true
	}
	lo, ok := num()
	if !ok {
		return 0, 0, p.errorf("expected a number after {")
	}
	hi := lo
	p.space(false)
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		var ok bool
		if hi, ok = num(); !ok {
			hi = -1
		}
		p.space(false)
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '}' {
		return 0, 0, p.errorf("expected } to close the repetition")
	}
	p.pos++
	if lo > MaxRepeat || hi > MaxRepeat || (hi >= 0 && hi < lo) {
		p.pos = start
		return 0, 0, p.errorf("repetition {%d,%d} is inverted or over %d", lo, hi, MaxRepeat)
	}
	return lo, hi, nil
}

// class parses [...] with ranges, negation and escapes.
func (p *gbnfParser) class() (Class, error) {
	start := p.pos
	p.pos++
	var c Class
	if p.pos < len(p.src) && p.src[p.pos] == '^' {
		c.Negated = true
		p.pos++
	}
	for {
		if p.pos >= len(p.src) {
			p.pos = start
			return c, p.errorf("unterminated character class")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return c, nil
		}
		lo, err := p.char()
		if err != nil {
			return c, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.char(); err != nil {
				return c, err
			}
			if hi < lo {
				return c, p.errorf("range %q-%q is inverted", lo, hi)
			}
		}
		c.Ranges = append(c.Ranges, Range{lo, hi})
	}
}

// char reads one (possibly escaped) code point.
func (p *gbnfParser) char() (rune, error) {
	if p.src[p.pos] != '\\' {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		p.pos += n
		return r, nil
	}
	if p.pos+1 >= len(p.src) {
		return 0, p.errorf("escape at the end of input")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	hex := 0
	switch c {
	case 'x':
		hex = 2
	case 'u':
		hex = 4
	case 'U':
		hex = 8
	case 't':
		return '\t', nil
	case 'r':
		return '\r', nil
	case 'n':
		return '\n', nil
	case '\\', '"', '[', ']', '/', '-', '^':
		return rune(c), nil
	default:
		p.pos -= 2
		return 0, p.errorf("unknown escape \\%c", c)
	}
	if p.pos+hex > len(p.src) {
		return 0, p.errorf("expected %d hex digits", hex)
	}
	v, err := strconv.ParseUint(p.src[p.pos:p.pos+hex], 16, 32)
	if err != nil {
		return 0, p.errorf("expected %d hex digits", hex)
	}
	p.pos += hex
	if v > utf8.MaxRune {
		return 0, p.errorf("code point %X is beyond U+10FFFF", v)
	}
	return rune(v), nil
}
