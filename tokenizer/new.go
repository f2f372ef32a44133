// Reference: llama.cpp src/llama-vocab.cpp (the vocabulary fields a
// tokenizer needs, whatever file they come from).

package tokenizer

// Config describes a vocabulary held in memory, for New.
type Config struct {
	Kind   Kind
	Tokens []string    // id -> text; byte-level BPE vocabularies use GPT-2's byte-to-character encoding
	Scores []float32   // SPM merge priority per token (higher merges first); nil: all 0
	Types  []TokenType // nil: all TypeNormal
	Merges []string    // BPE rules "left right", best first
	// Pre names the BPE pre-tokenizer as tokenizer.ggml.pre does ("gpt-2",
	// "llama-bpe", "qwen2", "deepseek-coder", …).
	Pre string

	BOS, EOS, UNK, SEP int32 // special ids; -1 when absent
	AddBOS, AddEOS     bool  // what EncodeOptions.AddSpecial adds
	AddSpacePrefix     bool  // SPM: prefix the text with ▁
}

// New builds a tokenizer from an in-memory vocabulary.
func New(c Config) (*Tokenizer, error) {
	s := &spec{
		kind:           c.Kind,
		tokens:         append([]string(nil), c.Tokens...),
		scores:         c.Scores,
		types:          c.Types,
		merges:         c.Merges,
		pre:            c.Pre,
		addBOS:         c.AddBOS,
		addEOS:         c.AddEOS,
		addSpacePrefix: c.AddSpacePrefix,
	}
	s.noID()
	s.bos, s.eos, s.unk, s.sep = c.BOS, c.EOS, c.UNK, c.SEP
	return build(s)
}
