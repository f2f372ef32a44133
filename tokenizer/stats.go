// Reference: Cui, Yang & Yao 2023, "Efficient and Effective Text Encoding
// for Chinese LLaMA and Alpaca", §2.2 (tokens per Chinese character before
// and after vocabulary extension) and Rust et al. 2021, "How Good is Your
// Tokenizer?" (fertility: tokens per word).

package tokenizer

import (
	"strings"
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
	// HanTokens counts the tokens of the Chinese text: those whose bytes
	// overlap a Han character in the text (see hanTokens), so that
	// tokens per Han character measures Chinese alone, not the Latin text
	// around it.
	HanTokens int64
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
	ids := t.Encode(text, EncodeOptions{})
	s.Tokens += int64(len(ids))
	s.HanTokens += hanTokens(t, text, ids)
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

// hanTokens counts the tokens of ids (the encoding of text) whose bytes
// overlap a Han character of text; a token holding a space and a character
// counts, and so does each byte token of a character split into bytes. The
// tokens are laid over the text by their bytes; where they do not spell the
// text back (WordPiece lower-cases, an unknown token stands for lost text)
// each run of Han characters is encoded on its own and its tokens counted.
func hanTokens(t *Tokenizer, text string, ids []int32) int64 {
	first := strings.IndexFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) })
	if first < 0 {
		return 0
	}
	han := make([]bool, len(text)) // han[i]: byte i belongs to a Han character
	for i, r := range text[first:] {
		if unicode.Is(unicode.Han, r) {
			for j := first + i; j < first+i+utf8.RuneLen(r); j++ {
				han[j] = true
			}
		}
	}
	var n int64
	pos := 0
	extraSpace := t.kind == KindSPM && t.addSpacePrefix // Encode prefixed a ▁ the text lacks
	for _, id := range ids {
		b := t.TokenBytes(id)
		ty := t.Type(id)
		special := ty == TypeControl || ty == TypeUnknown || ty == TypeUserDefined
		if special && ty != TypeUserDefined {
			b = "" // control tokens stand for no text here; unknown ones for lost text, caught below
		}
		if extraSpace && !special && strings.HasPrefix(b, " ") {
			b = b[1:]
			extraSpace = false
		}
		if special {
			// After a special token SentencePiece prefixes ▁ again (see Encode).
			extraSpace = t.kind == KindSPM && t.addSpacePrefix
		}
		if !strings.HasPrefix(text[pos:], b) {
			return hanRunTokens(t, text)
		}
		for j := pos; j < pos+len(b); j++ {
			if han[j] {
				n++
				break
			}
		}
		pos += len(b)
	}
	if pos != len(text) {
		return hanRunTokens(t, text)
	}
	return n
}

// hanRunTokens encodes each maximal run of Han characters of text alone and
// counts the tokens, for vocabularies whose tokens do not spell text back.
func hanRunTokens(t *Tokenizer, text string) int64 {
	var n int64
	start := -1
	for i, r := range text + "\x00" {
		if unicode.Is(unicode.Han, r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			n += int64(len(t.Encode(text[start:i], EncodeOptions{})))
			start = -1
		}
	}
	return n
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
