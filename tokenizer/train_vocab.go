// Reference: ggml/docs/gguf.md ("tokenizer.ggml.*" keys, as
// llama.cpp's vocab-only files such as ggml-vocab-gpt-2.gguf carry them) and
// Hugging Face tokenizers' serialization of tokenizer.json (BPE model,
// ByteLevel pre-tokenizer and decoder, added_tokens).

package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// Vocab is a vocabulary as files store it: what the trainers produce, what
// Extend combines, and what the writers serialise. Unlike a Tokenizer it is
// plain data that may be edited.
type Vocab struct {
	Model  string      // "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE), as tokenizer.ggml.model
	Pre    string      // gpt2: the pre-tokenizer (tokenizer.ggml.pre)
	Name   string      // general.name; "" writes the file's base name
	Tokens []string    // id -> text (gpt2: GPT-2 byte-to-character encoding; llama: ▁ for space, <0xXX> bytes)
	Scores []float32   // llama: merge priority, higher first; nil for gpt2
	Types  []TokenType // id -> type
	Merges []string    // gpt2: "left right", best first

	BOS, EOS, UNK, PAD int32 // -1: absent
	AddBOS, AddEOS     bool
	AddSpacePrefix     bool // llama: prefix text with ▁
	// Unigram marks pieces read from a SentencePiece unigram model: they can
	// extend a BPE vocabulary but are not a BPE vocabulary themselves.
	Unigram bool

	// spmRest holds the fields of a SentencePiece ModelProto other than its
	// pieces (trainer, normalizer and denormalizer specs), kept as encoded
	// so that a .model written back keeps every setting of the one read.
	spmRest []byte
}

// Tokenizer builds a tokenizer for v.
func (v *Vocab) Tokenizer() (*Tokenizer, error) {
	if v.Unigram {
		return nil, fmt.Errorf("tokenizer: a SentencePiece unigram vocabulary is not supported for tokenizing")
	}
	s := &spec{tokens: append([]string(nil), v.Tokens...), scores: v.Scores, types: v.Types,
		merges: v.Merges, pre: v.Pre, addBOS: v.AddBOS, addEOS: v.AddEOS, addSpacePrefix: v.AddSpacePrefix, modelName: v.Name}
	s.noID()
	s.bos, s.eos, s.unk, s.pad = v.BOS, v.EOS, v.UNK, v.PAD
	switch v.Model {
	case "gpt2":
		s.kind = KindBPE
		if s.pre == "" {
			s.pre = "gpt-2"
		}
	case "llama":
		s.kind = KindSPM
	default:
		return nil, fmt.Errorf("tokenizer: vocabulary model %q (want gpt2 or llama)", v.Model)
	}
	return build(s)
}

// check validates the parallel slices before anything is written.
func (v *Vocab) check() error {
	n := len(v.Tokens)
	if n == 0 {
		return fmt.Errorf("tokenizer: empty vocabulary")
	}
	if len(v.Types) != n {
		return fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	for _, id := range []int32{v.BOS, v.EOS, v.UNK, v.PAD} {
		if id < -1 || id >= int32(n) {
			return fmt.Errorf("tokenizer: special id %d outside the %d tokens", id, n)
		}
	}
	switch v.Model {
	case "gpt2", "llama":
	default:
		return fmt.Errorf("tokenizer: vocabulary model %q (want gpt2 or llama)", v.Model)
	}
	if v.Unigram {
		return fmt.Errorf("tokenizer: a SentencePiece unigram vocabulary is written only as it was read")
	}
	return nil
}

// GGUFKV returns the tokenizer.ggml.* keys of v, in the order llama.cpp's
// converter writes them.
func (v *Vocab) GGUFKV() []gguf.KV {
	kv := []gguf.KV{{Key: "tokenizer.ggml.model", Value: gguf.NewValue(v.Model)}}
	pre := v.Pre
	if v.Model == "llama" {
		pre = "default"
	}
	kv = append(kv, gguf.KV{Key: "tokenizer.ggml.pre", Value: gguf.NewValue(pre)})
	kv = append(kv, gguf.KV{Key: "tokenizer.ggml.tokens", Value: gguf.NewValue(append([]string(nil), v.Tokens...))})
	if v.Scores != nil {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.scores", Value: gguf.NewValue(append([]float32(nil), v.Scores...))})
	}
	types := make([]int32, len(v.Types))
	for i, t := range v.Types {
		types[i] = int32(t)
	}
	kv = append(kv, gguf.KV{Key: "tokenizer.ggml.token_type", Value: gguf.NewValue(types)})
	if v.Model == "gpt2" {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.merges", Value: gguf.NewValue(append([]string{}, v.Merges...))})
	}
	for _, id := range []struct {
		key string
		id  int32
	}{{"bos_token_id", v.BOS}, {"eos_token_id", v.EOS}, {"unknown_token_id", v.UNK}, {"padding_token_id", v.PAD}} {
		if id.id >= 0 {
			kv = append(kv, gguf.KV{Key: "tokenizer.ggml." + id.key, Value: gguf.NewValue(uint32(id.id))})
		}
	}
	kv = append(kv,
		gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: gguf.NewValue(v.AddBOS)},
		gguf.KV{Key: "tokenizer.ggml.add_eos_token", Value: gguf.NewValue(v.AddEOS)})
	if v.Model == "llama" {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.add_space_prefix", Value: gguf.NewValue(v.AddSpacePrefix)})
	}
	return kv
}

// WriteGGUF writes v as a vocabulary-only GGUF file (no tensors), which
// llama.cpp loads with vocab_only (llama-tokenize --vocab-only) and gptgo
// with Open. general.architecture is "gpt2" or "llama" after the model.
func (v *Vocab) WriteGGUF(path string) error {
	if err := v.check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	name := v.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	h := &gguf.Header{Version: 3, KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue(v.Model)},
		{Key: "general.name", Value: gguf.NewValue(name)},
	}}
	h.KV = append(h.KV, v.GGUFKV()...)
	if err := gguf.WriteFile(path, h, nil); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// hfPatterns are the Split regexes a tokenizer.json carries for each
// pre-tokenizer other than GPT-2's (which is ByteLevel's own regex).
var hfPatterns = map[string]string{
	"llama3": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"qwen2":  `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
}

// WriteHFJSON writes a byte-level BPE vocabulary as a Hugging Face
// tokenizer.json (model BPE, ByteLevel pre-tokenizer and decoder, special
// tokens as added_tokens).
func (v *Vocab) WriteHFJSON(path string) error {
	if err := v.check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if v.Model != "gpt2" {
		return fmt.Errorf("%s: tokenizer.json is written for byte-level BPE (gpt2) vocabularies, not %q", path, v.Model)
	}
	byteLevel := func(useRegex bool) string {
		return fmt.Sprintf(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":%v}`, useRegex)
	}
	pre := byteLevel(true)
	if name := preAliases[v.Pre]; name != "gpt-2" {
		pat, ok := hfPatterns[name]
		if !ok {
			return fmt.Errorf("%s: no tokenizer.json form for pre-tokenizer %q (gpt-2, llama-bpe and qwen2 have one)", path, v.Pre)
		}
		q, _ := json.Marshal(pat)
		pre = `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + string(q) +
			`},"behavior":"Isolated","invert":false},` + byteLevel(false) + `]}`
	}
	var b bytes.Buffer
	str := func(s string) {
		q, _ := json.Marshal(s)
		b.Write(q)
	}
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	first := true
	for i, t := range v.Types {
		if t != TypeControl && t != TypeUserDefined {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "\n    {\"id\": %d, \"content\": ", i)
		str(v.Tokens[i])
		fmt.Fprintf(&b, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": %v}", t == TypeControl)
	}
	b.WriteString("\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": " + pre)
	b.WriteString(",\n  \"post_processor\": null,\n  \"decoder\": " + byteLevel(true))
	b.WriteString(",\n  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, " +
		"\"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": {")
	first = true
	for i, t := range v.Tokens {
		if v.Types[i] == TypeControl || v.Types[i] == TypeUserDefined {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString("\n      ")
		str(t)
		fmt.Fprintf(&b, ": %d", i)
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, m := range v.Merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		str(m)
	}
	b.WriteString("\n    ]\n  }\n}\n")
	return atomicWrite(path, b.Bytes())
}

// WriteFile writes v in the format the extension of path asks for: .gguf,
// .json (tokenizer.json) or .model (SentencePiece, llama vocabularies).
// Another extension is an error (see CheckVocabPath) rather than GGUF bytes
// under a name that says otherwise.
func (v *Vocab) WriteFile(path string) error {
	if err := CheckVocabPath(path); err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return v.WriteHFJSON(path)
	case ".model":
		return v.WriteSentencePiece(path)
	}
	return v.WriteGGUF(path)
}

// CheckVocabPath reports whether WriteFile knows the format of path by its
// extension, so that a command can refuse a name before hours of training.
func CheckVocabPath(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gguf", ".json", ".model":
		return nil
	}
	return fmt.Errorf("tokenizer: %s: unknown vocabulary format %q: name it .gguf (GGUF), .json (tokenizer.json) or .model (SentencePiece)", path, filepath.Ext(path))
}

// atomicWrite creates path through a temporary file renamed into place, so a
// failure leaves no partial vocabulary behind.
func atomicWrite(path string, b []byte) error {
	if err := atomicfile.WriteBytes(path, b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
