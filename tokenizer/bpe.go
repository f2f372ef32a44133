// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_bpe_session) and
// src/unicode.cpp (unicode_byte_to_utf8_map: GPT-2's byte-to-character table);
// openai/tiktoken src/lib.rs (byte_pair_merge) for rank-by-concatenation.

package tokenizer

import (
	"container/heap"
	"unicode/utf8"
)

// GPT-2's byte-level encoding gives every byte a printable character so
// that vocabularies can be stored as text: printable Latin-1 bytes map to
// themselves, the others to U+0100 onwards in byte order.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteEncode returns the byte-level encoding of raw bytes (the form in which
// byte-level BPE vocabularies are stored).
func byteEncode(raw string) string {
	b := make([]byte, 0, len(raw)*2)
	for i := 0; i < len(raw); i++ {
		b = utf8.AppendRune(b, byteToRune[raw[i]])
	}
	return string(b)
}

// byteDecode maps a byte-level encoded string back to raw bytes; ok is false
// when it holds a character outside the table.
func byteDecode(enc string) (string, bool) {
	b := make([]byte, 0, len(enc))
	for _, r := range enc {
		c, ok := runeToByte[r]
		if !ok {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

// mergeInfo is what a merge rule yields: its priority and the resulting symbol.
type mergeInfo struct {
	rank   int32
	result int32 // internal id of the merged string
}

// bpeModel holds the merge rules over raw bytes. Internal ids below nVocab
// are token ids; strings that occur in merge rules without being tokens get
// ids from nVocab up, so that rules keep working on them as llama.cpp's
// string comparisons do.
type bpeModel struct {
	ids    map[string]int32     // raw bytes -> internal id
	nVocab int32                // internal ids below this are token ids
	merges map[uint64]mergeInfo // left<<32 | right -> rule; nil when concat
	// concat ranks a pair by the token id of its concatenation, as tiktoken
	// does (ids are ranks there).
	concat       bool
	ignoreMerges bool       // a word that is a token is emitted whole (LLaMA-3)
	byteID       [256]int32 // internal id of each single byte, -1 if none
	// fallback is what llama.cpp emits for a byte of a word that did not
	// become a token: each byte of the byte's encoded character, looked up
	// as a one-byte token (usually nothing, sometimes the printable byte).
	fallback [256][]int32
}

// rank returns the rule for merging the symbols [a,b) and [b,c) of w.
func (m *bpeModel) rank(w string, a, b, c int, left, right int32) (mergeInfo, bool) {
	if m.concat {
		id, ok := m.ids[w[a:c]]
		if !ok || id >= m.nVocab {
			return mergeInfo{}, false
		}
		return mergeInfo{rank: id, result: id}, true
	}
	if left < 0 || right < 0 {
		return mergeInfo{}, false
	}
	mi, ok := m.merges[uint64(uint32(left))<<32|uint64(uint32(right))]
	return mi, ok
}

// symbol is one node of the doubly linked list of a word's current symbols.
type symbol struct {
	start, end int   // byte range in the word
	id         int32 // internal id, -1 if the string is not known
	prev, next int   // neighbours, -1 at the ends
}

// bigram is a candidate merge in the priority queue.
type bigram struct {
	rank        int32
	left, right int // symbol indices
	lid, rid    int32
	result      int32
}

type bigramHeap []bigram

func (h bigramHeap) Len() int { return len(h) }
func (h bigramHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].left < h[j].left
}
func (h bigramHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *bigramHeap) Push(x any)   { *h = append(*h, x.(bigram)) }
func (h *bigramHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpeScratch holds buffers reused across the words of one Encode call.
type bpeScratch struct {
	syms  []symbol
	queue bigramHeap
	runes []rune
	flags []uint16
	ends  []int
	ends2 []int
	offs  []int
}

// heapThreshold is the word length (in bytes) above which merges go through
// a priority queue; shorter words rescan their few pairs, which is faster.
const heapThreshold = 24

// encodeWord appends the tokens of one pre-tokenized word (raw bytes).
func (m *bpeModel) encodeWord(w string, s *bpeScratch, out []int32) []int32 {
	if len(w) == 0 {
		return out
	}
	if m.ignoreMerges || len(w) == 1 {
		if id, ok := m.ids[w]; ok && id < m.nVocab {
			return append(out, id)
		}
	}
	syms := s.syms[:0]
	for i := 0; i < len(w); i++ {
		syms = append(syms, symbol{start: i, end: i + 1, id: m.byteID[w[i]], prev: i - 1, next: i + 1})
	}
	syms[len(syms)-1].next = -1
	if len(w) <= heapThreshold {
		m.mergeScan(w, syms)
	} else {
		m.mergeHeap(w, syms, s)
	}
	s.syms = syms
	for i := 0; i != -1; i = syms[i].next {
		sy := &syms[i]
		if sy.id >= 0 && sy.id < m.nVocab {
			out = append(out, sy.id)
			continue
		}
		for j := sy.start; j < sy.end; j++ {
			out = append(out, m.fallback[w[j]]...)
		}
	}
	return out
}

// mergeScan repeatedly merges the best pair (lowest rank, leftmost on ties)
// by scanning all current pairs: O(n²) but with tiny n.
func (m *bpeModel) mergeScan(w string, syms []symbol) {
	for {
		best := -1
		var bestInfo mergeInfo
		for i := 0; syms[i].next != -1; i = syms[i].next {
			l, r := &syms[i], &syms[syms[i].next]
			mi, ok := m.rank(w, l.start, l.end, r.end, l.id, r.id)
			if ok && (best < 0 || mi.rank < bestInfo.rank) {
				best, bestInfo = i, mi
			}
		}
		if best < 0 {
			return
		}
		l := &syms[best]
		r := &syms[l.next]
		l.end, l.id, l.next = r.end, bestInfo.result, r.next
		if r.next != -1 {
			syms[r.next].prev = best
		}
		r.start = r.end // mark as merged
	}
}

// mergeHeap is the same merge order with a priority queue, O(n log n) for
// long words. Stale entries are recognised by their symbols' ids.
func (m *bpeModel) mergeHeap(w string, syms []symbol, s *bpeScratch) {
	q := s.queue[:0]
	push := func(li int) {
		if li < 0 {
			return
		}
		ri := syms[li].next
		if ri < 0 {
			return
		}
		l, r := &syms[li], &syms[ri]
		if mi, ok := m.rank(w, l.start, l.end, r.end, l.id, r.id); ok {
			heap.Push(&q, bigram{rank: mi.rank, left: li, right: ri, lid: l.id, rid: r.id, result: mi.result})
		}
	}
	for i := 0; i+1 < len(syms); i++ {
		push(i)
	}
	for q.Len() > 0 {
		bg := heap.Pop(&q).(bigram)
		l, r := &syms[bg.left], &syms[bg.right]
		if l.start == l.end || r.start == r.end || l.next != bg.right || l.id != bg.lid || r.id != bg.rid {
			continue // outdated
		}
		l.end, l.id, l.next = r.end, bg.result, r.next
		if r.next != -1 {
			syms[r.next].prev = bg.left
		}
		r.start = r.end
		push(l.prev)
		push(bg.left)
	}
	s.queue = q
}

// encodeBPE pre-tokenizes one text fragment and appends its tokens.
func (t *Tokenizer) encodeBPE(text string, s *bpeScratch, out []int32) []int32 {
	if !utf8.ValidString(text) {
		text = sanitizeUTF8(text)
	}
	lo := 0
	for _, hi := range t.splitWords(text, s) {
		out = t.bpe.encodeWord(text[lo:hi], s, out)
		lo = hi
	}
	return out
}

// splitWords runs the pre-tokenizer stages over valid UTF-8 text and
// returns the byte offset where each word ends.
func (t *Tokenizer) splitWords(text string, s *bpeScratch) []int {
	tab := categories()
	runes, flags, offs := s.runes[:0], s.flags[:0], s.offs[:0]
	for i, r := range text {
		runes = append(runes, r)
		flags = append(flags, catOf(tab, r)|catIn)
		offs = append(offs, i)
	}
	offs = append(offs, len(text))
	s.runes, s.flags, s.offs = runes, flags, offs

	ends := append(s.ends[:0], len(runes))
	for _, st := range t.pre {
		next := s.ends2[:0]
		lo := 0
		for _, hi := range ends {
			next = st(runes, flags, lo, hi, next)
			lo = hi
		}
		ends, s.ends2 = next, ends
	}
	for i, e := range ends {
		ends[i] = offs[e]
	}
	s.ends = ends
	return ends
}

// EncodeBytes encodes bytes that need not be valid UTF-8, as tiktoken's
// encode_bytes does: the valid prefix is encoded as text, and its last word
// together with the invalid tail goes through BPE as one piece. Special
// tokens are not parsed. Other kinds encode the bytes as text.
func (t *Tokenizer) EncodeBytes(raw []byte) []int32 {
	if t.kind != KindBPE || utf8.Valid(raw) {
		return t.Encode(string(raw), EncodeOptions{})
	}
	valid := 0
	for valid < len(raw) {
		r, n := utf8.DecodeRune(raw[valid:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		valid += n
	}
	var s bpeScratch
	text := string(raw[:valid])
	var out []int32
	lo := 0
	ends := t.splitWords(text, &s)
	if len(ends) > 0 {
		for _, hi := range ends[:len(ends)-1] {
			out = t.bpe.encodeWord(text[lo:hi], &s, out)
			lo = hi
		}
	}
	return t.bpe.encodeWord(string(raw[lo:]), &s, out)
}

// sanitizeUTF8 replaces each byte that does not start a valid UTF-8 sequence
// with U+FFFD, one replacement per byte as llama.cpp's decoder does.
func sanitizeUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b = append(b, "\uFFFD"...)
			i++
			continue
		}
		b = append(b, s[i:i+n]...)
		i += n
	}
	return string(b)
}
