// Reference: llguidance docs/optimizations.md (token masks by a depth-first walk of the token trie
// that carries the parser state along and prunes refused prefixes) and llama.cpp
// llama_grammar_apply_impl (end-of-generation allowed only when the grammar is complete).

package grammar

import "fmt"

// maskCacheSize bounds the masks a Matcher keeps by state.
const maskCacheSize = 64

// Mask sets bit t of allowed (t/64, t%64) for every token t that can
// continue the output: its bytes are a valid continuation (it need not
// complete anything), or it ends generation and the output is complete.
// allowed must have Vocab.MaskWords() words. An error means no token at
// all can follow, which a grammar whose strings the vocabulary cannot
// spell produces.
func (m *Matcher) Mask(allowed []uint64) error {
	v := m.v
	if v == nil {
		return fmt.Errorf("grammar: Mask needs a vocabulary")
	}
	if len(allowed) < v.MaskWords() {
		return fmt.Errorf("grammar: mask of %d words for a vocabulary of %d tokens", len(allowed), v.n)
	}
	allowed = allowed[:v.MaskWords()]
	clear(allowed)
	if m.ended {
		return fmt.Errorf("grammar: the output has ended")
	}
	key := m.stateKey()
	if c, ok := m.cache[key]; ok {
		copy(allowed, c)
		m.fitBudget(allowed, key)
		return nil
	}
	if !m.walk(allowed, key) {
		// The memo grew past its bound in one walk (a grammar whose every
		// prefix is a new state): drop it and walk without one.
		m.resetDFA()
		clear(allowed)
		m.walkNaive(allowed)
	}
	m.err = nil // a path refused for too many stacks is one token fewer, not a failure
	if m.Accepting() {
		for _, t := range v.eogIDs {
			allowed[t>>6] |= 1 << (t & 63)
		}
	}
	any := false
	for _, w := range allowed {
		if w != 0 {
			any = true
			break
		}
	}
	if !any {
		return fmt.Errorf("grammar: no token of the vocabulary can continue the output here (expecting %s)", m.describe())
	}
	if m.cache == nil || len(m.cache) >= maskCacheSize {
		m.cache = map[string][]uint64{}
	}
	m.cache[key] = append([]uint64(nil), allowed...)
	m.fitBudget(allowed, key) // budget.go
	return nil
}

// walkNaive is the reference walk: the same preorder visit, stepping a
// copy of the state per trie depth with no memo. Mask falls back to it when
// the memo would grow without bound; tests hold walk to it.
func (m *Matcher) walkNaive(allowed []uint64) {
	v := m.v
	trie := v.trie
	levels := make([]state, 1, 64)
	levels[0].copyFrom(&m.cur)
	for i := int32(1); i < int32(len(trie)); {
		nd := &trie[i]
		d := nd.depth
		for int(d) >= len(levels) {
			levels = append(levels, state{})
		}
		if !m.step(&levels[d-1], nd.b, &levels[d]) {
			i = nd.end
			continue
		}
		for _, t := range v.toks[nd.tok0:nd.tok1] {
			allowed[t>>6] |= 1 << (t & 63)
		}
		i++
	}
}

// walk visits the trie in preorder with the id of the state after each
// prefix in levels[depth]; a refused byte skips its subtree. States and
// their transitions are memoised (dfa.go), so inside a JSON string, where
// nearly every token is allowed but the state returns to itself after
// each character, a node costs a table read.
//
// With a budget (SetBudget) it also records under key the most tokens a
// state after an allowed token still needs, which is what budget.go
// compares with the tokens left.
//
// It reports false, leaving allowed incomplete, when the memo passes four
// times its bound during the walk.
func (m *Matcher) walk(allowed []uint64, key string) bool {
	v := m.v
	trie := v.trie
	if len(m.dstates) > maxDFAStates {
		m.resetDFA()
	}
	if cap(m.levels) == 0 {
		m.levels = make([]int32, 64)
	}
	m.levels[0] = m.internState(&m.cur)
	budget := m.budget > 0
	maxNeed := int32(0)
	for i := int32(1); i < int32(len(trie)); {
		nd := &trie[i]
		d := nd.depth
		for int(d) >= len(m.levels) {
			m.levels = append(m.levels, 0)
		}
		next := m.dstep(m.levels[d-1], nd.b)
		if len(m.dstates) > 4*maxDFAStates {
			return false
		}
		if next < 0 {
			i = nd.end
			continue
		}
		m.levels[d] = next
		for _, t := range v.toks[nd.tok0:nd.tok1] {
			allowed[t>>6] |= 1 << (t & 63)
		}
		if budget && nd.tok1 > nd.tok0 {
			maxNeed = max(maxNeed, m.dneed(next))
		}
		i++
	}
	if budget {
		m.noteNeed(key, maxNeed)
	}
	return true
}
