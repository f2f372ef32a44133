// Reference: ECMA-262 §22.2 (the regular expressions JSON Schema's pattern uses; the subset here
// is what schemas in the wild use), RFC 3339 §5.6 (date, time, date-time), RFC 4122 §3 (uuid) and
// JSON Schema 2020-12 Validation §7.3 (format).

package grammar

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Limits on patterns.
const (
	maxPatternBytes = 4096
	maxPatternDepth = 32
)

// patternExpr matches the JSON string contents (escapes included) whose
// decoded value matches the regular expression p. JSON Schema patterns are
// not anchored: without ^ or $ the match may start or end anywhere.
func patternExpr(p string) (Expr, error) {
	if len(p) > maxPatternBytes {
		return nil, fmt.Errorf("pattern of %d bytes is over the limit of %d", len(p), maxPatternBytes)
	}
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("pattern is not valid UTF-8")
	}
	rp := &regexParser{src: []rune(p)}
	anyChar := Star(jsonChar(Class{Negated: true}))
	var seq Seq
	if rp.peek() == '^' {
		rp.pos++
	} else {
		seq = append(seq, anyChar)
	}
	e, err := rp.alternation(0)
	if err != nil {
		return nil, err
	}
	seq = append(seq, e)
	if rp.peek() == '$' && rp.pos == len(rp.src)-1 {
		rp.pos++
	} else {
		seq = append(seq, anyChar)
	}
	if rp.pos != len(rp.src) {
		return nil, fmt.Errorf("unexpected %q at offset %d (only a leading ^ and a trailing $ anchor are supported)", string(rp.src[rp.pos]), rp.pos)
	}
	return seq, nil
}

type regexParser struct {
	src []rune
	pos int
}

func (p *regexParser) peek() rune {
	if p.pos >= len(p.src) {
		return -1
	}
	return p.src[p.pos]
}

func (p *regexParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *regexParser) alternation(depth int) (Expr, error) {
	if depth > maxPatternDepth {
		return nil, p.errorf("groups nested deeper than %d", maxPatternDepth)
	}
	var alts Alt
	for {
		s, err := p.sequence(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if p.peek() != '|' {
			break
		}
		p.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *regexParser) sequence(depth int) (Expr, error) {
	var seq Seq
	for {
		c := p.peek()
		if c == -1 || c == '|' || c == ')' {
			return seq, nil
		}
		if c == '$' && p.pos == len(p.src)-1 {
			return seq, nil
		}
		var e Expr
		switch c {
		case '(':
			p.pos++
			if p.peek() == '?' {
				if p.pos+1 < len(p.src) && p.src[p.pos+1] == ':' {
					p.pos += 2
				} else {
					return nil, p.errorf("lookaround and named groups are not supported")
				}
			}
			inner, err := p.alternation(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.peek() != ')' {
				return nil, p.errorf("missing )")
			}
			p.pos++
			e = inner
		case '[':
			cl, err := p.class()
			if err != nil {
				return nil, err
			}
			e = jsonChar(cl)
		case '.':
			p.pos++
			e = jsonChar(Class{Ranges: []Range{{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}, Negated: true})
		case '\\':
			cl, err := p.escape(false)
			if err != nil {
				return nil, err
			}
			e = jsonChar(cl)
		case '^', '$':
			return nil, p.errorf("anchor %q inside the pattern is not supported", string(c))
		case '*', '+', '?', '{':
			return nil, p.errorf("%q with nothing to repeat", string(c))
		default:
			p.pos++
			e = jsonChar(Class{Ranges: []Range{{c, c}}})
		}
		e, err := p.quantifier(e)
		if err != nil {
			return nil, err
		}
		seq = append(seq, e)
	}
}

func (p *regexParser) quantifier(e Expr) (Expr, error) {
	for {
		var lo, hi int
		switch p.peek() {
		case '*':
			lo, hi = 0, -1
			p.pos++
		case '+':
			lo, hi = 1, -1
			p.pos++
		case '?':
			lo, hi = 0, 1
			p.pos++
		case '{':
			start := p.pos
			p.pos++
			num := func() (int, bool) {
				s := p.pos
				for p.peek() >= '0' && p.peek() <= '9' {
					p.pos++
				}
				if s == p.pos {
					return 0, false
				}
				n, err := strconv.Atoi(string(p.src[s:p.pos]))
				if err != nil || n > MaxRepeat {
					return MaxRepeat + 1, true
				}
				return n, true
			}
			var ok bool
			if lo, ok = num(); !ok {
				p.pos = start
				return nil, p.errorf("a literal { must be escaped")
			}
			hi = lo
			if p.peek() == ',' {
				p.pos++
				if hi, ok = num(); !ok {
					hi = -1
				}
			}
			if p.peek() != '}' {
				return nil, p.errorf("missing } in a repetition")
			}
			p.pos++
			if lo > MaxRepeat || hi > MaxRepeat || (hi >= 0 && hi < lo) {
				return nil, p.errorf("repetition {%d,%d} is inverted or over %d", lo, hi, MaxRepeat)
			}
		default:
			return e, nil
		}
		if p.peek() == '?' { // lazy: the same language
			p.pos++
		}
		e = Repeat{X: e, Min: lo, Max: hi}
	}
}

// class parses [...] (the [ is at pos).
func (p *regexParser) class() (Class, error) {
	p.pos++
	var c Class
	if p.peek() == '^' {
		c.Negated = true
		p.pos++
	}
	first := true
	for {
		ch := p.peek()
		if ch == -1 {
			return c, p.errorf("missing ]")
		}
		if ch == ']' && !first {
			p.pos++
			return c, nil
		}
		first = false
		var lo rune
		if ch == '\\' {
			cl, err := p.escape(true)
			if err != nil {
				return c, err
			}
			if cl.Negated || len(cl.Ranges) != 1 || cl.Ranges[0].Lo != cl.Ranges[0].Hi {
				if cl.Negated {
					return c, p.errorf("negated escapes (\\D, \\W, \\S) inside a class are not supported")
				}
				c.Ranges = append(c.Ranges, cl.Ranges...)
				continue
			}
			lo = cl.Ranges[0].Lo
		} else {
			lo = ch
			p.pos++
		}
		hi := lo
		if p.peek() == '-' && p.pos+1 < len(p.src) && p.src[p.pos+1] != ']' {
			p.pos++
			if p.peek() == '\\' {
				cl, err := p.escape(true)
				if err != nil {
					return c, err
				}
				if cl.Negated || len(cl.Ranges) != 1 || cl.Ranges[0].Lo != cl.Ranges[0].Hi {
					return c, p.errorf("a class escape cannot end a range")
				}
				hi = cl.Ranges[0].Lo
			} else {
				hi = p.peek()
				p.pos++
			}
			if hi < lo {
				return c, p.errorf("range out of order")
			}
		}
		c.Ranges = append(c.Ranges, Range{lo, hi})
	}
}

var (
	classDigit = []Range{{'0', '9'}}
	classWord  = []Range{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
	classSpace = []Range{{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}}
)

// escape parses \x (the \ is at pos) as a class of one or more ranges.
func (p *regexParser) escape(inClass bool) (Class, error) {
	p.pos++
	c := p.peek()
	if c == -1 {
		return Class{}, p.errorf("trailing backslash")
	}
	p.pos++
	one := func(r rune) (Class, error) { return Class{Ranges: []Range{{r, r}}}, nil }
	switch c {
	case 'd':
		return Class{Ranges: classDigit}, nil
	case 'D':
		return Class{Ranges: classDigit, Negated: true}, nil
	case 'w':
		return Class{Ranges: classWord}, nil
	case 'W':
		return Class{Ranges: classWord, Negated: true}, nil
	case 's':
		return Class{Ranges: classSpace}, nil
	case 'S':
		return Class{Ranges: classSpace, Negated: true}, nil
	case 'n':
		return one('\n')
	case 'r':
		return one('\r')
	case 't':
		return one('\t')
	case 'f':
		return one('\f')
	case 'v':
		return one('\v')
	case '0':
		return one(0)
	case 'x', 'u':
		n := 2
		if c == 'u' {
			n = 4
		}
		if p.pos+n > len(p.src) {
			return Class{}, p.errorf("\\%c needs %d hex digits", c, n)
		}
		v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
		if err != nil {
			return Class{}, p.errorf("\\%c needs %d hex digits", c, n)
		}
		p.pos += n
		return one(rune(v))
	case 'b', 'B':
		if inClass && c == 'b' {
			return one('\b')
		}
		return Class{}, p.errorf("word boundaries are not supported")
	}
	if c >= '1' && c <= '9' {
		return Class{}, p.errorf("back references are not supported")
	}
	if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return Class{}, p.errorf("escape \\%c is not supported", c)
	}
	return one(c) // an escaped punctuation character stands for itself
}

// formatExpr matches the JSON string contents of the formats it knows.
func formatExpr(f string) (Expr, bool) {
	d := func(n int) Expr { return Repeat{X: digit, Min: n, Max: n} }
	// Days per month are exact (February stops at 28: the 29th would
	// need the year's leap rule), so every date is a real calendar day.
	day28 := Alt{Seq{Lit("0"), digit19}, Seq{Lit("1"), digit}, Seq{Lit("2"), Class{Ranges: []Range{{'0', '8'}}}}}
	day30 := Alt{Seq{Lit("0"), digit19}, Seq{Chars("12"), digit}, Lit("30")}
	day31 := Alt{Seq{Lit("0"), digit19}, Seq{Chars("12"), digit}, Seq{Lit("3"), Chars("01")}}
	date := Seq{d(4), Lit("-"), Alt{
		Seq{Alt{Lit("01"), Lit("03"), Lit("05"), Lit("07"), Lit("08"), Lit("10"), Lit("12")}, Lit("-"), day31},
		Seq{Alt{Lit("04"), Lit("06"), Lit("09"), Lit("11")}, Lit("-"), day30},
		Seq{Lit("02-"), day28},
	}}
	hour := Alt{Seq{Chars("01"), digit}, Seq{Lit("2"), Chars("0123")}}
	min60 := Seq{Class{Ranges: []Range{{'0', '5'}}}, digit}
	offset := Alt{Chars("Zz"), Seq{Chars("+-"), hour, Lit(":"), min60}}
	time := Seq{hour, Lit(":"), min60, Lit(":"), min60, Opt(Seq{Lit("."), Repeat{X: digit, Min: 1, Max: 9}}), offset}
	hex := func(n int) Expr { return Repeat{X: Class{Ranges: []Range{{'0', '9'}, {'a', 'f'}}}, Min: n, Max: n} }
	switch f {
	case "date":
		return date, true
	case "time":
		return time, true
	case "date-time":
		return Seq{date, Chars("Tt"), time}, true
	case "uuid":
		return Seq{hex(8), Lit("-"), hex(4), Lit("-"), hex(4), Lit("-"), hex(4), Lit("-"), hex(12)}, true
	case "email":
		// A dot-atom local part and a domain of letter-digit labels: the
		// common subset of RFC 5321 that every validator accepts.
		// local part ≤ 64 bytes, labels ≤ 63, a letters-only top-level label.
		atom := Repeat{X: Class{Ranges: []Range{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'!', '!'}, {'#', '\''}, {'*', '+'}, {'-', '-'}, {'=', '='}, {'?', '?'}, {'^', '`'}, {'{', '~'}}}, Min: 1, Max: 15}
		alnum := Class{Ranges: []Range{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}}}
		label := Seq{alnum, Opt(Seq{Repeat{X: Class{Ranges: []Range{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'-', '-'}}}, Max: 20}, alnum})}
		tld := Repeat{X: Class{Ranges: []Range{{'a', 'z'}, {'A', 'Z'}}}, Min: 2, Max: 6}
		return Seq{atom, Repeat{X: Seq{Lit("."), atom}, Max: 3}, Lit("@"), label, Repeat{X: Seq{Lit("."), label}, Max: 2}, Lit("."), tld}, true
	}
	return nil, false
}
