// Reference: llama.cpp src/llama-grammar.cpp (llama_grammar_advance_stack, llama_grammar_accept:
// a parse state is a set of pushdown stacks whose tops are character elements) and RFC 3629 §4
// (the valid UTF-8 byte sequences, which decide what a partial character can still become).

package grammar

import (
	"fmt"
	"strings"
)

// MaxStacks bounds the parse stacks of one state. Only a highly ambiguous
// grammar gets near it; past it the step fails with an error rather than
// growing without limit.
const MaxStacks = 4096

// node is one entry of a parse stack: the element position pos, below it
// parent. Nodes are hash-consed per Matcher, so equal stacks are the same
// pointer, tails are shared, and a state is a handful of pointers.
type node struct {
	pos    int32  // index into Grammar.elems: a kChar at a stack's top, a continuation below
	emark  uint32 // dedup stamp of the set expand is building
	amark  uint32 // dedup stamp of the set advance is building
	id     uint32 // for mask-cache keys
	chain  int32  // budget.go: 1 + the fewest bytes that complete this node and those below it; 0 unknown
	parent *node
}

// nodeKey is pos and the parent's id (0 for none) in one word: integer
// keys hash several times faster than structs holding pointers.
func nodeKey(pos int32, parent *node) uint64 {
	var pid uint64
	if parent != nil {
		pid = uint64(parent.id)
	}
	return pid<<32 | uint64(uint32(pos))
}

// state is a parse state: the stacks that can take the next character,
// whether the input so far is a complete sentence, and the bytes of a
// UTF-8 character begun but not finished (val holds its bits so far, rem
// the continuation bytes still due, n its length).
type state struct {
	stacks []*node
	accept bool
	val    rune
	n, rem uint8
}

func (s *state) copyFrom(o *state) {
	s.stacks = append(s.stacks[:0], o.stacks...)
	s.accept, s.val, s.n, s.rem = o.accept, o.val, o.n, o.rem
}

// Matcher is the parse state of one output over a Grammar, and the token
// masks derived from it. Not safe for concurrent use; make one per output.
type Matcher struct {
	g      *Grammar
	v      *Vocab
	nodes  map[uint64]*node   // by nodeKey
	trans  map[uint64][]*node // successors of a stack, by its id
	nextID uint32
	egen   uint32 // expand's set number
	agen   uint32 // advance's set number
	cur    state
	tmp    state
	ended  bool  // an end-of-generation token was accepted
	err    error // a limit was hit while stepping

	hits    []*node             // advance's scratch
	dstates []dstate            // Mask: interned states with memoised transitions (dfa.go)
	dindex  map[string]int32    // state key → index in dstates
	levels  []int32             // Mask: the state id after each trie depth
	cache   map[string][]uint64 // Mask: masks by state
	key     []byte

	budget, used int              // SetBudget: tokens the output may take (0: no bound), tokens accepted since
	needs        map[string]int32 // budget.go: by state, the most tokens any allowed token leaves to be needed
}

// NewMatcher starts a parse at g's root rule. v may be nil when only
// bytes are fed (AcceptBytes); Mask and Accept need it.
func NewMatcher(g *Grammar, v *Vocab) *Matcher {
	m := &Matcher{g: g, v: v}
	m.resetCaches()
	m.egen++
	for _, a := range g.rules[g.root] {
		m.expand(m.intern(a, nil), &m.cur)
	}
	return m
}

func (m *Matcher) resetCaches() {
	m.nodes = map[uint64]*node{}
	m.trans = map[uint64][]*node{}
	m.resetDFA() // its states point into the dropped tables' nodes by id
}

func (m *Matcher) intern(pos int32, parent *node) *node {
	k := nodeKey(pos, parent)
	if n, ok := m.nodes[k]; ok {
		return n
	}
	m.nextID++
	n := &node{pos: pos, id: m.nextID, parent: parent}
	m.nodes[k] = n
	return n
}

// expand adds to out every stack that s reaches without consuming a
// character: stacks whose top is a character element, and acceptance when
// the bottom is popped. Left recursion was rejected by Compile, so this
// terminates.
func (m *Matcher) expand(s *node, out *state) {
	g := m.g
	for {
		// A node met twice while building one set expands the same way
		// twice: stop, so that grammars with many ways to reach the same
		// stack (x ::= y | y nested) cost linear, not exponential, time.
		if s.emark == m.egen {
			return
		}
		s.emark = m.egen
		e := g.elems[s.pos]
		switch e.kind {
		case kChar:
			out.stacks = append(out.stacks, s)
			return
		case kEnd:
			if s.parent == nil {
				out.accept = true
				return
			}
			s = s.parent
		case kRule:
			// A reference last in its alternative returns straight to the
			// parent (a tail call), so right recursion such as x* keeps
			// the stack's depth constant.
			base := s.parent
			if g.elems[s.pos+1].kind != kEnd {
				base = m.intern(s.pos+1, s.parent)
			}
			alts := g.rules[e.arg]
			for _, a := range alts[:len(alts)-1] {
				m.expand(m.intern(a, base), out)
			}
			s = m.intern(alts[len(alts)-1], base)
		}
	}
}

// successors returns the stacks that s becomes after a character its top
// class holds. Which character does not matter (the class was checked), so
// the result is memoised per stack.
func (m *Matcher) successors(s *node) []*node {
	if out, ok := m.trans[uint64(s.id)]; ok {
		return out
	}
	if len(m.trans) > 1<<18 || len(m.nodes) > 1<<18 { // about 30 MB
		// Only sharing is lost: stale nodes stay valid, and ids keep
		// growing, so no two live nodes share a key.
		m.nodes = map[uint64]*node{}
		m.trans = map[uint64][]*node{}
	}
	var st state
	m.egen++
	m.expand(m.intern(s.pos+1, s.parent), &st)
	if st.accept {
		st.stacks = append(st.stacks, nil) // nil: the input may end here
	}
	m.trans[uint64(s.id)] = st.stacks
	return st.stacks
}

// advance sets out to in after code point r.
func (m *Matcher) advance(in *state, r rune, out *state) bool {
	out.stacks, out.accept, out.val, out.n, out.rem = out.stacks[:0], false, 0, 0, 0
	hits := m.hits[:0]
	for _, s := range in.stacks {
		if m.g.classes[m.g.elems[s.pos].arg].has(r) {
			hits = append(hits, s)
		}
	}
	m.hits = hits
	if len(hits) == 0 {
		return false
	}
	m.agen++
	for _, s := range hits {
		for _, t := range m.successors(s) {
			switch {
			case t == nil:
				out.accept = true
			case t.amark != m.agen:
				t.amark = m.agen
				out.stacks = append(out.stacks, t)
			}
		}
	}
	if len(out.stacks) > MaxStacks {
		if m.err == nil {
			m.err = fmt.Errorf("grammar: more than %d parse stacks: the grammar is too ambiguous", MaxStacks)
		}
		return false
	}
	return true
}

// Code points of an n-byte UTF-8 sequence start at minRune[n].
var minRune = [5]rune{0, 0, 0x80, 0x800, 0x10000}

// span returns the code points a partial character can still become.
func span(val rune, n, rem uint8) (lo, hi rune, ok bool) {
	lo = val << (6 * rem)
	hi = lo | (1<<(6*rem) - 1)
	lo, hi = max(lo, minRune[n]), min(hi, 0x10FFFF)
	if lo >= 0xD800 && hi <= 0xDFFF {
		return 0, 0, false // only surrogates left
	}
	return lo, hi, lo <= hi
}

// step sets out to in after byte b and reports whether b can continue the
// input. A byte that starts or continues a multi-byte character keeps only
// the stacks whose class holds a code point it can still become, so a
// partial character is never accepted that no completion would allow.
func (m *Matcher) step(in *state, b byte, out *state) bool {
	if in.rem == 0 {
		if b < 0x80 {
			return m.advance(in, rune(b), out)
		}
		var val rune
		var n uint8
		switch {
		case b >= 0xC2 && b <= 0xDF:
			val, n = rune(b&0x1F), 2
		case b >= 0xE0 && b <= 0xEF:
			val, n = rune(b&0x0F), 3
		case b >= 0xF0 && b <= 0xF4:
			val, n = rune(b&0x07), 4
		default:
			return false
		}
		return m.partial(in, val, n, n-1, out)
	}
	if b < 0x80 || b > 0xBF {
		return false
	}
	val, rem := in.val<<6|rune(b&0x3F), in.rem-1
	if rem == 0 {
		if _, _, ok := span(val, in.n, 0); !ok {
			return false
		}
		return m.advance(in, val, out)
	}
	return m.partial(in, val, in.n, rem, out)
}

func (m *Matcher) partial(in *state, val rune, n, rem uint8, out *state) bool {
	out.stacks, out.accept, out.val, out.n, out.rem = out.stacks[:0], false, val, n, rem
	lo, hi, ok := span(val, n, rem)
	if !ok {
		return false
	}
	for _, s := range in.stacks {
		if m.g.classes[m.g.elems[s.pos].arg].meets(lo, hi) {
			out.stacks = append(out.stacks, s)
		}
	}
	return len(out.stacks) > 0
}

// AcceptBytes advances the parse over p, or returns an error (and leaves
// the state as it was) when p cannot continue the input.
func (m *Matcher) AcceptBytes(p []byte) error {
	if m.ended {
		return fmt.Errorf("grammar: input after the end of generation")
	}
	save := state{}
	save.copyFrom(&m.cur)
	for i, b := range p {
		if !m.step(&m.cur, b, &m.tmp) {
			m.cur = save
			if err := m.err; err != nil {
				m.err = nil
				return err
			}
			return fmt.Errorf("grammar: %q cannot continue the output at byte %d (%q)", p, i, b)
		}
		m.cur, m.tmp = m.tmp, m.cur
	}
	return nil
}

// Accepting reports whether the input so far is a complete sentence.
func (m *Matcher) Accepting() bool { return m.cur.accept && m.cur.rem == 0 }

// Done reports whether nothing but the end of generation can follow.
func (m *Matcher) Done() bool {
	return m.ended || (m.Accepting() && len(m.cur.stacks) == 0)
}

// Accept advances the parse over token tok's bytes; an end-of-generation
// token is accepted only in an accepting state.
func (m *Matcher) Accept(tok int32) error {
	v := m.v
	if v == nil || tok < 0 || int(tok) >= v.n {
		return fmt.Errorf("grammar: token %d is outside the vocabulary", tok)
	}
	m.used++
	if v.eog[tok] {
		if !m.Accepting() {
			return fmt.Errorf("grammar: end of generation (token %d) before the output is complete", tok)
		}
		m.ended = true
		return nil
	}
	if !v.usable[tok] {
		return fmt.Errorf("grammar: token %d has no text the grammar can take", tok)
	}
	if err := m.AcceptBytes(v.bytes[tok]); err != nil {
		return fmt.Errorf("grammar: token %d (%q): %w", tok, v.bytes[tok], err)
	}
	return nil
}

// stateKey returns a key for the current state, for the mask cache.
func (m *Matcher) stateKey() string {
	m.key = stateKeyOf(m.key[:0], &m.cur)
	return string(m.key)
}

// describe lists what the stacks expect next (at most five), for errors.
func (m *Matcher) describe() string {
	var b strings.Builder
	for i, s := range m.cur.stacks {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(m.cur.stacks)-5)
			break
		}
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(exprString(Class{Ranges: m.g.classes[m.g.elems[s.pos].arg].ranges}, false))
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}
