package grammar

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gptgo/gptgo/tokenizer"
)

// benchStates are output prefixes under the schema below where a mask is
// computed: the start, inside a free string, after a key (only ':' fits),
// and inside a number.
var benchStates = []struct{ name, prefix string }{
	{"start", ``},
	{"in-string", `{"name": "Ali`},
	{"after-key", `{"name": "Alice", "age"`},
	{"in-number", `{"name": "Alice", "age": 4`},
}

const benchSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","tags"],"additionalProperties":false}`

// benchMask measures a mask walk with the cache bypassed (the cost of a
// state seen for the first time).
func benchMask(b *testing.B, v *Vocab) {
	g, err := CompileJSONSchema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range benchStates {
		b.Run(s.name, func(b *testing.B) {
			m := NewMatcher(g, v)
			if err := m.AcceptBytes([]byte(s.prefix)); err != nil {
				b.Fatal(err)
			}
			mask := make([]uint64, v.MaskWords())
			b.ReportAllocs()
			for b.Loop() {
				clear(mask)
				m.walk(mask, "")
			}
		})
	}
	// The mask in a budget's last steps (budget.go): the cached mask, then
	// a walk that drops the tokens after which the output cannot end in
	// time — inside a free string, two tokens more than the least needed.
	b.Run("in-string-budget", func(b *testing.B) {
		m := NewMatcher(g, v)
		if err := m.AcceptBytes([]byte(`{"name": "Ali`)); err != nil {
			b.Fatal(err)
		}
		m.SetBudget(int(m.need(&m.cur)) + 2)
		mask := make([]uint64, v.MaskWords())
		b.ReportAllocs()
		for b.Loop() {
			if err := m.Mask(mask); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMaskDefaultVocab(b *testing.B) {
	_, v := defaultVocabulary(b)
	benchMask(b, v)
}

func BenchmarkMaskQwen152k(b *testing.B) {
	_, v := sharedVocabulary(b, "data", "5-models-tokenizers", "qwen.tiktoken")
	benchMask(b, v)
}

func BenchmarkMaskLlama32k(b *testing.B) {
	_, v := sharedVocabulary(b, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
	benchMask(b, v)
}

// benchGeneration samples whole outputs under benchSchema with random
// logits (each a fresh Matcher, so its caches start empty) and reports the
// mean time of Mask per generated token, cold and cached states together.
func benchGeneration(b *testing.B, tok *tokenizer.Tokenizer, v *Vocab) {
	g, err := CompileJSONSchema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var masks int
	var spent time.Duration
	for b.Loop() {
		m := NewMatcher(g, v)
		tm := &timedMatcher{Matcher: m}
		sampleOutput(b, tok, tm, v, rng, 300)
		masks += tm.n
		spent += tm.d
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(masks), "ns/mask")
	b.ReportMetric(float64(masks)/float64(b.N), "tokens/op")
}

type timedMatcher struct {
	*Matcher
	n int
	d time.Duration
}

func (t *timedMatcher) Mask(allowed []uint64) error {
	start := time.Now()
	err := t.Matcher.Mask(allowed)
	t.d += time.Since(start)
	t.n++
	return err
}

func BenchmarkGenerationDefaultVocab(b *testing.B) {
	tok, v := defaultVocabulary(b)
	benchGeneration(b, tok, v)
}

func BenchmarkGenerationQwen152k(b *testing.B) {
	tok, v := sharedVocabulary(b, "data", "5-models-tokenizers", "qwen.tiktoken")
	benchGeneration(b, tok, v)
}
