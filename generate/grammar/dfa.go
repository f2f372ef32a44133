// Reference: the lazy DFA of RE2 ("Regular Expression Matching in the Wild", Cox 2010): parse states
// are interned as they are met and their byte transitions memoised, so repeated work is a table read.

package grammar

// maxDFAStates bounds the interned states of a Matcher (each holds a
// transition table of 256 or 64 entries once it has been stepped from); past it the
// table is dropped and rebuilt from the current state.
const maxDFAStates = 1 << 13

// dstate is an interned parse state and its memoised byte transitions:
// next[b] is 0 when not computed yet, -1 when b is refused, else id+1.
// A state inside a UTF-8 character can only take a continuation byte, so
// its table has 64 entries (b - 0x80) instead of 256: such states are the
// most numerous, as they differ by the character's bits.
type dstate struct {
	st   state
	next []int32
	need int32 // budget.go: 1 + the tokens this state still needs; 0 unknown
}

// internState returns the id of st's interned copy.
func (m *Matcher) internState(st *state) int32 {
	k := stateKeyOf(m.key[:0], st)
	m.key = k
	if id, ok := m.dindex[string(k)]; ok {
		return id
	}
	id := int32(len(m.dstates))
	var c state
	c.copyFrom(st)
	m.dstates = append(m.dstates, dstate{st: c})
	m.dindex[string(k)] = id
	return id
}

// dstep returns the id of the state after byte b from state id, or -1
// when b is refused.
func (m *Matcher) dstep(id int32, b byte) int32 {
	d := &m.dstates[id]
	i := int(b)
	if d.st.rem > 0 {
		if b < 0x80 || b > 0xBF {
			return -1
		}
		i -= 0x80
	}
	if d.next == nil {
		if d.st.rem > 0 {
			d.next = make([]int32, 64)
		} else {
			d.next = make([]int32, 256)
		}
	}
	if n := d.next[i]; n != 0 {
		if n < 0 {
			return -1
		}
		return n - 1
	}
	if !m.step(&d.st, b, &m.tmp) {
		d.next[i] = -1
		m.err = nil // over-ambiguous paths are refused bytes here
		return -1
	}
	n := m.internState(&m.tmp)
	m.dstates[id].next[i] = n + 1 // d may have moved if dstates grew
	return n
}

// resetDFA drops the interned states.
func (m *Matcher) resetDFA() {
	m.dstates = m.dstates[:0]
	clear(m.dindex)
	if m.dindex == nil {
		m.dindex = map[string]int32{}
	}
}

func stateKeyOf(k []byte, st *state) []byte {
	flags := byte(0)
	if st.accept {
		flags = 1
	}
	k = append(k, flags, st.n, st.rem, byte(st.val), byte(st.val>>8), byte(st.val>>16))
	for _, s := range st.stacks {
		k = append(k, byte(s.id), byte(s.id>>8), byte(s.id>>16), byte(s.id>>24))
	}
	return k
}
