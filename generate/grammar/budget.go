// Reference: Knuth, "A generalization of Dijkstra's algorithm" (1977): the shortest string a
// context-free rule derives, found by relaxing rules to a fixed point; used here, as llguidance
// bounds a constrained output by its token budget, so that a forced answer ends within max_tokens.

package grammar

import "unicode/utf8"

// A budget: SetBudget(n) says the output may take n more tokens, its
// end-of-generation token included (a server's max_tokens). Mask then
// allows only tokens after which the output can still be completed in what
// is left, so that a constrained answer (a forced tool call, a JSON
// Schema) ends complete instead of being cut off — the only way to give
// that guarantee with a model, a random one included, that will not close
// a string by itself. What is left is counted as the shortest completion
// in bytes, one token per byte: exact for vocabularies that hold every
// byte as a token (byte-level BPE, SentencePiece with byte fallback), a
// conservative bound for the rest. Far from the limit nothing is masked;
// the mask changes only in the last steps, where a string is closed and
// optional members are left out.

// infCost marks a rule whose shortest string is unknown or unbounded.
const infCost = int32(1 << 30)

// addCost adds two costs, saturating at infCost.
func addCost(a, b int32) int32 {
	if a >= infCost-b {
		return infCost
	}
	return a + b
}

// suffixCosts returns, for each element, the fewest bytes that complete
// its alternative from that element on (its own bytes included). Rule
// minima are relaxed from infinity until nothing changes, at most 256
// rounds and about 2^25 element visits (a hostile grammar's cost stays
// bounded): a rule not settled by then keeps an over-estimate, which only
// masks more, never a completion that cannot fit (and when nothing would
// fit, fitBudget masks nothing).
func (g *Grammar) suffixCosts() []int32 {
	g.costOnce.Do(func() {
		suf := make([]int32, len(g.elems))
		ruleMin := make([]int32, len(g.rules))
		for i := range ruleMin {
			ruleMin[i] = infCost
		}
		rounds := min(256, max(8, (1<<25)/(len(g.elems)+1)))
		for round := 0; round < rounds; round++ {
			changed := false
			for r, alts := range g.rules {
				best := ruleMin[r]
				for _, a := range alts {
					end := a
					for g.elems[end].kind != kEnd {
						end++
					}
					suf[end] = 0
					for i := end - 1; i >= a; i-- {
						e := g.elems[i]
						var c int32
						if e.kind == kChar {
							c = infCost // an empty class ([]) matches nothing
							if rs := g.classes[e.arg].ranges; len(rs) > 0 {
								c = max(int32(utf8.RuneLen(rs[0].Lo)), 1)
							}
						} else {
							c = ruleMin[e.arg]
						}
						suf[i] = addCost(c, suf[i+1])
					}
					best = min(best, suf[a])
				}
				if best < ruleMin[r] {
					ruleMin[r], changed = best, true
				}
			}
			if !changed {
				break
			}
		}
		g.suf = suf
	})
	return g.suf
}

// chainCost is the fewest bytes that complete the continuations below a
// stack's top: the sum of each ancestor's suffix. Memoised per node
// (nodes are hash-consed, so shared tails are summed once).
func (m *Matcher) chainCost(n *node, suf []int32) int32 {
	if n == nil {
		return 0
	}
	if n.chain != 0 {
		return n.chain - 1
	}
	c := addCost(suf[n.pos], m.chainCost(n.parent, suf))
	n.chain = c + 1
	return c
}

// need is the fewest tokens state st still needs: none when it is complete
// and nothing may follow (generation stops by itself), else the shortest
// completion in bytes plus the end-of-generation token.
func (m *Matcher) need(st *state) int32 {
	if st.rem == 0 && st.accept {
		if len(st.stacks) == 0 {
			return 0
		}
		return 1
	}
	suf := m.g.suffixCosts()
	best := infCost
	for _, s := range st.stacks {
		var c int32
		if st.rem > 0 {
			// The top's character is begun: rem bytes finish it.
			c = addCost(int32(st.rem), addCost(suf[s.pos+1], m.chainCost(s.parent, suf)))
		} else {
			c = addCost(suf[s.pos], m.chainCost(s.parent, suf))
		}
		best = min(best, c)
	}
	return addCost(best, 1)
}

// dneed is need of an interned state, memoised.
func (m *Matcher) dneed(id int32) int32 {
	d := &m.dstates[id]
	if d.need == 0 {
		d.need = m.need(&d.st) + 1
	}
	return d.need - 1
}

// noteNeed records the most tokens needed after any allowed token of the
// state key (a bounded memo, as the masks are).
func (m *Matcher) noteNeed(key string, n int32) {
	if m.needs == nil || len(m.needs) >= maskCacheSize {
		m.needs = map[string]int32{}
	}
	m.needs[key] = n
}

// SetBudget bounds the output to n more tokens, the end-of-generation
// token included (n ≤ 0: no bound, the default). See the note at the top
// of budget.go.
func (m *Matcher) SetBudget(n int) {
	m.budget, m.used = max(n, 0), 0
}

// fitBudget clears from allowed the tokens after which the output can no
// longer be completed in the tokens left. It changes nothing when no token
// would fit (the budget was too small from the start: the answer will be
// cut off as without one) or when the interned states outgrow their bound.
func (m *Matcher) fitBudget(allowed []uint64, key string) {
	left := int32(m.budget - m.used) // this token and the ones after it
	if m.budget <= 0 || left <= 0 {
		return
	}
	maxNeed, ok := m.needs[key]
	if ok && maxNeed <= left-1 {
		return // every allowed token leaves room: the common case, far from the limit
	}
	v := m.v
	// Tokens that end generation need nothing after them.
	var eog []int32
	for _, t := range v.eogIDs {
		if allowed[t>>6]&(1<<(t&63)) != 0 {
			eog = append(eog, t)
		}
	}
	kept := append([]uint64(nil), allowed...)
	if len(m.dstates) > maxDFAStates {
		m.resetDFA()
	}
	maxNeed = 0
	if cap(m.levels) == 0 {
		m.levels = make([]int32, 64)
	}
	m.levels[0] = m.internState(&m.cur)
	trie := v.trie
	for i := int32(1); i < int32(len(trie)); {
		nd := &trie[i]
		d := nd.depth
		for int(d) >= len(m.levels) {
			m.levels = append(m.levels, 0)
		}
		next := m.dstep(m.levels[d-1], nd.b)
		if len(m.dstates) > 4*maxDFAStates {
			m.resetDFA()
			return
		}
		if next < 0 {
			i = nd.end
			continue
		}
		m.levels[d] = next
		if nd.tok1 > nd.tok0 {
			n := m.dneed(next)
			maxNeed = max(maxNeed, n)
			if n > left-1 {
				for _, t := range v.toks[nd.tok0:nd.tok1] {
					kept[t>>6] &^= 1 << (t & 63)
				}
			}
		}
		i++
	}
	m.noteNeed(key, maxNeed)
	if maxNeed <= left-1 {
		return
	}
	any := len(eog) > 0
	for _, w := range kept {
		if w != 0 {
			any = true
			break
		}
	}
	if any {
		copy(allowed, kept)
	}
}
