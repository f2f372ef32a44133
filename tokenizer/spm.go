// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_spm_session:
// score-driven bigram merging with byte fallback), after SentencePiece's BPE
// model (google/sentencepiece src/bpe_model.cc).

package tokenizer

import "container/heap"

// spmBigram is a candidate merge of two adjacent symbols: the higher the
// merged token's score the earlier it merges; ties go to the leftmost pair.
type spmBigram struct {
	score       float32
	left, right int
	size        int // byte length of the merged text, to detect outdated entries
}

type spmHeap []spmBigram

func (h spmHeap) Len() int { return len(h) }
func (h spmHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].left < h[j].left
}
func (h spmHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *spmHeap) Push(x any)   { *h = append(*h, x.(spmBigram)) }
func (h *spmHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// encodeSPM appends the tokens of text, in which spaces are already ▁.
// Symbols start as single UTF-8 characters; the pair whose concatenation is
// the best-scoring token merges first. What is left that is not a token is
// emitted as byte tokens.
func (t *Tokenizer) encodeSPM(text []byte, out []int32) []int32 {
	if len(text) == 0 {
		return out
	}
	var syms []symbol
	for i := 0; i < len(text); {
		n := utf8SeqLen(text[i])
		if i+n > len(text) {
			n = len(text) - i
		}
		syms = append(syms, symbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1

	var q spmHeap
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start:syms[r].end]
		id, ok := t.index[string(s)]
		if !ok {
			return
		}
		heap.Push(&q, spmBigram{score: t.scores[id], left: l, right: r, size: len(s)})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for q.Len() > 0 {
		bg := heap.Pop(&q).(spmBigram)
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
