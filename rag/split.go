// Reference: LangChain's RecursiveCharacterTextSplitter (separators tried from coarse to fine,
// pieces merged up to a size with an overlap), here sized in the embedding model's tokens.

package rag

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Splitter cuts a section into chunks of at most Max tokens (as Count
// measures them), trying paragraph breaks first, then lines, sentences,
// words and finally characters; consecutive chunks share up to Overlap
// tokens of whole pieces. A fenced code block is one paragraph: it is cut
// only when it alone exceeds Max.
type Splitter struct {
	Max     int // tokens per chunk; default 256
	Overlap int // tokens repeated from the end of the previous chunk; default Max/8
	// Count measures text in the embedding model's tokens; nil counts
	// Terms plus punctuation, a rough stand-in for tests.
	Count func(string) int
}

// Span is a chunk's byte range in the section text.
type Span struct{ Start, End int }

func (sp Splitter) norm() Splitter {
	if sp.Max <= 0 {
		sp.Max = 256
	}
	if sp.Overlap < 0 || sp.Overlap >= sp.Max {
		sp.Overlap = 0
	} else if sp.Overlap == 0 {
		sp.Overlap = sp.Max / 8
	}
	if sp.Count == nil {
		sp.Count = roughCount
	}
	return sp
}

// roughCount counts words and CJK characters, about what a subword
// tokenizer gives for English and a little under for Chinese.
func roughCount(s string) int {
	n := 0
	in := false
	for _, r := range s {
		switch {
		case isCJK(r):
			n++
			in = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !in {
				n++
			}
			in = true
		case unicode.IsSpace(r):
			in = false
		default:
			n++
			in = false
		}
	}
	return n
}

// Split returns the chunks of text, trimmed of surrounding white space,
// empty ones dropped, in order.
func (sp Splitter) Split(text string) []Span {
	sp = sp.norm()
	var out []Span
	for _, s := range sp.split(text, 0, len(text), 0) {
		for s.Start < s.End {
			r, n := utf8.DecodeRuneInString(text[s.Start:])
			if !unicode.IsSpace(r) {
				break
			}
			s.Start += n
		}
		for s.End > s.Start {
			r, n := utf8.DecodeLastRuneInString(text[:s.End])
			if !unicode.IsSpace(r) {
				break
			}
			s.End -= n
		}
		if s.Start < s.End {
			out = append(out, s)
		}
	}
	return out
}

const levels = 5 // paragraphs, lines, sentences, words, characters

// split cuts text[s:e] with the separators of level and finer.
func (sp Splitter) split(text string, s, e, level int) []Span {
	if sp.Count(text[s:e]) <= sp.Max {
		return []Span{{s, e}}
	}
	if level >= levels {
		return []Span{{s, e}} // a single character over Max: nothing finer exists
	}
	pieces := cut(text, s, e, level)
	if len(pieces) <= 1 {
		return sp.split(text, s, e, level+1)
	}
	var out []Span
	var cur []Span // pieces of the chunk being built
	var curN int
	counts := map[Span]int{}
	count := func(p Span) int {
		if n, ok := counts[p]; ok {
			return n
		}
		n := sp.Count(text[p.Start:p.End])
		counts[p] = n
		return n
	}
	emit := func() {
		if len(cur) > 0 {
			out = append(out, Span{cur[0].Start, cur[len(cur)-1].End})
		}
	}
	for _, p := range pieces {
		n := count(p)
		if n > sp.Max {
			emit()
			cur, curN = nil, 0
			out = append(out, sp.split(text, p.Start, p.End, level+1)...)
			continue
		}
		if curN+n > sp.Max && len(cur) > 0 {
			emit()
			// carry whole pieces from the end while they fit the overlap
			// and leave room for p
			var keep []Span
			kn := 0
			for i := len(cur) - 1; i >= 0; i-- {
				c := count(cur[i])
				if kn+c > sp.Overlap || kn+c+n > sp.Max {
					break
				}
				keep = append([]Span{cur[i]}, keep...)
				kn += c
			}
			cur, curN = keep, kn
		}
		cur = append(cur, p)
		curN += n
	}
	emit()
	return out
}

// cut partitions text[s:e] into pieces at level's separators, each piece
// keeping its trailing separator.
func cut(text string, s, e, level int) []Span {
	var out []Span
	start := s
	mark := func(i int) {
		if i > start {
			out = append(out, Span{start, i})
			start = i
		}
	}
	switch level {
	case 0: // paragraphs: a blank line outside a ``` or ~~~ fence
		fence := ""
		lineStart := s
		for i := s; i <= e; i++ {
			if i < e && text[i] != '\n' {
				continue
			}
			line := strings.TrimSpace(text[lineStart:i])
			switch {
			case fence != "":
				if strings.HasPrefix(line, fence) {
					fence = ""
				}
			case strings.HasPrefix(line, "```"):
				fence = "```"
			case strings.HasPrefix(line, "~~~"):
				fence = "~~~"
			case line == "" && i < e:
				mark(i + 1)
			}
			lineStart = i + 1
		}
	case 1: // lines
		for i := s; i < e; i++ {
			if text[i] == '\n' {
				mark(i + 1)
			}
		}
	case 2: // sentences: . ! ? before white space; CJK full stops anywhere
		for i := s; i < e; {
			r, n := utf8.DecodeRuneInString(text[i:e])
			i += n
			switch r {
			case '。', '！', '？', '；', '…', '．':
				mark(i)
			case '.', '!', '?':
				if i < e && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t') {
					mark(i + 1)
				}
			}
		}
	case 3: // words
		for i := s; i < e; i++ {
			if text[i] == ' ' || text[i] == '\t' {
				mark(i + 1)
			}
		}
	default: // characters, a few at a time
		for i := s; i < e; {
			_, n := utf8.DecodeRuneInString(text[i:e])
			i += n
			mark(i)
		}
	}
	if start < e {
		out = append(out, Span{start, e})
	}
	return out
}
