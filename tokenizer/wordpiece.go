// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_wpm_session), after
// BERT's BasicTokenizer + WordpieceTokenizer (google-research/bert tokenization.py).

package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfdFirst maps a code point to the first code point of its canonical
// decomposition, which strips accents (é → e) as llama.cpp's NFD table does.
func nfdFirst(r rune) rune {
	if r < 0xC0 || !utf8.ValidRune(r) {
		return r // ASCII has no decompositions; surrogates have none either
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFD.Bytes(buf[:n])
	first, _ := utf8.DecodeRune(d)
	return first
}

// isChineseChar is BERT's CJK test (including its 0x2B920 lower bound).
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// wpmWords lower-cases, strips accents and splits text into words:
// whitespace separates, and every punctuation mark, ASCII symbol and CJK
// character is a word of its own; control characters are dropped.
func wpmWords(text string) []string {
	tab := categories()
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range text {
		r = nfdFirst(r)
		f := catOf(tab, r)
		if f&catWS != 0 {
			flush()
			continue
		}
		if r == 0 || r == utf8.RuneError || f&catC != 0 {
			continue
		}
		lr := toLower(r)
		if f&catP != 0 || (r < 0x7F && f&catS != 0) || isChineseChar(r) {
			flush()
			words = append(words, string(lr))
			continue
		}
		cur = utf8.AppendRune(cur, lr)
	}
	flush()
	return words
}

// encodeWPM appends the WordPiece tokens of text: each word, prefixed with
// ▁ (the vocabulary stores word starts that way and continuations bare),
// is cut greedily into the longest tokens; a word that cannot be cut
// entirely becomes the unknown token.
func (t *Tokenizer) encodeWPM(text string, out []int32) []int32 {
	for _, w := range wpmWords(text) {
		word := "\u2581" + w
		n := len(word)
		mark := len(out)
		for i := 0; i < n; {
			matched := false
			for j := min(n, i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.index[word[i:j]]; ok {
					out = append(out, id)
					i = j
					matched = true
					break
				}
			}
			if !matched {
				out = out[:mark]
				break
			}
		}
		if len(out) == mark && t.unk >= 0 {
			out = append(out, t.unk)
		}
	}
	return out
}

// toLower is the simple lower-case mapping (UnicodeData.txt field 13) that
// llama.cpp's unicode_tolower applies.
func toLower(r rune) rune { return unicode.ToLower(r) }
