// Reference: Radford et al. 2019 (GPT-2: byte-level BPE over pre-tokenized
// words) and stanford-cs336/assignment1-basics (train_bpe: vocabulary
// layout, special tokens, ties broken by the lexicographically greater pair).

package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// TrainOptions configure TrainBPE.
type TrainOptions struct {
	// VocabSize is the size of the result, special tokens and the 256 byte
	// tokens included; training stops earlier when no pair is left.
	VocabSize int
	// Specials are added first (ids 0, 1, …) as control tokens. Text is cut
	// at them before pre-tokenization, so no merge ever crosses one.
	Specials []string
	// MinFrequency: a pair seen fewer times is never merged (0 or 1: no limit).
	MinFrequency int64
	// Pre names the pre-tokenizer as tokenizer.ggml.pre does; "" is "gpt-2".
	Pre string
	// Workers count words in parallel; 0 uses GOMAXPROCS.
	Workers int
	// Progress, when set, is called now and then during merging.
	Progress func(merges, target int)
}

// Trainer collects word counts for byte-level BPE. Feed it text with Add or
// AddFile (in any number of goroutines' worth of parallel counting, handled
// inside), then call Train.
type Trainer struct {
	opt   TrainOptions
	spm   *SPMOptions // nil: byte-level BPE
	wc    *wordCounts
	short string // why the last Train stopped below VocabSize ("" when it did not)
}

// NewTrainer checks o and starts the counting workers.
func NewTrainer(o TrainOptions) (*Trainer, error) {
	if o.Pre == "" {
		o.Pre = "gpt-2"
	}
	split, err := byteLevelSplitter(o.Pre)
	if err != nil {
		return nil, err
	}
	if o.VocabSize < 256+len(o.Specials) {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is below the %d byte and special tokens", o.VocabSize, 256+len(o.Specials))
	}
	seen := map[string]bool{}
	for _, s := range o.Specials {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("tokenizer: special token %q is empty or repeated", s)
		}
		seen[s] = true
	}
	return &Trainer{opt: o, wc: newWordCounts(o.Specials, o.Workers, split)}, nil
}

// Add feeds one independent piece of text (a document).
func (t *Trainer) Add(ctx context.Context, text string) error { return t.wc.Add(ctx, text) }

// AddFile streams a text or JSON/JSONL file (see ForEachText).
func (t *Trainer) AddFile(ctx context.Context, path, field string) error {
	return ForEachText(path, field, t.opt.Specials, func(s string) error { return t.wc.Add(ctx, s) })
}

// Close stops the counting goroutines of a Trainer that will not Train.
func (t *Trainer) Close() { t.wc.stop() }

// BytesFed returns how many bytes of text were fed.
func (t *Trainer) BytesFed() int64 { return t.wc.Bytes }

// Short says why the last Train stopped before VocabSize, as
// SentencePiece warns when a vocabulary cannot grow to the asked size; it is
// "" when Train reached the size.
func (t *Trainer) Short() string { return t.short }

// stopReason words why merging stopped: no pair left (n < 0), or the best
// pair's count n below the minimum frequency.
func stopReason(n, minFreq int64, spm bool) string {
	switch {
	case n == 1:
		return fmt.Sprintf("the most frequent pair left occurs once, below the minimum frequency %d", minFreq)
	case n >= 0:
		return fmt.Sprintf("the most frequent pair left occurs %d times, below the minimum frequency %d", n, minFreq)
	case spm:
		return "no pair is left to merge: every word of the text is one piece, or a pair left would break the piece rules (length, script, digits, ▁)"
	}
	return "no pair is left to merge: every word of the text is already one token (more text, or text with more distinct words, gives more merges)"
}

// errNoText is Train's answer when nothing that can be counted was fed.
var errNoText = errors.New("tokenizer: no text to train on: the input is empty")

// Train runs the merges and returns the vocabulary. Byte-level BPE gives
// specials, then the 256
// bytes in GPT-2's byte-to-character order ("!" … "~", "¡" … "ÿ", then the
// unprintable bytes), then one token per merge. SentencePiece-style BPE
// gives <unk> <s> </s>, specials, bytes (with byte fallback), merged pieces
// (score -rank), then single characters.
func (t *Trainer) Train(ctx context.Context) (*Vocab, error) {
	counts, err := t.wc.Counts(ctx)
	if err != nil {
		return nil, err
	}
	if len(counts) == 0 {
		return nil, errNoText
	}
	t.short = ""
	if t.spm != nil {
		return t.trainSPM(ctx, counts)
	}
	o := t.opt
	v := &Vocab{Model: "gpt2", Pre: o.Pre, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	raw := make([]string, 0, o.VocabSize) // id -> the bytes it stands for
	for _, s := range o.Specials {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
		raw = append(raw, s)
	}
	var byteID [256]int32
	for _, b := range gpt2ByteOrder() {
		byteID[b] = int32(len(v.Tokens))
		v.Tokens = append(v.Tokens, string(byteToRune[b]))
		v.Types = append(v.Types, TypeNormal)
		raw = append(raw, string([]byte{b}))
	}
	if len(o.Specials) > 0 {
		v.BOS, v.EOS = 0, 0
		for i, s := range o.Specials {
			if s == "<|endoftext|>" {
				v.BOS, v.EOS = int32(i), int32(i)
			}
		}
	}

	// Words in a fixed order so that runs are reproducible bit for bit.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		if len(w) > 1 {
			keys = append(keys, w) // a one-byte word has no pair
		}
	}
	sort.Strings(keys)
	words := make([][]int32, len(keys))
	freq := make([]int64, len(keys))
	for i, w := range keys {
		syms := make([]int32, len(w))
		for j := 0; j < len(w); j++ {
			syms[j] = byteID[w[j]]
		}
		words[i], freq[i] = syms, counts[w]
	}
	counts = nil
	// Ties go to the lexicographically greater pair of byte strings.
	before := func(p, q uint64) bool {
		a, b := pairSplit(p)
		c, d := pairSplit(q)
		if raw[a] != raw[c] {
			return raw[a] > raw[c]
		}
		return raw[b] > raw[d]
	}
	m := newMerger(words, freq, before, nil)
	target := o.VocabSize - len(v.Tokens)
	for len(v.Tokens) < o.VocabSize {
		if len(v.Merges)%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if o.Progress != nil {
				o.Progress(len(v.Merges), target)
			}
		}
		p, n, ok := m.best()
		if !ok || n < o.MinFrequency {
			if !ok {
				n = -1
			}
			t.short = stopReason(n, o.MinFrequency, false)
			break
		}
		a, b := pairSplit(p)
		id := int32(len(v.Tokens))
		raw = append(raw, raw[a]+raw[b])
		v.Tokens = append(v.Tokens, v.Tokens[a]+v.Tokens[b])
		v.Types = append(v.Types, TypeNormal)
		v.Merges = append(v.Merges, v.Tokens[a]+" "+v.Tokens[b])
		m.merge(p, id)
	}
	if o.Progress != nil {
		o.Progress(len(v.Merges), target)
	}
	return v, nil
}

// gpt2ByteOrder lists the bytes in the order of GPT-2's bytes_to_unicode:
// the printable ones that stand for themselves, then the rest ascending.
func gpt2ByteOrder() []byte {
	order := make([]byte, 0, 256)
	for pass := 0; pass < 2; pass++ {
		for b := 0; b < 256; b++ {
			if (byteToRune[b] == rune(b)) == (pass == 0) {
				order = append(order, byte(b))
			}
		}
	}
	return order
}
