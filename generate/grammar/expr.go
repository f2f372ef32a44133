// Reference: llama.cpp grammars/README.md (GBNF: rules, alternatives, character classes, repetition),
// whose element model (sequences of character ranges and rule references) this representation follows.

package grammar

import (
	"fmt"
	"slices"
	"strings"
)

// Expr is a grammar expression: Seq, Alt, Lit, Class, Ref or Repeat.
type Expr interface{ isExpr() }

// Seq matches its parts one after another; the empty Seq matches "".
type Seq []Expr

// Alt matches any one of its parts.
type Alt []Expr

// Lit matches its text exactly (UTF-8, matched code point by code point).
type Lit string

// Class matches one code point inside (or, negated, outside) its ranges.
type Class struct {
	Ranges  []Range
	Negated bool
}

// Range is an inclusive range of code points.
type Range struct{ Lo, Hi rune }

// Ref matches the rule of that name.
type Ref string

// Repeat matches X at least Min and at most Max times (Max < 0: no limit).
type Repeat struct {
	X        Expr
	Min, Max int
}

func (Seq) isExpr()    {}
func (Alt) isExpr()    {}
func (Lit) isExpr()    {}
func (Class) isExpr()  {}
func (Ref) isExpr()    {}
func (Repeat) isExpr() {}

// Opt matches x or nothing.
func Opt(x Expr) Expr { return Repeat{X: x, Min: 0, Max: 1} }

// Star matches x any number of times.
func Star(x Expr) Expr { return Repeat{X: x, Min: 0, Max: -1} }

// Plus matches x one or more times.
func Plus(x Expr) Expr { return Repeat{X: x, Min: 1, Max: -1} }

// Chars is a class of the listed code points.
func Chars(s string) Class {
	var c Class
	for _, r := range s {
		c.Ranges = append(c.Ranges, Range{r, r})
	}
	return c
}

// Rules is a set of named expressions, the input of Compile. The order of
// definition is kept so that compiled rule numbers (and error messages)
// are deterministic.
type Rules struct {
	names []string
	defs  map[string]Expr
}

// Define sets rule name to e, replacing an earlier definition.
func (r *Rules) Define(name string, e Expr) {
	if r.defs == nil {
		r.defs = map[string]Expr{}
	}
	if _, ok := r.defs[name]; !ok {
		r.names = append(r.names, name)
	}
	r.defs[name] = e
}

// Has reports whether name is defined.
func (r *Rules) Has(name string) bool { _, ok := r.defs[name]; return ok }

// Names returns the defined names in definition order.
func (r *Rules) Names() []string { return slices.Clone(r.names) }

// String writes the rules in GBNF, which ParseGBNF reads back.
func (r *Rules) String() string {
	var b strings.Builder
	for _, n := range r.names {
		fmt.Fprintf(&b, "%s ::= %s\n", n, exprString(r.defs[n], false))
	}
	return b.String()
}

func exprString(e Expr, nested bool) string {
	switch e := e.(type) {
	case Seq:
		if len(e) == 0 {
			return `""`
		}
		parts := make([]string, len(e))
		for i, x := range e {
			parts[i] = exprString(x, true)
		}
		s := strings.Join(parts, " ")
		if nested && len(e) > 1 {
			return "(" + s + ")"
		}
		return s
	case Alt:
		parts := make([]string, len(e))
		for i, x := range e {
			parts[i] = exprString(x, false)
		}
		s := strings.Join(parts, " | ")
		if nested {
			return "(" + s + ")"
		}
		return s
	case Lit:
		var b strings.Builder
		b.WriteByte('"')
		for _, c := range string(e) {
			b.WriteString(escapeRune(c, '"'))
		}
		b.WriteByte('"')
		return b.String()
	case Class:
		var b strings.Builder
		b.WriteByte('[')
		if e.Negated {
			b.WriteByte('^')
		}
		for _, rg := range e.Ranges {
			b.WriteString(escapeRune(rg.Lo, ']'))
			if rg.Hi != rg.Lo {
				b.WriteByte('-')
				b.WriteString(escapeRune(rg.Hi, ']'))
			}
		}
		b.WriteByte(']')
		return b.String()
	case Ref:
		return string(e)
	case Repeat:
		x := exprString(e.X, true)
		switch {
		case e.Min == 0 && e.Max == 1:
			return x + "?"
		case e.Min == 0 && e.Max < 0:
			return x + "*"
		case e.Min == 1 && e.Max < 0:
			return x + "+"
		case e.Max < 0:
			return fmt.Sprintf("%s{%d,}", x, e.Min)
		case e.Min == e.Max:
			return fmt.Sprintf("%s{%d}", x, e.Min)
		}
		return fmt.Sprintf("%s{%d,%d}", x, e.Min, e.Max)
	}
	return "?"
}

// escapeRune writes c as GBNF source inside a literal or class closed by quote.
func escapeRune(c rune, quote rune) string {
	switch c {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\\':
		return `\\`
	case quote:
		return `\` + string(c)
	case '[', ']', '"':
		return `\` + string(c)
	}
	if quote == ']' && (c == '-' || c == '^') {
		return fmt.Sprintf(`\x%02X`, c) // GBNF has no \- or \^ escape
	}
	if c < 0x20 || c == 0x7f {
		return fmt.Sprintf(`\x%02X`, c)
	}
	if c >= 0xD800 && c <= 0xDFFF || c > 0x10FFFF {
		return fmt.Sprintf(`\U%08X`, c)
	}
	return string(c)
}
