// Reference: Lucene's CJKBigramFilter with outputUnigrams (overlapping character bigrams and the
// characters themselves for Han, Hiragana, Katakana and Hangul runs); Unicode UAX #24 scripts.

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
// digits for alphabetic scripts; for CJK runs each character and each
// overlapping bigram (a dictionary-free segmentation: every word of two or
// more characters shares a bigram with a query containing it, and the
// unigrams match one-character words such as 字 or 年, which bigrams
// spanning a question's particles would miss).
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
		for i := range cjk {
			out = append(out, string(cjk[i:i+1]))
			if i+1 < len(cjk) {
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

// stopwords are English function words that carry no topic; coverage
// (the "not found" test) ignores them, BM25 keeps them (its idf already
// weighs them down, and phrases like "to be" stay searchable).
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		being do does did has have had it its this that these those what which who whom whose when where why how
		i you he she we they me him her us them my your his our their not no so than then there about into over
		can could would should will shall may might must`) {
		stopwords[w] = true
	}
}
