// Reference: Lucene's CJKBigramFilter (overlapping character bigrams for Han, Hiragana,
// Katakana and Hangul runs; a lone character stays a unigram); Unicode UAX #24 scripts.

package rag

import (
	"strings"
	"unicode"
)

// isCJK reports the scripts written without spaces between words, which
// get bigrams instead of words.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// Terms splits text into BM25 terms: lower-cased runs of letters and
// digits for alphabetic scripts, overlapping bigrams for CJK runs (a
// dictionary-free segmentation: every word of two or more characters
// shares a bigram with the query that contains it).
func Terms(text string) []string {
	var out []string
	var word strings.Builder
	var cjk []rune
	flushWord := func() {
		if word.Len() > 0 {
			out = append(out, word.String())
			word.Reset()
		}
	}
	flushCJK := func() {
		switch len(cjk) {
		case 0:
		case 1:
			out = append(out, string(cjk))
		default:
			for i := 0; i+1 < len(cjk); i++ {
				out = append(out, string(cjk[i:i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			word.WriteRune(unicode.ToLower(r))
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}
