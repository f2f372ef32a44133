// Reference: llama.cpp src/llama-vocab.cpp (llama_vocab::impl: tokenize,
// tokenizer_st_partition, token_to_piece, is_eog) and include/llama.h
// (llama_token_type, llama_token_attr).

package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Kind is the tokenization algorithm (tokenizer.ggml.model).
type Kind uint8

const (
	KindSPM Kind = iota + 1 // SentencePiece BPE over scores, byte fallback ("llama")
	KindBPE                 // byte-level BPE over merge ranks ("gpt2", tiktoken)
	KindWPM                 // WordPiece ("bert")
)

func (k Kind) String() string {
	switch k {
	case KindSPM:
		return "spm"
	case KindBPE:
		return "bpe"
	case KindWPM:
		return "wpm"
	}
	return "unknown"
}

// TokenType is the per-token type of tokenizer.ggml.token_type, with the
// numbers GGUF files store (llama_token_type).
type TokenType int32

const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// EncodeOptions control Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS and/or EOS as the vocabulary's metadata says
	// (WordPiece adds [CLS] … [SEP]).
	AddSpecial bool
	// ParseSpecial turns the text of control tokens ("<|im_start|>") into
	// their ids. User-defined tokens are matched whole either way, as in llama.cpp.
	ParseSpecial bool
}

// Tokenizer turns text into token ids and back. It is immutable after
// construction and safe for concurrent use.
type Tokenizer struct {
	kind   Kind
	tokens []string    // id -> text as stored
	scores []float32   // id -> SPM merge score (nil for BPE)
	types  []TokenType // id -> type
	index  map[string]int32
	pieces []string // id -> bytes it stands for when decoded (control tokens: their text)
	lstrip []bool   // id -> special token eats whitespace on its left
	rstrip []bool   // id -> special token eats whitespace on its right

	bos, eos, unk, sep, pad, eot, eom int32
	addBOS, addEOS                    bool
	addSpacePrefix                    bool // SPM: prefix the text with a space (▁)
	eog                               map[int32]bool
	specials                          []int32 // control/user-defined/unknown ids, longest text first

	// SPM
	byteTokens   [256]int32 // byte -> <0xXX> token (or the 1-byte token), -1 if none
	spmSplitSafe bool       // text may be cut before each ▁ that follows another character

	// BPE
	bpe     *bpeModel
	pre     []stage
	preName string    // the pre-tokenizer as named by the vocabulary
	scratch sync.Pool // *bpeScratch buffers reused across Encode calls

	// WPM
	maxTokenLen int
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Kind returns the tokenization algorithm.
func (t *Tokenizer) Kind() Kind { return t.kind }

// Pre returns the name of the BPE pre-tokenizer ("" for other kinds).
func (t *Tokenizer) Pre() string { return t.preName }

// String summarises the vocabulary, e.g. "bpe (qwen2), 151665 tokens, BOS -1, EOS 151643".
func (t *Tokenizer) String() string {
	k := t.kind.String()
	if t.kind == KindBPE {
		k += " (" + t.preName + ")"
	}
	return fmt.Sprintf("%s, %d tokens, BOS %d (added %v), EOS %d (added %v), %d end-of-generation ids",
		k, len(t.tokens), t.bos, t.AddBOS(), t.eos, t.AddEOS(), len(t.eog))
}

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn id, or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// UNK returns the unknown-token id, or -1.
func (t *Tokenizer) UNK() int32 { return t.unk }

// AddBOS reports whether Encode adds BOS when AddSpecial is set.
func (t *Tokenizer) AddBOS() bool { return t.addBOS && t.bos >= 0 }

// AddEOS reports whether Encode adds EOS when AddSpecial is set.
func (t *Tokenizer) AddEOS() bool { return t.addEOS && t.eos >= 0 }

// IsEOG reports whether id ends generation: EOS, EOT, EOM and the tokens
// llama.cpp recognises by text (<|eot_id|>, <|im_end|>, <|end|>,
// <end_of_turn>, <|endoftext|>, <|eom_id|>, <EOT>, FIM pad/repo/sep).
func (t *Tokenizer) IsEOG(id int32) bool { return id >= 0 && t.eog[id] }

// EOGs returns the end-of-generation ids in increasing order.
func (t *Tokenizer) EOGs() []int32 {
	ids := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// TokenID returns the id of the token whose stored text is piece.
func (t *Tokenizer) TokenID(piece string) (int32, bool) {
	id, ok := t.index[piece]
	return id, ok
}

// Piece returns the token's text as stored in the vocabulary ("" when id is
// out of range).
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Type returns the token's type (TypeUndefined when id is out of range).
func (t *Tokenizer) Type(id int32) TokenType {
	if id < 0 || int(id) >= len(t.types) {
		return TypeUndefined
	}
	return t.types[id]
}

// IsControl reports whether id is a control or unknown token, which Decode
// renders as nothing.
func (t *Tokenizer) IsControl(id int32) bool {
	ty := t.Type(id)
	return ty == TypeControl || ty == TypeUnknown
}

// TokenBytes returns the bytes token id stands for in decoded text: byte
// tokens give their byte, SPM's ▁ becomes a space, byte-level BPE
// characters map back to their bytes; control tokens give their text.
func (t *Tokenizer) TokenBytes(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Decode returns the text of ids, read as a whole text from its start.
// Control and unknown tokens (BOS, EOS, <|im_end|> …) render as nothing; for
// SentencePiece the space that Encode prefixed to the text is removed again
// (to decode a continuation, such as generated tokens, keep that space by
// using a StreamDecoder or concatenating TokenBytes). Unlike llama.cpp's
// detokenizer, no "clean-up" of spaces before punctuation is done, so
// Decode(Encode(x)) == x for every lossless vocabulary.
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	first := true
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.pieces) || t.IsControl(id) {
			continue
		}
		p := t.pieces[id]
		if first && t.addSpacePrefix {
			p = strings.TrimPrefix(p, " ")
		}
		first = false
		b.WriteString(p)
	}
	return b.String()
}

// fragment is a piece of the input: raw text, or an already matched token.
type fragment struct {
	text  string
	token int32 // -1 for text
}

// partition splits text around special tokens, longest token text first,
// as llama.cpp's tokenizer_st_partition does. Control and unknown tokens are
// matched only when parseSpecial is set; user-defined ones always.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, token: -1}}
	for _, id := range t.specials {
		ty := t.types[id]
		if !parseSpecial && (ty == TypeControl || ty == TypeUnknown) {
			continue
		}
		sp := t.tokens[id]
		var out []fragment
		changed := false
		for _, f := range frags {
			if f.token >= 0 || !strings.Contains(f.text, sp) {
				out = append(out, f)
				continue
			}
			changed = true
			rest := f.text
			for {
				i := strings.Index(rest, sp)
				if i < 0 {
					if rest != "" {
						out = append(out, fragment{text: rest, token: -1})
					}
					break
				}
				left := rest[:i]
				if t.lstrip[id] {
					left = strings.TrimRight(left, " \t\n\v\f\r")
				}
				if left != "" {
					out = append(out, fragment{text: left, token: -1})
				}
				out = append(out, fragment{token: id})
				rest = rest[i+len(sp):]
				if t.rstrip[id] {
					rest = strings.TrimLeft(rest, " \t\n\v\f\r")
				}
			}
		}
		if changed {
			frags = out
		}
	}
	return frags
}

// Encode returns the token ids of text.
func (t *Tokenizer) Encode(text string, opt EncodeOptions) []int32 {
	out := make([]int32, 0, len(text)/3+2)
	var frags []fragment
	if text != "" {
		frags = t.partition(text, opt.ParseSpecial)
	}
	switch t.kind {
	case KindSPM:
		if opt.AddSpecial && t.AddBOS() {
			out = append(out, t.bos)
		}
		prevSpecial := true // the text's start counts as following a special token
		var buf []byte
		for _, f := range frags {
			if f.token >= 0 {
				out = append(out, f.token)
				prevSpecial = true
				continue
			}
			buf = buf[:0]
			if t.addSpacePrefix && prevSpecial {
				buf = append(buf, "\u2581"...)
			}
			buf = appendEscaped(buf, f.text)
			out = t.encodeSPM(buf, out)
			prevSpecial = false
		}
		if opt.AddSpecial && t.AddEOS() {
			out = append(out, t.eos)
		}
	case KindBPE:
		if opt.AddSpecial && t.AddBOS() {
			out = append(out, t.bos)
		}
		s, _ := t.scratch.Get().(*bpeScratch)
		if s == nil {
			s = new(bpeScratch)
		}
		for _, f := range frags {
			if f.token >= 0 {
				out = append(out, f.token)
				continue
			}
			out = t.encodeBPE(f.text, s, out)
		}
		s.release()
		t.scratch.Put(s)
		if opt.AddSpecial && t.AddEOS() {
			out = append(out, t.eos)
		}
	case KindWPM:
		if opt.AddSpecial && t.bos >= 0 {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.token >= 0 {
				out = append(out, f.token)
				continue
			}
			out = t.encodeWPM(f.text, out)
		}
		if opt.AddSpecial && t.sep >= 0 {
			out = append(out, t.sep)
		}
	}
	return out
}

// appendEscaped appends s with every space replaced by ▁ (U+2581), the
// SentencePiece whitespace symbol.
func appendEscaped(buf []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(buf, s...)
		}
		buf = append(buf, s[:i]...)
		buf = append(buf, "\u2581"...)
		s = s[i+1:]
	}
}
