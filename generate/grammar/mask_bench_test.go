package grammar

import (
	"testing"
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
				m.walk(mask)
			}
		})
	}
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
