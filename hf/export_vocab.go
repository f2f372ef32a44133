// Reference: Hugging Face transformers tokenizer files (tokenizer_config.json:
// bos_token/eos_token/unk_token/pad_token, add_bos_token/add_eos_token,
// chat_template, model_max_length, tokenizer_class; generation_config.json)
// and gguf-py/gguf/constants.py (Keys.Tokenizer) for what is read back.

package hf

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tokenizer"
)

// exportTokenizer writes the vocabulary file (tokenizer.json for byte-level
// BPE, tokenizer.model for SentencePiece), adds the special ids to cfg and
// returns the JSON files still to write (tokenizer_config.json,
// generation_config.json).
func exportTokenizer(f *gguf.File, path, dir string, a *arch, cfg map[string]any) (map[string]any, error) {
	model, _ := f.String("tokenizer.ggml.model")
	tc := map[string]any{"clean_up_tokenization_spaces": false}
	if n, ok := f.Uint(a.gguf + ".context_length"); ok {
		tc["model_max_length"] = n
	}
	if model == "bert" {
		return exportWordPiece(f, path, dir, cfg, tc)
	}
	v, err := tokenizer.LoadVocab(path)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: vocabulary: %w", path, err)
	}
	switch model {
	case "gpt2":
		if err := v.WriteHFJSON(filepath.Join(dir, "tokenizer.json")); err != nil {
			return nil, fmt.Errorf("hf: %w", err)
		}
		tc["tokenizer_class"] = map[string]string{"qwen2": "Qwen2Tokenizer", "gpt2": "GPT2Tokenizer"}[a.gguf]
		if tc["tokenizer_class"] == "" {
			tc["tokenizer_class"] = "PreTrainedTokenizerFast"
		}
	case "llama":
		if err := v.WriteSentencePiece(filepath.Join(dir, "tokenizer.model")); err != nil {
			return nil, fmt.Errorf("hf: %w", err)
		}
		tc["tokenizer_class"] = "LlamaTokenizer"
		tc["legacy"] = true
	default:
		return nil, fmt.Errorf("hf: %s: tokenizer.ggml.model %q cannot be exported (gpt2 and llama can)", path, model)
	}
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	gen := map[string]any{"_from_model_config": true}
	for _, s := range []struct{ key, typ string }{{"bos_token_id", "bos"}, {"eos_token_id", "eos"}, {"unknown_token_id", "unk"}, {"seperator_token_id", "sep"}, {"padding_token_id", "pad"}} {
		id, ok := f.Uint("tokenizer.ggml." + s.key)
		if !ok || id >= uint64(len(tokens)) {
			continue
		}
		tc[s.typ+"_token"] = tokens[id]
		if s.typ != "unk" && s.typ != "sep" {
			cfg[s.typ+"_token_id"] = id
			gen[s.typ+"_token_id"] = id
		}
	}
	for _, typ := range []string{"bos", "eos"} {
		if b, ok := f.Bool("tokenizer.ggml.add_" + typ + "_token"); ok {
			tc["add_"+typ+"_token"] = b
		}
	}
	var named []map[string]string
	for _, kv := range f.KV {
		name, ok := strings.CutPrefix(kv.Key, "tokenizer.chat_template")
		t, isStr := kv.Value.String()
		if !ok || !isStr || (name != "" && !strings.HasPrefix(name, ".")) {
			continue
		}
		if name == "" {
			tc["chat_template"] = t
		} else {
			named = append(named, map[string]string{"name": name[1:], "template": t})
		}
	}
	if len(named) > 0 {
		if t, ok := tc["chat_template"].(string); ok {
			named = append([]map[string]string{{"name": "default", "template": t}}, named...)
		}
		tc["chat_template"] = named
	}
	return map[string]any{"tokenizer_config.json": tc, "generation_config.json": gen}, nil
}
