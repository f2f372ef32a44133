// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_bpe_session) and
// src/unicode.cpp (unicode_byte_to_utf8_map: GPT-2's byte-to-character table);
// openai/tiktoken src/lib.rs (byte_pair_merge) for rank-by-concatenation.

package tokenizer

import (
	"slices"
	"strings"
	"sync"
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
	plain := true
	for i := 0; i < len(enc); i++ {
		if c := enc[i]; c < 0x21 || c > 0x7E {
			plain = false
			break
		}
	}
	if plain {
		return enc, true // printable ASCII encodes itself
	}
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
	ignoreMerges bool        // a word that is a token is emitted whole (LLaMA-3)
	byteID       [256]int32  // internal id of each single byte, -1 if none
	shared       sharedWords // words of short texts, remembered across calls
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

func (a bigram) before(b bigram) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}

// bpeScratch holds buffers reused across the words of one Encode call.
type bpeScratch struct {
	syms  []symbol
	rules []mergeInfo
	queue []bigram
	cache *wordCache
	runes []rune
	flags []uint16
	ends  []int
	ends2 []int
}

// release prepares s for the next call: the word cache refers to the text
// just encoded, and buffers grown by a huge text are not worth keeping.
func (s *bpeScratch) release() {
	s.cache = nil
	if cap(s.runes) > 1<<20 {
		s.runes, s.flags, s.ends, s.ends2 = nil, nil, nil, nil
	}
	if cap(s.syms) > 1<<16 {
		s.syms, s.rules, s.queue = nil, nil, nil
	}
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
		syms = m.mergeScan(w, syms, s)
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

// mergeScan repeatedly merges the best pair (lowest rank, leftmost on
// ties). It keeps the current symbols in order in a small array with the
// rule of each adjacent pair beside them, so a merge costs two rule lookups
// and a shift: O(n²) moves, but n is at most heapThreshold.
func (m *bpeModel) mergeScan(w string, syms []symbol, s *bpeScratch) []symbol {
	rk := s.rules[:0]
	rule := func(l, r *symbol) mergeInfo {
		if mi, ok := m.rank(w, l.start, l.end, r.end, l.id, r.id); ok {
			return mi
		}
		return mergeInfo{rank: -1}
	}
	for i := 0; i+1 < len(syms); i++ {
		rk = append(rk, rule(&syms[i], &syms[i+1]))
	}
	for {
		best := -1
		for i, r := range rk {
			if r.rank >= 0 && (best < 0 || r.rank < rk[best].rank) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		syms[best].end, syms[best].id = syms[best+1].end, rk[best].result
		syms = append(syms[:best+1], syms[best+2:]...)
		rk = append(rk[:best], rk[best+1:]...)
		if best > 0 {
			rk[best-1] = rule(&syms[best-1], &syms[best])
		}
		if best < len(rk) {
			rk[best] = rule(&syms[best], &syms[best+1])
		}
	}
	s.rules = rk
	for i := range syms {
		syms[i].next = i + 1
	}
	syms[len(syms)-1].next = -1
	return syms
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
			q = heapPush(q, bigram{rank: mi.rank, left: li, right: ri, lid: l.id, rid: r.id, result: mi.result})
		}
	}
	for i := 0; i+1 < len(syms); i++ {
		push(i)
	}
	for len(q) > 0 {
		var bg bigram
		bg, q = heapPop(q)
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

// encodeBPE pre-tokenizes one text fragment and appends its tokens. Bytes
// that are not valid UTF-8 are kept: the pre-tokenizer sees each as U+FFFD
// (as llama.cpp's does), but the words handed to BPE are the original
// bytes, which a byte-level vocabulary can always spell, so that
// Decode(Encode(x)) == x for any bytes.
func (t *Tokenizer) encodeBPE(text string, s *bpeScratch, out []int32) []int32 {
	// A long text memoizes its words in a cache of its own (no locking); short
	// texts share one bounded cache across calls (and goroutines).
	var c wordMemo = &t.bpe.shared
	if len(text) >= cacheMinText {
		if s.cache == nil {
			s.cache = newWordCache()
		}
		c = s.cache
	}
	lo := 0
	for _, hi := range t.splitWords(text, s) {
		w := text[lo:hi]
		lo = hi
		if len(w) > cacheMaxWord {
			out = t.bpe.encodeWord(w, s, out)
			continue
		}
		if ids, ok := c.get(w); ok {
			out = append(out, ids...)
			continue
		}
		n := len(out)
		out = t.bpe.encodeWord(w, s, out)
		c.put(w, out[n:])
	}
	return out
}

// wordMemo remembers the tokens of words already encoded.
type wordMemo interface {
	get(w string) ([]int32, bool)
	put(w string, ids []int32)
}

// sharedWords is the cross-call cache of a vocabulary. Keys and values are
// copied, so the cache never holds on to a caller's text; it stops growing
// at cacheMaxEntries words.
type sharedWords struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *sharedWords) get(w string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[w]
	c.mu.RUnlock()
	return ids, ok
}

func (c *sharedWords) put(w string, ids []int32) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string][]int32, 1024)
	}
	if len(c.m) < cacheMaxEntries {
		c.m[strings.Clone(w)] = slices.Clone(ids)
	}
	c.mu.Unlock()
}

// Limits of the word caches: a text this long gets a cache of its own,
// only short words go in, and a cache stops growing at a bound.
const (
	cacheMinText    = 4096
	cacheMaxWord    = 32
	cacheMaxEntries = 1 << 16
)

// wordCache remembers the tokens of words already encoded during one
// Encode call (English text repeats most of its words). Entries point into
// one arena: offset<<32 | count.
type wordCache struct {
	m     map[string]uint64
	arena []int32
}

func newWordCache() *wordCache { return &wordCache{m: make(map[string]uint64, 1024)} }

func (c *wordCache) get(w string) ([]int32, bool) {
	e, ok := c.m[w]
	if !ok {
		return nil, false
	}
	return c.arena[e>>32 : e>>32+e&0xFFFFFFFF], true
}

func (c *wordCache) put(w string, ids []int32) {
	if len(c.m) < cacheMaxEntries {
		c.m[w] = uint64(len(c.arena))<<32 | uint64(len(ids))
		c.arena = append(c.arena, ids...)
	}
}

// splitWords runs the pre-tokenizer stages over text and returns the byte
// offset where each word ends. A byte that does not start a valid UTF-8
// sequence is one U+FFFD to the stages and stays one byte in text.
func (t *Tokenizer) splitWords(text string, s *bpeScratch) []int {
	tab := categories()
	if cap(s.runes) < len(text) {
		// Sized for the worst case (all ASCII) so that appends never copy.
		s.runes = make([]rune, 0, len(text))
		s.flags = make([]uint16, 0, len(text))
	}
	runes, flags := s.runes[:0], s.flags[:0]
	for _, r := range text {
		runes = append(runes, r)
		flags = append(flags, catOf(tab, r)|catIn)
	}
	s.runes, s.flags = runes, flags

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
	// Turn code-point indices into byte offsets. A rune's length in text is
	// its encoded length, but for U+FFFD, which may stand for one invalid
	// byte: read its length from text.
	b, r := 0, 0
	for i, e := range ends {
		for ; r < e; r++ {
			switch c := runes[r]; {
			case c < utf8.RuneSelf:
				b++
			case c == utf8.RuneError:
				_, n := utf8.DecodeRuneInString(text[b:])
				b += n
			default:
				b += utf8.RuneLen(c)
			}
		}
		ends[i] = b
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
