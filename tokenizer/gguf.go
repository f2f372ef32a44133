// Reference: llama.cpp src/llama-vocab.cpp (llama_vocab::impl::load) and
// ggml/docs/gguf.md ("tokenizer.ggml.*" metadata keys).

package tokenizer

import (
	"fmt"

	"github.com/gptgo/gptgo/gguf"
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata: the model ("llama" = SentencePiece, "gpt2" = byte-level BPE,
// "bert" = WordPiece), tokens, scores, token types, merges, the
// pre-tokenizer, special token ids and the add_bos/add_eos/add_space_prefix
// flags, with llama.cpp's defaults where a key is absent.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return nil, fmt.Errorf("tokenizer: GGUF has no tokenizer.ggml.model")
	}
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok {
		return nil, fmt.Errorf("tokenizer: GGUF has no tokenizer.ggml.tokens string array")
	}
	s := &spec{tokens: append([]string(nil), tokens...)}
	s.noID()
	s.modelName, _ = f.String("general.name")
	pre, _ := f.String("tokenizer.ggml.pre")

	switch model {
	case "llama":
		s.kind = KindSPM
		s.bos, s.eos, s.unk = 1, 2, 0
		s.addBOS, s.addSpacePrefix = true, true
	case "gpt2":
		s.kind = KindBPE
		s.bos, s.eos = 11, 11
		merges, ok := f.Strings("tokenizer.ggml.merges")
		if !ok {
			return nil, fmt.Errorf("tokenizer: GGUF BPE vocabulary has no tokenizer.ggml.merges")
		}
		s.merges = merges
		if _, known := preAliases[pre]; !known {
			return nil, fmt.Errorf("tokenizer: unknown tokenizer.ggml.pre %q", pre)
		}
		s.pre = pre
		set := settingsFor(pre)
		s.addBOS = set.addBOS
		if set.noBOS {
			s.bos = -1
		}
	case "bert":
		s.kind = KindWPM
		s.bos, s.unk, s.sep, s.pad = 101, 100, 102, 0
		s.addBOS = true
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer.ggml.model %q", model)
	}

	if v, ok := f.Lookup("tokenizer.ggml.scores"); ok {
		sc, ok := v.Float32s()
		if !ok {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores is %v, want an f32 array", v.Type)
		}
		s.scores = sc
	}
	if v, ok := f.Lookup("tokenizer.ggml.token_type"); ok {
		ty, ok := v.Int32s()
		if !ok {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type is not an i32 array")
		}
		s.types = make([]TokenType, len(ty))
		for i, x := range ty {
			s.types[i] = TokenType(x)
		}
	}
	if b, ok := f.Bool("tokenizer.ggml.add_space_prefix"); ok {
		s.addSpacePrefix = b
	}
	ids := []struct {
		key string
		dst *int32
	}{
		{"tokenizer.ggml.bos_token_id", &s.bos},
		{"tokenizer.ggml.eos_token_id", &s.eos},
		{"tokenizer.ggml.eot_token_id", &s.eot},
		{"tokenizer.ggml.eom_token_id", &s.eom},
		{"tokenizer.ggml.unknown_token_id", &s.unk},
		{"tokenizer.ggml.seperator_token_id", &s.sep},
		{"tokenizer.ggml.padding_token_id", &s.pad},
		{"tokenizer.ggml.fim_pre_token_id", &s.fimPre},
		{"tokenizer.ggml.fim_suf_token_id", &s.fimSuf},
		{"tokenizer.ggml.fim_mid_token_id", &s.fimMid},
		{"tokenizer.ggml.prefix_token_id", &s.fimPre}, // older names of the same three
		{"tokenizer.ggml.suffix_token_id", &s.fimSuf},
		{"tokenizer.ggml.middle_token_id", &s.fimMid},
		{"tokenizer.ggml.fim_pad_token_id", &s.fimPad},
		{"tokenizer.ggml.fim_rep_token_id", &s.fimRep},
		{"tokenizer.ggml.fim_sep_token_id", &s.fimSep},
	}
	for _, k := range ids {
		if v, ok := f.Uint(k.key); ok && v < uint64(len(tokens)) {
			*k.dst = int32(v)
		}
	}
	// llama.cpp starts a WordPiece text with the CLS id (special_cls_id),
	// whose default is the 101 above; converted BERTs carry it here.
	if v, ok := f.Uint("tokenizer.ggml.cls_token_id"); ok && s.kind == KindWPM && v < uint64(len(tokens)) {
		s.bos = int32(v)
	}
	if b, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		s.addBOS = b
	}
	if b, ok := f.Bool("tokenizer.ggml.add_eos_token"); ok {
		s.addEOS = b
	}
	return build(s)
}

// Open reads the tokenizer of a GGUF file.
func Open(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// encodeWPM is defined in wordpiece.go.
