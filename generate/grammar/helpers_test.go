package grammar

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

var (
	defaultOnce  sync.Once
	defaultTok   *tokenizer.Tokenizer
	defaultVocab *Vocab
	defaultErr   error
)

// defaultVocabulary is the embedded default model's tokenizer (byte-level
// BPE, 4096 tokens) laid out for masking.
func defaultVocabulary(t testing.TB) (*tokenizer.Tokenizer, *Vocab) {
	t.Helper()
	defaultOnce.Do(func() {
		f, err := models.OpenDefault()
		if err != nil {
			defaultErr = err
			return
		}
		defer f.Close()
		if defaultTok, defaultErr = tokenizer.FromGGUF(f); defaultErr != nil {
			return
		}
		defaultVocab, defaultErr = NewVocab(defaultTok)
	})
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultTok, defaultVocab
}

// sharedVocabulary loads a tokenizer from ../shared (skipping when absent).
func sharedVocabulary(t testing.TB, elem ...string) (*tokenizer.Tokenizer, *Vocab) {
	t.Helper()
	p := testkit.Shared(t, elem...)
	tok, err := tokenizer.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVocab(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok, v
}

// constraint is what sampleOutput needs of a Matcher.
type constraint interface {
	Mask([]uint64) error
	Accept(int32) error
	Done() bool
}

// sampleOutput draws tokens at random among those m allows, until an end-of-generation
// token, Done, or budget tokens. It returns the decoded text as the
// stream decoder prints it and whether generation ended.
func sampleOutput(t testing.TB, tok *tokenizer.Tokenizer, m constraint, v *Vocab, rng *rand.Rand, budget int) (string, bool) {
	t.Helper()
	mask := make([]uint64, v.MaskWords())
	dec := tok.NewStreamDecoder()
	var text []byte
	ids := make([]int32, 0, 1024)
	w := make([]float64, 0, 1024)
	for range budget {
		if err := m.Mask(mask); err != nil {
			t.Fatalf("mask after %q: %v", text, err)
		}
		ids = ids[:0]
		for i, word := range mask {
			for word != 0 {
				ids = append(ids, int32(i*64+bits.TrailingZeros64(word)))
				word &= word - 1
			}
		}
		// Random logits that, like a model's, favour short tokens a
		// little (so outputs end within a test's budget), drawn among 8
		// allowed tokens picked uniformly: the cost stays O(V/64).
		w = w[:0]
		cand := [8]int32{}
		var sum float64
		for k := range cand {
			cand[k] = ids[rng.IntN(len(ids))]
			x := math.Exp(rng.NormFloat64()*2 - 0.5*float64(len(v.bytes[cand[k]])))
			w = append(w, x)
			sum += x
		}
		r := rng.Float64() * sum
		pick := cand[len(cand)-1]
		for k, x := range w {
			if r < x {
				pick = cand[k]
				break
			}
			r -= x
		}
		if err := m.Accept(pick); err != nil {
			t.Fatalf("accept %d after %q: %v", pick, text, err)
		}
		if tok.IsEOG(pick) {
			return string(text) + dec.Flush(), true
		}
		text = append(text, dec.Next(pick)...)
		if m.Done() {
			return string(text) + dec.Flush(), true
		}
	}
	return string(text) + dec.Flush(), false
}
