// Reference: Lin, "ROUGE: A Package for Automatic Evaluation of Summaries"
// (2004), ROUGE-L as the F-measure of the longest common subsequence; the
// word splitting of Google's rouge-score package (lower case, runs of
// [a-z0-9]), which Stanford Alpaca's self-instruct filter uses.

package data

import (
	"strings"
	"unicode"
)

// RougeWords splits text the way ROUGE-L compares it: lower-cased runs of
// letters and digits. A CJK character is a word of its own, so Chinese and
// Japanese instructions are compared too (rouge-score drops them, which
// would let every Chinese instruction through the near-duplicate filter).
func RougeWords(text string) []string {
	var words []string
	start := -1
	flush := func(i int) {
		if start >= 0 {
			words = append(words, strings.ToLower(text[start:i]))
			start = -1
		}
	}
	for i, r := range text {
		switch {
		case isCJK(r):
			flush(i)
			words = append(words, string(r))
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
		}
	}
	flush(len(text))
	return words
}

// isCJK reports the Han, Hiragana, Katakana and Hangul scripts.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// RougeL is the ROUGE-L F-measure of two word sequences: with l the length
// of their longest common subsequence, 2PR/(P+R) for P = l/len(a) and
// R = l/len(b). It is symmetric, 1 for equal sequences and 0 when either
// is empty or they share no word.
func RougeL(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	l := lcs(a, b)
	if l == 0 {
		return 0
	}
	p := float64(l) / float64(len(a))
	r := float64(l) / float64(len(b))
	return 2 * p * r / (p + r)
}

// lcs is the length of the longest common subsequence, by the textbook
// dynamic programme over two rows (memory of the shorter sequence).
func lcs(a, b []string) int {
	if len(b) > len(a) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] >= cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
