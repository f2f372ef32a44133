// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_spm_session:
// score-driven bigram merging with byte fallback), after SentencePiece's BPE
// model (google/sentencepiece src/bpe_model.cc).

package tokenizer

import "strings"

// spmBigram is a candidate merge of two adjacent symbols: the higher the
// merged token's score the earlier it merges; ties go to the leftmost pair.
type spmBigram struct {
	score       float32
	left, right int
	size        int // byte length of the merged text, to detect outdated entries
}

func (a spmBigram) before(b spmBigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

// encodeSPM appends the tokens of text, in which spaces are already ▁.
// Symbols start as single UTF-8 characters; the pair whose concatenation is
// the best-scoring token merges first. What is left that is not a token is
// emitted as byte tokens.
func (t *Tokenizer) encodeSPM(text []byte, out []int32) []int32 {
	var sc spmScratch
	if !t.spmSplitSafe {
		return t.encodeSPMChunk(text, &sc, out)
	}
	var c *wordCache
	if len(text) >= cacheMinText {
		c = newWordCache()
	}
	// No token continues across a ▁ that follows another character, so the
	// text splits there into chunks that merge independently: same result,
	// small heaps.
	start := 0
	for i := 1; i+3 <= len(text); i++ {
		if text[i] == 0xE2 && text[i+1] == 0x96 && text[i+2] == 0x81 && !endsWithSpaceMark(text[:i]) {
			out = t.encodeSPMCached(text[start:i], c, &sc, out)
			start = i
		}
	}
	return t.encodeSPMCached(text[start:], c, &sc, out)
}

// encodeSPMCached looks a chunk up in c (when not nil) before encoding it.
func (t *Tokenizer) encodeSPMCached(chunk []byte, c *wordCache, sc *spmScratch, out []int32) []int32 {
	if c == nil || len(chunk) > cacheMaxWord {
		return t.encodeSPMChunk(chunk, sc, out)
	}
	if ids, ok := c.get(string(chunk)); ok {
		return append(out, ids...)
	}
	n := len(out)
	out = t.encodeSPMChunk(chunk, sc, out)
	c.put(string(chunk), out[n:])
	return out
}

// endsWithSpaceMark reports whether b ends with ▁.
func endsWithSpaceMark(b []byte) bool {
	n := len(b)
	return n >= 3 && b[n-3] == 0xE2 && b[n-2] == 0x96 && b[n-1] == 0x81
}

// spmSplitSafe reports whether no token holds a ▁ right after another
// character, which makes encodeSPM's chunking exact.
func spmSplitSafe(tokens []string) bool {
	for _, tok := range tokens {
		for i := 1; i < len(tok); i++ {
			j := strings.Index(tok[i:], "\u2581")
			if j < 0 {
				break
			}
			i += j
			if !strings.HasSuffix(tok[:i], "\u2581") {
				return false
			}
		}
	}
	return true
}

// spmScratch holds the buffers reused across the chunks of one Encode call.
type spmScratch struct {
	syms []symbol
	q    []spmBigram
}

// encodeSPMChunk runs the merge loop over one chunk.
func (t *Tokenizer) encodeSPMChunk(text []byte, sc *spmScratch, out []int32) []int32 {
	if len(text) == 0 {
		return out
	}
	syms := sc.syms[:0]
	for i := 0; i < len(text); {
		n := utf8SeqLen(text[i])
		if i+n > len(text) {
			n = len(text) - i
		}
		syms = append(syms, symbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1

	q := sc.q[:0]
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start:syms[r].end]
		if len(s) > t.maxTokenLen {
			return // longer than every token: skip the lookup
		}
		id, ok := t.index[string(s)]
		if !ok {
			return
		}
		q = heapPush(q, spmBigram{score: t.scores[id], left: l, right: r, size: len(s)})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(q) > 0 {
		var bg spmBigram
		bg, q = heapPop(q)
		l, r := &syms[bg.left], &syms[bg.right]
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != bg.size {
			continue
		}
		l.end, l.next = r.end, r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		r.start = r.end
		try(l.prev, bg.left)
		try(bg.left, l.next)
	}
	sc.syms, sc.q = syms, q
	for i := 0; i != -1; i = syms[i].next {
		s := text[syms[i].start:syms[i].end]
		if id, ok := t.index[string(s)]; ok {
			out = append(out, id)
			continue
		}
		for _, b := range s {
			if id := t.byteTokens[b]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

// utf8SeqLen is the length of the UTF-8 sequence a lead byte announces
// (1 for continuation and invalid bytes, as llama.cpp's unicode_len_utf8).
func utf8SeqLen(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	}
	return 4
}
