// Reference: llama.cpp src/unicode.cpp (unicode_regex_split and its custom
// GPT-2 / LLaMA-3 splitters) and src/llama-vocab.cpp (llm_tokenizer_bpe: the
// regex list of each tokenizer.ggml.pre value).

package tokenizer

// Pre-tokenizers cut a text into words before BPE runs on each word. Upstream
// they are regexes (with \p{..} classes, possessive-looking greedy runs and a
// (?!\S) lookahead) that Go's regexp cannot express, so each one is written
// here by hand as a scanner over code points. A pre-tokenizer is a list of
// stages; like llama.cpp, each stage re-splits every piece the previous stage
// produced, and the text between two matches of a stage is kept as a piece too.

// stage appends to ends the end index (exclusive, in code points) of every
// piece of cs[lo:hi]; fl holds the class bits of each code point with catIn set.
type stage func(cs []rune, fl []uint16, lo, hi int, ends []int) []int

// catIn marks a position inside the current piece; a lookup past the end of
// the piece yields 0, which no class test accepts.
const catIn uint16 = 1 << 15

// preTokenizer is a named list of stages.
type preTokenizer struct {
	name   string
	stages []stage
}

// at returns the class bits of position i of a piece ending at hi.
func at(fl []uint16, i, hi int) uint16 {
	if i < hi {
		return fl[i]
	}
	return 0
}

// isContraction reports the length (2 or 3) of an English contraction
// ('s 't 're 've 'm 'll 'd) starting at cs[i] == '\”, or 0. fold makes the
// letters case-insensitive, as the LLaMA-3 regex's (?i:...) does.
func isContraction(cs []rune, i, hi int, fold bool) int {
	if cs[i] != '\'' || i+1 >= hi {
		return 0
	}
	low := func(r rune) rune {
		if fold && r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	n := low(cs[i+1])
	if n == 's' || n == 't' || n == 'm' || n == 'd' {
		return 2
	}
	if i+2 < hi {
		nn := low(cs[i+2])
		if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

// splitGPT2 is the GPT-2 pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// The alternatives are tried in order at each position, as a backtracking
// regex engine would; the lookahead keeps the last space of a run of
// whitespace for the word that follows it.
func splitGPT2(cs []rune, fl []uint16, lo, hi int, ends []int) []int {
	pos := lo
	for pos < hi {
		if n := isContraction(cs, pos, hi, false); n > 0 {
			pos += n
			ends = append(ends, pos)
			continue
		}
		c := cs[pos]
		f2 := fl[pos]
		sp := 0
		if c == ' ' {
			f2 = at(fl, pos+1, hi)
			sp = 1
		}
		switch {
		case f2&catL != 0:
			pos += sp
			for at(fl, pos, hi)&catL != 0 {
				pos++
			}
		case f2&catN != 0:
			pos += sp
			for at(fl, pos, hi)&catN != 0 {
				pos++
			}
		case f2&(catWS|catL|catN) == 0 && f2 != 0:
			pos += sp
			for f := at(fl, pos, hi); f&(catWS|catL|catN) == 0 && f != 0; f = at(fl, pos, hi) {
				pos++
			}
		default:
			pos = whitespaceRun(fl, pos, hi)
		}
		ends = append(ends, pos)
	}
	return ends
}

// whitespaceRun implements \s+(?!\S)|\s+ at pos and returns the match end;
// a position that is not whitespace at all becomes a one-code-point piece.
func whitespaceRun(fl []uint16, pos, hi int) int {
	n := 0
	for at(fl, pos+n, hi)&catWS != 0 {
		n++
	}
	switch {
	case n > 1 && pos+n < hi:
		return pos + n - 1 // leave one space for the next word
	case n > 0:
		return pos + n
	}
	return pos + 1
}

// llama3Stage is the LLaMA-3 pattern (maxDigits 3); with maxDigits 1 it is
// Qwen2's, which differs only in \p{N} versus \p{N}{1,3}:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func llama3Stage(maxDigits int) stage {
	return func(cs []rune, fl []uint16, lo, hi int, ends []int) []int {
		pos := lo
		for pos < hi {
			if n := isContraction(cs, pos, hi, true); n > 0 {
				pos += n
				ends = append(ends, pos)
				continue
			}
			c, f := cs[pos], fl[pos]
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if c != '\r' && c != '\n' && f&catN == 0 && (f&catL != 0 || at(fl, pos+1, hi)&catL != 0) {
				pos++
				for at(fl, pos, hi)&catL != 0 {
					pos++
				}
				ends = append(ends, pos)
				continue
			}
			// \p{N}{1,maxDigits}
			if f&catN != 0 {
				start := pos
				for at(fl, pos, hi)&catN != 0 {
					pos++
					if pos-start == maxDigits {
						ends = append(ends, pos)
						start = pos
					}
				}
				if pos > start {
					ends = append(ends, pos)
				}
				continue
			}
			// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
			f2 := f
			sp := 0
			if c == ' ' {
				f2 = at(fl, pos+1, hi)
				sp = 1
			}
			if f2&(catWS|catL|catN) == 0 && f2 != 0 {
				pos += sp
				for g := at(fl, pos, hi); g&(catWS|catL|catN) == 0 && g != 0; g = at(fl, pos, hi) {
					pos++
				}
				for pos < hi && (cs[pos] == '\r' || cs[pos] == '\n') {
					pos++
				}
				ends = append(ends, pos)
				continue
			}
			// \s*[\r\n]+ ends after the last line break of the whitespace run.
			lastNL := -1
			n := 0
			for at(fl, pos+n, hi)&catWS != 0 {
				if r := cs[pos+n]; r == '\r' || r == '\n' {
					lastNL = pos + n + 1
				}
				n++
			}
			if lastNL > 0 {
				pos = lastNL
			} else {
				pos = whitespaceRun(fl, pos, hi)
			}
			ends = append(ends, pos)
		}
		return ends
	}
}

// matcher returns the length of a match of one regex at cs[i] (0: none).
type matcher func(cs []rune, fl []uint16, i, hi int) int

// byMatcher turns a matcher into a stage with regex-iterator semantics: the
// search moves one code point at a time; gaps between matches stay pieces.
func byMatcher(m matcher) stage {
	return func(cs []rune, fl []uint16, lo, hi int, ends []int) []int {
		gap := lo
		for i := lo; i < hi; {
			n := m(cs, fl, i, hi)
			if n == 0 {
				i++
				continue
			}
			if i > gap {
				ends = append(ends, i)
			}
			i += n
			ends = append(ends, i)
			gap = i
		}
		if gap < hi {
			ends = append(ends, hi)
		}
		return ends
	}
}

// runOf matches one or more code points accepted by in.
func runOf(in func(r rune, f uint16) bool) matcher {
	return func(cs []rune, fl []uint16, i, hi int) int {
		n := 0
		for i+n < hi && in(cs[i+n], fl[i+n]) {
			n++
		}
		return n
	}
}

// oneOf matches a single code point accepted by in.
func oneOf(in func(r rune, f uint16) bool) matcher {
	return func(cs []rune, fl []uint16, i, hi int) int {
		if in(cs[i], fl[i]) {
			return 1
		}
		return 0
	}
}

// optSpaceRun matches \s?X+ where X is accepted by in.
func optSpaceRun(in func(r rune, f uint16) bool) matcher {
	run := runOf(in)
	return func(cs []rune, fl []uint16, i, hi int) int {
		if fl[i]&catWS != 0 && i+1 < hi {
			if n := run(cs, fl, i+1, hi); n > 0 {
				return n + 1
			}
		}
		return run(cs, fl, i, hi)
	}
}

// trailingSpace matches \s+$: the whitespace that ends the piece.
func trailingSpace(cs []rune, fl []uint16, i, hi int) int {
	for j := i; j < hi; j++ {
		if fl[j]&catWS == 0 {
			return 0
		}
	}
	return hi - i
}

func isNewline(r rune, _ uint16) bool { return r == '\r' || r == '\n' }
func isLetter(_ rune, f uint16) bool  { return f&catL != 0 }
func isNumber(_ rune, f uint16) bool  { return f&catN != 0 }
func isPunct(_ rune, f uint16) bool   { return f&catP != 0 }
func isDigit(r rune, _ uint16) bool   { return r >= '0' && r <= '9' }

// isCJK is [一-龥ࠀ-一가-퟿] of the DeepSeek pre-tokenizers.
func isCJK(r rune, _ uint16) bool {
	return (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x0800 && r <= 0x4E00) || (r >= 0xAC00 && r <= 0xD7FF)
}

// isPunctOr returns a test for [\p{P}extra].
func isPunctOr(extra string) func(r rune, f uint16) bool {
	return func(r rune, f uint16) bool {
		if f&catP != 0 {
			return true
		}
		for _, e := range extra {
			if r == e {
				return true
			}
		}
		return false
	}
}

// threeDigits matches [0-9][0-9][0-9].
func threeDigits(cs []rune, _ []uint16, i, hi int) int {
	if i+3 <= hi && isDigit(cs[i], 0) && isDigit(cs[i+1], 0) && isDigit(cs[i+2], 0) {
		return 3
	}
	return 0
}

// o200kStage is the pattern of OpenAI's o200k_base encoding:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Words split before an upper-case letter that follows lower-case ones
// ("camelCase" → "camel", "Case").
func o200kStage(cs []rune, fl []uint16, lo, hi int, ends []int) []int {
	const upper = catLu | catLmo | catM
	const lower = catLl | catLmo | catM
	// letters matches the two letter alternatives from j, returning the end or -1.
	letters := func(j int) int {
		q := j
		for q < hi && fl[q]&upper != 0 {
			q++
		}
		e := -1
		switch {
		case q < hi && fl[q]&lower != 0: // upper* lower+
			e = q
			for e < hi && fl[e]&lower != 0 {
				e++
			}
		default:
			// Backtrack: the last character of the upper run that is also
			// a lower-class one ends the word; else upper+ alone.
			for k := q - 1; k >= j; k-- {
				if fl[k]&lower != 0 {
					e = k + 1
					break
				}
			}
			if e < 0 && q > j {
				e = q
			}
		}
		if e < 0 {
			return -1
		}
		if e < hi {
			e += isContraction(cs, e, hi, true)
		}
		return e
	}
	pos := lo
	for pos < hi {
		c, f := cs[pos], fl[pos]
		if c != '\r' && c != '\n' && f&(catL|catN) == 0 && pos+1 < hi {
			if e := letters(pos + 1); e > 0 {
				ends = append(ends, e)
				pos = e
				continue
			}
		}
		if e := letters(pos); e > 0 {
			ends = append(ends, e)
			pos = e
			continue
		}
		if f&catN != 0 {
			start := pos
			for at(fl, pos, hi)&catN != 0 {
				pos++
				if pos-start == 3 {
					ends = append(ends, pos)
					start = pos
				}
			}
			if pos > start {
				ends = append(ends, pos)
			}
			continue
		}
		f2, sp := f, 0
		if c == ' ' {
			f2, sp = at(fl, pos+1, hi), 1
		}
		if f2&(catWS|catL|catN) == 0 && f2 != 0 {
			pos += sp
			for g := at(fl, pos, hi); g&(catWS|catL|catN) == 0 && g != 0; g = at(fl, pos, hi) {
				pos++
			}
			for pos < hi && (cs[pos] == '\r' || cs[pos] == '\n' || cs[pos] == '/') {
				pos++
			}
			ends = append(ends, pos)
			continue
		}
		lastNL, n := -1, 0
		for at(fl, pos+n, hi)&catWS != 0 {
			if r := cs[pos+n]; r == '\r' || r == '\n' {
				lastNL = pos + n + 1
			}
			n++
		}
		if lastNL > 0 {
			pos = lastNL
		} else {
			pos = whitespaceRun(fl, pos, hi)
		}
		ends = append(ends, pos)
	}
	return ends
}
