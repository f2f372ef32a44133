// Reference: llguidance docs/optimizations.md (a flat token trie built once per vocabulary, walked
// depth first with whole subtrees skipped) and llama.cpp common_token_to_piece (the bytes a token
// adds to decoded text).

package grammar

import (
	"bytes"
	"fmt"
	"slices"
)

// Tokens is what a Vocab needs of a tokenizer. *tokenizer.Tokenizer
// satisfies it: TokenBytes gives exactly the bytes its stream decoder
// emits (byte-level BPE mapped back to bytes, SentencePiece ▁ as a space,
// <0xNN> byte-fallback tokens as their byte), and control tokens, which
// the decoder drops, are never allowed by a grammar.
type Tokens interface {
	VocabSize() int
	TokenBytes(id int32) string
	IsEOG(id int32) bool
	IsControl(id int32) bool
}

// Vocab is a tokenizer's tokens laid out for masking; build it once per
// tokenizer and share it between Matchers (it is read-only).
type Vocab struct {
	n      int
	bytes  [][]byte // token → the bytes it adds to the text
	eog    []bool   // token ends generation
	usable []bool   // token has text a grammar can take (not control, not empty, not EOG)
	eogIDs []int32
	trie   []trieNode // preorder; trie[0] is the root (the empty prefix)
	toks   []int32    // token ids ending at each node, grouped per node
}

// trieNode is one byte edge of the token trie. Its subtree is
// trie[i+1:end], so refusing the byte skips every token with this prefix.
type trieNode struct {
	b          byte
	depth      int32
	end        int32
	tok0, tok1 int32 // toks[tok0:tok1] end exactly here
}

// NewVocab lays out t's tokens.
func NewVocab(t Tokens) (*Vocab, error) {
	n := t.VocabSize()
	if n <= 0 {
		return nil, fmt.Errorf("grammar: empty vocabulary")
	}
	v := &Vocab{n: n, bytes: make([][]byte, n), eog: make([]bool, n), usable: make([]bool, n)}
	var ids []int32
	for id := range int32(n) {
		switch {
		case t.IsEOG(id):
			v.eog[id] = true
			v.eogIDs = append(v.eogIDs, id)
		case t.IsControl(id):
		default:
			if b := t.TokenBytes(id); b != "" {
				v.bytes[id] = []byte(b)
				v.usable[id] = true
				ids = append(ids, id)
			}
		}
	}
	slices.SortStableFunc(ids, func(a, b int32) int { return bytes.Compare(v.bytes[a], v.bytes[b]) })

	// Build the preorder trie from the sorted byte strings: each string
	// shares a prefix with the previous one; nodes past it are closed.
	v.trie = []trieNode{{depth: 0}}
	path := []int32{0} // node index per depth along the current string
	var prev []byte
	for _, id := range ids {
		b := v.bytes[id]
		common := 0
		for common < len(prev) && common < len(b) && prev[common] == b[common] {
			common++
		}
		for len(path)-1 > common {
			v.trie[path[len(path)-1]].end = int32(len(v.trie))
			path = path[:len(path)-1]
		}
		for d := common; d < len(b); d++ {
			path = append(path, int32(len(v.trie)))
			v.trie = append(v.trie, trieNode{b: b[d], depth: int32(d + 1), tok0: -1})
		}
		nd := &v.trie[path[len(path)-1]]
		if nd.tok0 < 0 || nd.tok1 != int32(len(v.toks)) {
			nd.tok0 = int32(len(v.toks))
		}
		v.toks = append(v.toks, id)
		nd.tok1 = int32(len(v.toks))
		prev = b
	}
	for _, p := range path {
		v.trie[p].end = int32(len(v.trie))
	}
	for i := range v.trie {
		if v.trie[i].tok0 < 0 {
			v.trie[i].tok0, v.trie[i].tok1 = 0, 0
		}
	}
	return v, nil
}

// Size is the number of tokens (the mask has one bit per token).
func (v *Vocab) Size() int { return v.n }

// TrieNodes is the number of trie nodes, the worst-case work of a mask.
func (v *Vocab) TrieNodes() int { return len(v.trie) }

// MaskWords is the length of a mask in 64-bit words.
func (v *Vocab) MaskWords() int { return (v.n + 63) / 64 }
