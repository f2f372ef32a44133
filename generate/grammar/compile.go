// Reference: llama.cpp src/llama-grammar.cpp (rules as alternatives of element runs, repetition
// rewritten into helper rules, left recursion rejected) and UTF-8 (RFC 3629) for code-point classes.

package grammar

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"
)

// Limits on what Compile accepts, so that a hostile grammar or schema is
// an error rather than an unbounded allocation.
const (
	MaxElements = 1 << 20 // elements in all alternatives together
	MaxRules    = 1 << 16 // rules, helper rules included
	MaxRepeat   = 10000   // the largest finite bound of a repetition
)

// Element kinds.
const (
	kEnd  uint8 = iota // end of an alternative
	kChar              // one code point of class arg
	kRule              // rule arg
)

type elem struct {
	kind uint8
	arg  int32
}

// class is a set of code points: sorted, disjoint, non-adjacent ranges
// without surrogates, and a bitmap of its ASCII members for the common case.
type class struct {
	ranges []Range
	ascii  [2]uint64
}

func (c *class) has(r rune) bool {
	if r < 128 {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	i := sort.Search(len(c.ranges), func(i int) bool { return c.ranges[i].Hi >= r })
	return i < len(c.ranges) && c.ranges[i].Lo <= r
}

// meets reports whether the class holds a code point in [lo, hi].
func (c *class) meets(lo, hi rune) bool {
	i := sort.Search(len(c.ranges), func(i int) bool { return c.ranges[i].Hi >= lo })
	return i < len(c.ranges) && c.ranges[i].Lo <= hi
}

// Grammar is a compiled, read-only grammar; many Matchers may share it.
type Grammar struct {
	elems   []elem    // alternatives, each a run ending in kEnd
	rules   [][]int32 // rule → start of each alternative in elems
	names   []string  // rule → name (helper rules: parent name with a suffix)
	classes []class
	root    int32

	costOnce sync.Once // budget.go: suf is computed on first use, by whichever Matcher needs it
	suf      []int32
}

// RuleCount is the number of rules, helper rules included.
func (g *Grammar) RuleCount() int { return len(g.rules) }

type compiler struct {
	g       *Grammar
	ids     map[string]int32
	classID map[string]int32
	err     error
}

// Compile flattens rules into a Grammar whose start rule is root. Every
// referenced rule must be defined, and no rule may be left-recursive
// (reach itself before consuming a character), as in llama.cpp.
func Compile(rules *Rules, root string) (*Grammar, error) {
	c := &compiler{g: &Grammar{}, ids: map[string]int32{}, classID: map[string]int32{}}
	if !rules.Has(root) {
		return nil, fmt.Errorf("grammar: no rule %q to start from", root)
	}
	for _, n := range rules.names {
		c.newRule(n)
	}
	for _, n := range rules.names {
		c.define(c.ids[n], n, rules.defs[n])
		if c.err != nil {
			return nil, c.err
		}
	}
	c.g.root = c.ids[root]
	if err := c.g.checkLeftRecursion(); err != nil {
		return nil, err
	}
	return c.g, nil
}

func (c *compiler) newRule(name string) int32 {
	id := int32(len(c.g.rules))
	if len(c.g.rules) >= MaxRules {
		if c.err == nil {
			c.err = fmt.Errorf("grammar: more than %d rules", MaxRules)
		}
		return 0
	}
	c.g.rules = append(c.g.rules, nil)
	c.g.names = append(c.g.names, name)
	if _, ok := c.ids[name]; !ok {
		c.ids[name] = id
	}
	return id
}

// define sets the alternatives of rule id from e.
func (c *compiler) define(id int32, name string, e Expr) {
	alts := []Expr{e}
	if a, ok := e.(Alt); ok {
		alts = a
	}
	if len(alts) == 0 {
		c.fail("grammar: rule %q has no alternatives", name)
		return
	}
	var starts []int32
	for _, a := range alts {
		// Compile the run into a scratch slice first: helper rules made
		// while compiling it append their own runs to g.elems.
		run := c.seq(name, a, nil)
		starts = append(starts, int32(len(c.g.elems)))
		c.g.elems = append(c.g.elems, run...)
		c.g.elems = append(c.g.elems, elem{kind: kEnd})
		if len(c.g.elems) > MaxElements {
			c.fail("grammar: more than %d elements (rule %q)", MaxElements, name)
			return
		}
	}
	c.g.rules[id] = starts
}

func (c *compiler) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// seq appends the elements matching e to out.
func (c *compiler) seq(name string, e Expr, out []elem) []elem {
	if c.err != nil {
		return out
	}
	if len(out) > MaxElements {
		c.fail("grammar: more than %d elements (rule %q)", MaxElements, name)
		return out
	}
	switch e := e.(type) {
	case Seq:
		for _, x := range e {
			out = c.seq(name, x, out)
		}
	case Lit:
		if !utf8.ValidString(string(e)) {
			c.fail("grammar: rule %q: literal %q is not valid UTF-8", name, string(e))
			return out
		}
		for _, r := range string(e) {
			out = append(out, elem{kind: kChar, arg: c.class(Class{Ranges: []Range{{r, r}}})})
		}
	case Class:
		out = append(out, elem{kind: kChar, arg: c.class(e)})
	case Ref:
		id, ok := c.ids[string(e)]
		if !ok {
			c.fail("grammar: rule %q refers to undefined rule %q", name, string(e))
			return out
		}
		out = append(out, elem{kind: kRule, arg: id})
	case Alt:
		if len(e) == 1 {
			return c.seq(name, e[0], out)
		}
		id := c.newRule(fmt.Sprintf("%s-%d", name, len(c.g.rules)))
		c.define(id, name, e)
		out = append(out, elem{kind: kRule, arg: id})
	case Repeat:
		out = c.repeat(name, e, out)
	case nil:
		c.fail("grammar: rule %q has an empty expression", name)
	default:
		c.fail("grammar: rule %q: unknown expression %T", name, e)
	}
	return out
}

// repeat expands x{min,max} as llama.cpp does: min copies, then either a
// right-recursive star rule (x*: s ::= x s | ε, which the matcher runs in
// constant stack depth) or max-min nested optional rules.
func (c *compiler) repeat(name string, e Repeat, out []elem) []elem {
	if e.Min < 0 || e.Min > MaxRepeat || e.Max > MaxRepeat || (e.Max >= 0 && e.Max < e.Min) {
		c.fail("grammar: rule %q: repetition {%d,%d} is outside 0…%d or inverted", name, e.Min, e.Max, MaxRepeat)
		return out
	}
	// Give x a rule of its own unless it is a single element already.
	var x []elem
	if one := c.seq(name, e.X, nil); len(one) == 1 {
		x = one
	} else {
		id := c.newRule(fmt.Sprintf("%s-%d", name, len(c.g.rules)))
		c.addAlts(id, name, [][]elem{one})
		x = []elem{{kind: kRule, arg: id}}
	}
	if c.err != nil {
		return out
	}
	if (e.Min+max(e.Max, 1))*len(x) > MaxElements {
		c.fail("grammar: more than %d elements (rule %q)", MaxElements, name)
		return out
	}
	for range e.Min {
		out = append(out, x...)
	}
	if e.Max < 0 {
		id := c.newRule(fmt.Sprintf("%s-%d", name, len(c.g.rules)))
		c.addAlts(id, name, [][]elem{append(slices.Clone(x), elem{kind: kRule, arg: id}), nil})
		return append(out, elem{kind: kRule, arg: id})
	}
	// opt_k ::= x opt_{k-1} | ε, built innermost first.
	var inner []elem
	for range e.Max - e.Min {
		id := c.newRule(fmt.Sprintf("%s-%d", name, len(c.g.rules)))
		c.addAlts(id, name, [][]elem{append(slices.Clone(x), inner...), nil})
		if c.err != nil {
			return out
		}
		inner = []elem{{kind: kRule, arg: id}}
	}
	return append(out, inner...)
}

func (c *compiler) addAlts(id int32, name string, runs [][]elem) {
	if c.err != nil {
		return
	}
	var starts []int32
	for _, run := range runs {
		starts = append(starts, int32(len(c.g.elems)))
		c.g.elems = append(c.g.elems, run...)
		c.g.elems = append(c.g.elems, elem{kind: kEnd})
	}
	if len(c.g.elems) > MaxElements {
		c.fail("grammar: more than %d elements (rule %q)", MaxElements, name)
	}
	c.g.rules[id] = starts
}

// class interns a character class, normalised to sorted disjoint ranges
// without surrogates (which UTF-8 cannot carry), negation applied.
func (c *compiler) class(cl Class) int32 {
	rs := normRanges(cl.Ranges)
	if cl.Negated {
		rs = complement(rs)
	}
	key := fmt.Sprint(rs)
	if id, ok := c.classID[key]; ok {
		return id
	}
	k := class{ranges: rs}
	for _, r := range rs {
		for x := r.Lo; x <= r.Hi && x < 128; x++ {
			k.ascii[x>>6] |= 1 << (x & 63)
		}
	}
	id := int32(len(c.g.classes))
	c.g.classes = append(c.g.classes, k)
	c.classID[key] = id
	return id
}

// normRanges sorts and merges ranges, drops inverted ones and cuts out the
// surrogates and everything above U+10FFFF.
func normRanges(in []Range) []Range {
	var rs []Range
	for _, r := range in {
		if r.Lo > r.Hi || r.Hi < 0 || r.Lo > utf8.MaxRune {
			continue
		}
		r.Lo, r.Hi = max(r.Lo, 0), min(r.Hi, utf8.MaxRune)
		if r.Lo < 0xD800 && r.Hi > 0xDFFF {
			rs = append(rs, Range{r.Lo, 0xD7FF}, Range{0xE000, r.Hi})
			continue
		}
		if r.Lo >= 0xD800 && r.Lo <= 0xDFFF {
			r.Lo = 0xE000
		}
		if r.Hi >= 0xD800 && r.Hi <= 0xDFFF {
			r.Hi = 0xD7FF
		}
		if r.Lo <= r.Hi {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b Range) int { return int(a.Lo - b.Lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// complement returns the code points (surrogates excluded) not in rs.
func complement(rs []Range) []Range {
	var out []Range
	next := rune(0)
	for _, r := range rs {
		if r.Lo > next {
			out = append(out, Range{next, r.Lo - 1})
		}
		next = r.Hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, Range{next, utf8.MaxRune})
	}
	return normRanges(out)
}

// checkLeftRecursion rejects a rule that can reach itself through leading
// nullable elements: the matcher would expand it forever.
func (g *Grammar) checkLeftRecursion() error {
	n := len(g.rules)
	nullable := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for r, alts := range g.rules {
			if nullable[r] {
				continue
			}
			for _, a := range alts {
				if g.runNullable(a, nullable) {
					nullable[r], changed = true, true
					break
				}
			}
		}
	}
	// Edges r → s when s can start r; then look for a cycle (iterative DFS).
	first := make([][]int32, n)
	for r, alts := range g.rules {
		for _, a := range alts {
			for i := a; g.elems[i].kind == kRule; i++ {
				first[r] = append(first[r], g.elems[i].arg)
				if !nullable[g.elems[i].arg] {
					break
				}
			}
		}
	}
	color := make([]uint8, n) // 0 new, 1 on the path, 2 done
	type frame struct{ r, i int32 }
	for start := range n {
		if color[start] != 0 {
			continue
		}
		stack := []frame{{int32(start), 0}}
		color[start] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if int(f.i) == len(first[f.r]) {
				color[f.r] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			s := first[f.r][f.i]
			f.i++
			switch color[s] {
			case 1:
				return fmt.Errorf("grammar: rule %q is left-recursive (it can reach itself before any character)", g.names[s])
			case 0:
				color[s] = 1
				stack = append(stack, frame{s, 0})
			}
		}
	}
	return nil
}

func (g *Grammar) runNullable(a int32, nullable []bool) bool {
	for i := a; ; i++ {
		switch e := g.elems[i]; e.kind {
		case kEnd:
			return true
		case kChar:
			return false
		case kRule:
			if !nullable[e.arg] {
				return false
			}
		}
	}
}
