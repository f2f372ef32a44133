// Reference: google/sentencepiece src/bpe_model_trainer.cc (BPE over
// whitespace-prefixed words, ties to the shorter then smaller piece,
// scores -rank, required characters last) and src/trainer_interface.cc
// (character coverage, IsValidSentencePiece: ▁ only as a prefix or in
// whitespace-only pieces, no piece across scripts or digits, max length;
// meta pieces <unk> <s> </s>, user symbols, then <0x00>…<0xFF> with byte fallback).

package tokenizer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SPMOptions make a Trainer train a SentencePiece-style BPE vocabulary (a
// llama vocabulary: ▁ for space, scores, byte fallback) instead of a
// byte-level one. TrainOptions.VocabSize, Specials (user-defined symbols),
// MinFrequency and Workers apply; Pre does not.
type SPMOptions struct {
	// CharacterCoverage is the share of character occurrences the
	// vocabulary's single characters must cover (0: 0.9995, SentencePiece's
	// default); rarer characters become <unk> or, with ByteFallback, bytes.
	CharacterCoverage float64
	ByteFallback      bool // add <0x00>…<0xFF> (LLaMA)
	SplitDigits       bool // every digit is its own piece (LLaMA)
	MaxPieceLength    int  // in characters; 0: 16
	NoDummyPrefix     bool // do not prefix each line with ▁
}

// spmSym describes one symbol of the SPM trainer.
type spmSym struct {
	text   string
	chars  int
	script int32 // scriptAny for ▁ alone, else the script all its characters share
	allWS  bool  // only ▁
	hasWS  bool  // starts with ▁
	digit  bool  // holds a digit
}

const (
	scriptAny    int32 = -1
	scriptNumber int32 = -2
	scriptHan    int32 = -3 // Han, Hiragana, Katakana and Bopomofo count as one, as in SentencePiece
	scriptOther  int32 = -4 // characters of no listed script (punctuation: Common)
)

// spmSplitter turns a text into SentencePiece words: each line gets the
// dummy prefix ▁, spaces become ▁, and a word begins at each run of ▁.
func spmSplitter(dummy bool) func(string, func(string)) {
	return func(text string, emit func(string)) {
		var b strings.Builder
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				continue
			}
			b.Reset()
			if dummy {
				b.WriteString("▁")
			}
			b.WriteString(strings.ReplaceAll(line, " ", "▁"))
			w := b.String()
			start := 0
			for i, r := range w {
				if r == '▁' && i > start {
					if prev, _ := utf8.DecodeLastRuneInString(w[:i]); prev != '▁' {
						emit(w[start:i])
						start = i
					}
				}
			}
			emit(w[start:])
		}
	}
}

// scriptOf classifies a character for the no-mixed-scripts rule.
func scriptOf(r rune) int32 {
	switch {
	case r == '▁':
		return scriptAny
	case unicode.IsDigit(r):
		return scriptNumber
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Bopomofo):
		return scriptHan
	}
	for i, tab := range spmScripts {
		if unicode.Is(tab, r) {
			return int32(i)
		}
	}
	return scriptOther
}

var spmScripts = []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Arabic,
	unicode.Hebrew, unicode.Hangul, unicode.Thai, unicode.Devanagari, unicode.Armenian, unicode.Georgian,
	unicode.Bengali, unicode.Tamil, unicode.Ethiopic}

// NewSPMTrainer returns a Trainer for SentencePiece-style BPE.
func NewSPMTrainer(o TrainOptions, s SPMOptions) (*Trainer, error) {
	if s.CharacterCoverage == 0 {
		s.CharacterCoverage = 0.9995
	}
	if s.CharacterCoverage < 0 || s.CharacterCoverage > 1 {
		return nil, fmt.Errorf("tokenizer: character coverage %g outside (0, 1]", s.CharacterCoverage)
	}
	if s.MaxPieceLength == 0 {
		s.MaxPieceLength = 16
	}
	if o.VocabSize < 3+len(o.Specials) {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is too small", o.VocabSize)
	}
	for _, sp := range o.Specials {
		if sp == "" || sp == "<unk>" || sp == "<s>" || sp == "</s>" {
			return nil, fmt.Errorf("tokenizer: special token %q is empty or a meta piece", sp)
		}
	}
	return &Trainer{opt: o, spm: &s, wc: newWordCounts(o.Specials, o.Workers, spmSplitter(!s.NoDummyPrefix))}, nil
}

// trainSPM runs the SentencePiece-style merges over the counted words.
func (t *Trainer) trainSPM(ctx context.Context, counts map[string]int64) (*Vocab, error) {
	o, s := t.opt, t.spm
	v := &Vocab{Model: "llama", UNK: 0, BOS: 1, EOS: 2, PAD: -1, AddBOS: true, AddSpacePrefix: !s.NoDummyPrefix}
	add := func(tok string, score float32, ty TokenType) {
		v.Tokens = append(v.Tokens, tok)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, ty)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for _, sp := range o.Specials {
		add(sp, 0, TypeUserDefined)
	}
	if s.ByteFallback {
		for b := 0; b < 256; b++ {
			add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
		}
	}

	// Characters by frequency; the most frequent ones covering the asked
	// share of all occurrences become the initial symbols.
	charFreq := map[rune]int64{}
	var total int64
	for w, n := range counts {
		for _, r := range w {
			charFreq[r] += n
			total += n
		}
	}
	chars := make([]rune, 0, len(charFreq))
	for r := range charFreq {
		chars = append(chars, r)
	}
	sort.Slice(chars, func(i, j int) bool {
		if charFreq[chars[i]] != charFreq[chars[j]] {
			return charFreq[chars[i]] > charFreq[chars[j]]
		}
		return chars[i] < chars[j]
	})
	var covered int64
	keep := 0
	for keep < len(chars) && float64(covered) < s.CharacterCoverage*float64(total) {
		covered += charFreq[chars[keep]]
		keep++
	}
	chars = chars[:keep]
	target := o.VocabSize - len(v.Tokens) - len(chars)
	if target < 0 {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d leaves no room for the %d characters needed (lower the character coverage)", o.VocabSize, len(chars))
	}
	var syms []spmSym
	charID := make(map[rune]int32, len(chars))
	for _, r := range chars {
		charID[r] = int32(len(syms))
		syms = append(syms, spmSym{text: string(r), chars: 1, script: scriptOf(r), allWS: r == '▁', hasWS: r == '▁',
			digit: unicode.IsDigit(r)})
	}

	// Words as symbol ids; a character left out cuts the word, as an
	// unknown character stops every merge across it.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	var words [][]int32
	var freq []int64
	for _, w := range keys {
		var cur []int32
		for _, r := range w {
			id, ok := charID[r]
			if !ok {
				if len(cur) > 1 {
					words, freq = append(words, cur), append(freq, counts[w])
				}
				cur = nil
				continue
			}
			cur = append(cur, id)
		}
		if len(cur) > 1 {
			words, freq = append(words, cur), append(freq, counts[w])
		}
	}
	valid := func(a, b int32) bool {
		x, y := &syms[a], &syms[b]
		if x.chars+y.chars > s.MaxPieceLength {
			return false
		}
		if y.hasWS && !(x.allWS && y.allWS) {
			return false // ▁ only as a prefix, or in a piece of ▁ only
		}
		if s.SplitDigits && (x.digit || y.digit) {
			return false
		}
		return x.script == scriptAny || y.script == scriptAny || x.script == y.script
	}
	// Equal counts: the shorter piece, then the smaller string, first.
	before := func(p, q uint64) bool {
		a, b := pairSplit(p)
		c, d := pairSplit(q)
		l1, l2 := syms[a].chars+syms[b].chars, syms[c].chars+syms[d].chars
		if l1 != l2 {
			return l1 < l2
		}
		s1, s2 := syms[a].text+syms[b].text, syms[c].text+syms[d].text
		if s1 != s2 {
			return s1 < s2
		}
		return p < q
	}
	m := newMerger(words, freq, before, valid)
	textID := make(map[string]int32, len(syms)+target)
	for i, y := range syms {
		textID[y.text] = int32(i)
	}
	var merged []int32
	for len(merged) < target {
		if len(merged)%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if o.Progress != nil {
				o.Progress(len(merged), target)
			}
		}
		p, n, ok := m.best()
		if !ok || n < o.MinFrequency {
			if !ok {
				n = -1
			}
			t.short = stopReason(n, o.MinFrequency, true)
			break
		}
		a, b := pairSplit(p)
		x, y := syms[a], syms[b]
		if id, dup := textID[x.text+y.text]; dup {
			// Another pair already made this piece: reuse it, so the
			// vocabulary never holds one piece twice.
			m.merge(p, id)
			continue
		}
		sc := x.script
		if sc == scriptAny {
			sc = y.script
		}
		id := int32(len(syms))
		syms = append(syms, spmSym{text: x.text + y.text, chars: x.chars + y.chars, script: sc,
			allWS: x.allWS && y.allWS, hasWS: x.hasWS, digit: x.digit || y.digit})
		textID[x.text+y.text] = id
		merged = append(merged, id)
		m.merge(p, id)
	}
	score := float32(0)
	for _, id := range merged {
		add(syms[id].text, score, TypeNormal)
		score--
	}
	for _, r := range chars {
		add(string(r), score, TypeNormal)
		score--
	}
	return v, nil
}
