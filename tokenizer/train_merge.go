// Reference: Sennrich, Haddow & Birch 2016, "Neural Machine Translation of
// Rare Words with Subword Units" (BPE merges), with the incremental pair
// statistics of google/sentencepiece src/bpe_model_trainer.cc and Hugging
// Face tokenizers' BpeTrainer (only the words holding the merged pair are
// revisited after a merge).

package tokenizer

// merger runs the BPE merge loop over a multiset of words. A word is a
// sequence of symbol ids with a frequency; the merger keeps the count of
// every adjacent pair, the list of words each pair occurs in, and a heap of
// pairs by count. A merge rewrites only the words listed for its pair and
// turns their changes into count deltas, so one merge costs the size of the
// words it touches, not of the corpus.
type merger struct {
	words  [][]int32 // word -> symbols
	freq   []int64   // word -> how often it occurs
	counts map[uint64]int64
	where  map[uint64][]int32 // pair -> words that held it when it appeared (may be stale)
	heap   []pairItem

	// before orders two pairs of equal count: true when a merges first.
	before func(a, b uint64) bool
	// valid, when set, says whether a pair may ever be merged (SentencePiece's
	// piece rules); invalid pairs are never counted.
	valid func(a, b int32) bool

	delta map[uint64]int64 // scratch of one merge
}

// pairItem is a heap entry: a pair and its count when pushed. An entry whose
// count no longer matches counts[pair] is stale and dropped when popped.
type pairItem struct {
	count int64
	pair  uint64
}

func pairOf(a, b int32) uint64        { return uint64(uint32(a))<<32 | uint64(uint32(b)) }
func pairSplit(p uint64) (a, b int32) { return int32(uint32(p >> 32)), int32(uint32(p)) }

// newMerger indexes the words' pairs and builds the heap.
func newMerger(words [][]int32, freq []int64, before func(a, b uint64) bool, valid func(a, b int32) bool) *merger {
	m := &merger{words: words, freq: freq, before: before, valid: valid,
		counts: make(map[uint64]int64, len(words)), where: make(map[uint64][]int32, len(words)),
		delta: make(map[uint64]int64)}
	for wi, w := range words {
		for i := 0; i+1 < len(w); i++ {
			if m.valid != nil && !m.valid(w[i], w[i+1]) {
				continue
			}
			p := pairOf(w[i], w[i+1])
			if m.counts[p] == 0 || last(m.where[p]) != int32(wi) {
				m.where[p] = append(m.where[p], int32(wi))
			}
			m.counts[p] += freq[wi]
		}
	}
	m.heap = make([]pairItem, 0, len(m.counts))
	for p, c := range m.counts {
		m.heap = append(m.heap, pairItem{c, p})
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func last(s []int32) int32 {
	if len(s) == 0 {
		return -1
	}
	return s[len(s)-1]
}

// less reports whether heap entry i should be popped before entry j.
func (m *merger) less(i, j pairItem) bool {
	if i.count != j.count {
		return i.count > j.count
	}
	return m.before(i.pair, j.pair)
}

func (m *merger) push(x pairItem) {
	m.heap = append(m.heap, x)
	i := len(m.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !m.less(m.heap[i], m.heap[p]) {
			break
		}
		m.heap[i], m.heap[p] = m.heap[p], m.heap[i]
		i = p
	}
}

func (m *merger) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		best := l
		if r := l + 1; r < n && m.less(m.heap[r], m.heap[l]) {
			best = r
		}
		if !m.less(m.heap[best], m.heap[i]) {
			return
		}
		m.heap[i], m.heap[best] = m.heap[best], m.heap[i]
		i = best
	}
}

// best returns the pair to merge next and its count; ok is false when no
// pair is left.
func (m *merger) best() (pair uint64, count int64, ok bool) {
	for len(m.heap) > 0 {
		top := m.heap[0]
		n := len(m.heap) - 1
		m.heap[0] = m.heap[n]
		m.heap = m.heap[:n]
		if n > 0 {
			m.down(0)
		}
		if c := m.counts[top.pair]; c == top.count && c > 0 {
			return top.pair, c, true
		}
	}
	return 0, 0, false
}

// merge replaces every non-overlapping occurrence (left to right) of pair
// in the words that hold it by the new symbol c, and updates the counts.
func (m *merger) merge(pair uint64, c int32) {
	a, b := pairSplit(pair)
	clear(m.delta)
	for _, wi := range m.where[pair] {
		w := m.words[wi]
		if !holds(w, a, b) {
			continue // stale: an earlier merge already consumed the pair here
		}
		f := m.freq[wi]
		// Subtracting every pair of the old word and adding every pair of
		// the new one is simpler than patching neighbours, and handles
		// overlapping runs (a a a with a == b) without special cases.
		for i := 0; i+1 < len(w); i++ {
			m.delta[pairOf(w[i], w[i+1])] -= f
		}
		j := 0
		for i := 0; i < len(w); j++ {
			if i+1 < len(w) && w[i] == a && w[i+1] == b {
				w[j] = c
				i += 2
			} else {
				w[j] = w[i]
				i++
			}
		}
		w = w[:j]
		m.words[wi] = w
		for i := 0; i+1 < len(w); i++ {
			p := pairOf(w[i], w[i+1])
			m.delta[p] += f
			if (w[i] == c || w[i+1] == c) && last(m.where[p]) != wi {
				m.where[p] = append(m.where[p], wi)
			}
		}
	}
	delete(m.where, pair)
	for p, d := range m.delta {
		if d == 0 {
			continue
		}
		if m.valid != nil {
			if x, y := pairSplit(p); !m.valid(x, y) {
				continue
			}
		}
		n := m.counts[p] + d
		if n <= 0 {
			delete(m.counts, p)
			delete(m.where, p)
			continue
		}
		m.counts[p] = n
		m.push(pairItem{n, p})
	}
}

// holds reports whether symbols a, b are adjacent somewhere in w.
func holds(w []int32, a, b int32) bool {
	for i := 0; i+1 < len(w); i++ {
		if w[i] == a && w[i+1] == b {
			return true
		}
	}
	return false
}
