// Reference: Cui, Yang & Yao 2023, "Efficient and Effective Text Encoding
// for Chinese LLaMA and Alpaca", §2.2 (tokens per Chinese character before
// and after vocabulary extension) and Rust et al. 2021, "How Good is Your
// Tokenizer?" (fertility: tokens per word).

package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// TextStats counts what a tokenizer makes of some text.
type TextStats struct {
	Pieces int64 // texts encoded (file chunks, JSON strings)
	Bytes  int64 // UTF-8 bytes
	Chars  int64 // code points
	Han    int64 // code points of the Han script (Chinese characters)
	Words  int64 // whitespace-separated words; a run of Han characters counts each character as a word
	Tokens int64 // tokens, without BOS/EOS
}

// Per returns tokens per unit (0 when there are no units).
func Per(tokens, units int64) float64 {
	if units == 0 {
		return 0
	}
	return float64(tokens) / float64(units)
}

// Add counts one text encoded as plain text (no special tokens parsed, none added).
func (s *TextStats) Add(t *Tokenizer, text string) {
	s.Pieces++
	s.Bytes += int64(len(text))
	s.Tokens += int64(len(t.Encode(text, EncodeOptions{})))
	inWord := false
	for _, r := range text {
		s.Chars++
		switch {
		case unicode.Is(unicode.Han, r):
			// Chinese has no spaces between words; each character stands
			// for a word here so that "per word" stays comparable.
			s.Han++
			s.Words++
			inWord = false
		case unicode.IsSpace(r) || r == utf8.RuneError:
			inWord = false
		default:
			if !inWord {
				s.Words++
			}
			inWord = true
		}
	}
}

// FileStats encodes the text of a file (see ForEachText) and counts.
func FileStats(t *Tokenizer, path, field string) (TextStats, error) {
	var s TextStats
	err := ForEachText(path, field, nil, func(text string) error {
		s.Add(t, text)
		return nil
	})
	return s, err
}
