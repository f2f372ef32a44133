// Reference: llama.cpp convert_hf_to_gguf.py (get_vocab_base,
// _set_vocab_gpt2, _set_vocab_sentencepiece, does_token_look_special),
// gguf-py/gguf/vocab.py (SpecialVocab: special tokens and add_*_token from
// tokenizer_config.json, ids from config.json as the fallback, merges,
// chat_template) and the tokenizer.json serialization of Hugging Face
// tokenizers.

package hf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tokenizer"
)

// GGUF token types (llama.cpp's llama_token_type, SentencePiece's numbers).
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
)

// preRegexes names the Split regexes of byte-level BPE tokenizer.json files
// by the tokenizer.ggml.pre llama.cpp gives them. llama.cpp identifies a
// pre-tokenizer by hashing the tokens of a test text; gptgo reads the
// regex itself, which names the same behaviour for these vocabularies.
var preRegexes = map[string]string{
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      "qwen2",
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:                                          "gpt-2",
}

// vocab is a vocabulary on its way into GGUF metadata.
type vocab struct {
	model  string // "gpt2" or "llama"
	pre    string
	tokens []string
	scores []float32 // llama only
	types  []int32
	merges []string // gpt2 only
	spmIDs [3]int32 // llama: unk, bos, eos of the .model (fallbacks)
}

// readVocab reads the tokenizer of dir for a model with nVocab embedding
// rows, with the ids, flags and template of tokenizer_config.json and
// config.json, and returns its tokenizer.* keys in llama.cpp's order.
func readVocab(dir string, a *arch, nVocab int, cfg *hfConfig) ([]gguf.KV, error) {
	tc, err := readJSONFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	var v *vocab
	tjPath, spPath := filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "tokenizer.model")
	b, err := os.ReadFile(tjPath)
	switch {
	case err == nil:
		tj, derr := tokenizer.DecodeHFJSON(bytes.NewReader(b))
		if derr != nil {
			return nil, fmt.Errorf("hf: %s: %v", tjPath, derr)
		}
		switch {
		case a.gguf == "bert" && tj.Model.Type == "WordPiece":
			v, err = wordPieceVocab(tjPath, tj)
		case a.gguf == "bert":
			return nil, fmt.Errorf("hf: %s: a %s model needs a WordPiece vocabulary, not %q", tjPath, a.hf, tj.Model.Type)
		case tj.Model.Type == "WordPiece":
			return nil, fmt.Errorf("hf: %s: WordPiece vocabularies belong to encoders (BertModel), not %s", tjPath, a.hf)
		case tj.Model.Type != "BPE":
			return nil, fmt.Errorf("hf: %s: model type %q is not supported (BPE is)", tjPath, tj.Model.Type)
		case spmStyle(tj):
			v, err = spmVocab(spPath, tjPath, b)
		default:
			v, err = bpeVocab(tjPath, tj)
		}
	case errors.Is(err, os.ErrNotExist) && a.gguf == "bert":
		v, err = vocabTxt(filepath.Join(dir, "vocab.txt"), tc)
	case errors.Is(err, os.ErrNotExist):
		v, err = spmVocab(spPath, "", nil)
	default:
		return nil, fmt.Errorf("hf: %w", err)
	}
	if err != nil {
		return nil, err
	}
	if len(v.tokens) > nVocab {
		return nil, fmt.Errorf("hf: %s: the tokenizer has %d tokens but the embedding only %d rows", dir, len(v.tokens), nVocab)
	}
	for i := len(v.tokens); i < nVocab; i++ {
		v.tokens = append(v.tokens, fmt.Sprintf("[PAD%d]", i))
		v.types = append(v.types, typeUnused)
		if v.scores != nil {
			v.scores = append(v.scores, -10000) // the converter's fill value up to vocab_size
		}
	}
	if v.model == "llama" {
		if err := applyAddedJSON(v, filepath.Join(dir, "added_tokens.json")); err != nil {
			return nil, err
		}
		applyAddedDecoder(v, tc)
	}
	if v.model != "bert" {
		if err := v.check(); err != nil {
			return nil, fmt.Errorf("hf: %s: %w", dir, err)
		}
	}
	var kv []gguf.KV
	if v.model == "bert" {
		n, err := cfg.int("type_vocab_size", 1)
		if err != nil {
			return nil, err
		}
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.token_type_count", Value: gguf.NewValue(uint32(n))})
	}
	kv = append(kv, []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.NewValue(v.model)},
		{Key: "tokenizer.ggml.pre", Value: gguf.NewValue(v.pre)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewValue(v.tokens)},
	}...)
	if v.scores != nil {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.scores", Value: gguf.NewValue(v.scores)})
	}
	kv = append(kv, gguf.KV{Key: "tokenizer.ggml.token_type", Value: gguf.NewValue(v.types)})
	if v.model == "gpt2" {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.merges", Value: gguf.NewValue(v.merges)})
	}
	kv = append(kv, specials(v, tc, cfg)...)
	tmpl, err := chatTemplates(dir, tc)
	if err != nil {
		return nil, err
	}
	return append(kv, tmpl...), nil
}

// check builds gptgo's tokenizer from v, so a vocabulary the runtime
// cannot use is refused at conversion and not at the first prompt.
func (v *vocab) check() error {
	tv := &tokenizer.Vocab{Model: v.model, Pre: v.pre, Tokens: v.tokens, Scores: v.scores, Merges: v.merges, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	for _, t := range v.types {
		tv.Types = append(tv.Types, tokenizer.TokenType(t))
	}
	_, err := tv.Tokenizer()
	return err
}

// spmStyle tells a SentencePiece BPE written as tokenizer.json (▁ for
// spaces, byte fallback: LLaMA 1/2, Mistral) from byte-level BPE.
func spmStyle(tj *tokenizer.HFJSON) bool {
	n, p := string(tj.Normalizer), string(tj.PreTokenizer)
	return strings.Contains(n, "▁") || strings.Contains(n, `\u2581`) || strings.Contains(p, "Metaspace")
}

// idVocab starts the vocab of a tokenizer.json whose model.vocab is an
// object of token: id (BPE, WordPiece): as long as the largest id of it and
// of added_tokens says (bounded, so a damaged file cannot ask for a huge
// table), the model's tokens in place and typed normal. Every id is checked
// before use; the caller places and types the added tokens.
func idVocab(path string, tj *tokenizer.HFJSON, model, pre string) (*vocab, error) {
	var ids map[string]int
	if err := json.Unmarshal(tj.Model.Vocab, &ids); err != nil || ids == nil {
		return nil, fmt.Errorf("hf: %s: model.vocab must be an object of token: id", path)
	}
	n := 0
	for _, id := range ids {
		n = max(n, id+1)
	}
	for _, a := range tj.AddedTokens {
		n = max(n, int(a.ID)+1)
	}
	if n > 1<<24 {
		return nil, fmt.Errorf("hf: %s: vocabulary of %d tokens", path, n)
	}
	v := &vocab{model: model, pre: pre, tokens: make([]string, n), types: make([]int32, n)}
	for tok, id := range ids {
		if id < 0 {
			return nil, fmt.Errorf("hf: %s: token %q has id %d", path, tok, id)
		}
		v.tokens[id], v.types[id] = tok, typeNormal
	}
	for _, a := range tj.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("hf: %s: added token %q has id %d", path, a.Content, a.ID)
		}
	}
	return v, nil
}

// bpeVocab reads a byte-level BPE tokenizer.json as _set_vocab_gpt2 does.
func bpeVocab(path string, tj *tokenizer.HFJSON) (*vocab, error) {
	pre, err := preName(path, tj.PreTokenizer)
	if err != nil {
		return nil, err
	}
	v, err := idVocab(path, tj, "gpt2", pre)
	if err != nil {
		return nil, err
	}
	for _, a := range tj.AddedTokens {
		v.tokens[a.ID], v.types[a.ID] = a.Content, typeControl
		if !a.Special && !looksSpecial(a.Content) {
			// User-defined tokens are matched as text: their ▁ is a space.
			v.tokens[a.ID], v.types[a.ID] = strings.ReplaceAll(a.Content, "▁", " "), typeUserDefined
		}
	}
	for i := range v.tokens {
		if v.types[i] == 0 {
			v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), typeUnused
		}
	}
	if v.merges, err = tj.Merges(); err != nil {
		return nil, fmt.Errorf("hf: %s: %w", path, err)
	}
	if v.merges == nil {
		v.merges = []string{} // tokenizer.ggml.merges is written even when empty
	}
	return v, nil
}

// looksSpecial is llama.cpp's does_token_look_special: added tokens some
// models fail to mark special that are control tokens all the same.
func looksSpecial(t string) bool {
	return slices.Contains([]string{"<pad>", "<mask>", "<2mass>", "[@BOS@]"}, t) ||
		(strings.HasPrefix(t, "<|") && strings.HasSuffix(t, "|>")) ||
		(strings.HasPrefix(t, "<｜") && strings.HasSuffix(t, "｜>")) ||
		(strings.HasPrefix(t, "<unused") && strings.HasSuffix(t, ">"))
}

// preName recognises a byte-level pre-tokenizer: plain ByteLevel with its
// own regex is GPT-2's; a Split regex before ByteLevel names the rest.
func preName(path string, raw json.RawMessage) (string, error) {
	type pt struct {
		Type    string `json:"type"`
		Pattern struct {
			Regex *string `json:"Regex"`
		} `json:"pattern"`
		UseRegex      *bool `json:"use_regex"`
		Individual    bool  `json:"individual_digits"`
		PreTokenizers []pt  `json:"pretokenizers"`
	}
	var p pt
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("hf: %s: pre_tokenizer: %v", path, err)
	}
	switch {
	case p.Type == "ByteLevel" && (p.UseRegex == nil || *p.UseRegex):
		return "gpt-2", nil
	case p.Type == "Sequence" && len(p.PreTokenizers) == 2 && p.PreTokenizers[0].Type == "Split" &&
		p.PreTokenizers[0].Pattern.Regex != nil && p.PreTokenizers[1].Type == "ByteLevel":
		re := *p.PreTokenizers[0].Pattern.Regex
		if name, ok := preRegexes[re]; ok {
			return name, nil
		}
		return "", fmt.Errorf("hf: %s: unknown pre-tokenizer: Split regex %q (known: the regexes of gpt-2, llama-bpe and qwen2)", path, re)
	case p.Type == "Sequence" && len(p.PreTokenizers) == 2 && p.PreTokenizers[0].Type == "Digits" && p.PreTokenizers[0].Individual &&
		p.PreTokenizers[1].Type == "ByteLevel" && (p.PreTokenizers[1].UseRegex == nil || *p.PreTokenizers[1].UseRegex):
		// Single digits, then GPT-2's regex: StarCoder, Refact, SmolLM.
		return "starcoder", nil
	}
	desc := string(raw)
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	return "", fmt.Errorf("hf: %s: unknown pre-tokenizer %s (known: ByteLevel (gpt-2), Split regex + ByteLevel (llama-bpe, qwen2), Digits + ByteLevel (starcoder))", path, desc)
}

// spmVocab reads tokenizer.model (SentencePiece BPE) as
// _set_vocab_sentencepiece does, or, when only a SentencePiece-style
// tokenizer.json exists, the vocabulary gptgo's tokenizer reads from it.
func spmVocab(path, tjPath string, tj []byte) (*vocab, error) {
	var tv *tokenizer.Vocab
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		tv, err = tokenizer.ReadSentencePieceVocab(b)
		if err != nil {
			return nil, fmt.Errorf("hf: %s: %w", path, err)
		}
		if tv.Unigram {
			return nil, fmt.Errorf("hf: %s: SentencePiece unigram models are not supported (BPE is)", path)
		}
	case errors.Is(err, os.ErrNotExist) && tj != nil:
		t, err := tokenizer.FromHFJSON(bytes.NewReader(tj))
		if err == nil {
			tv, err = tokenizer.VocabOf(t)
		}
		if err != nil {
			return nil, fmt.Errorf("hf: %s: %w", tjPath, err)
		}
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("hf: %s has neither tokenizer.json nor tokenizer.model", filepath.Dir(path))
	default:
		return nil, fmt.Errorf("hf: %w", err)
	}
	v := &vocab{model: "llama", pre: "default", tokens: tv.Tokens, scores: tv.Scores, spmIDs: [3]int32{tv.UNK, tv.BOS, tv.EOS}}
	for _, t := range tv.Types {
		v.types = append(v.types, int32(t))
	}
	return v, nil
}

// applyAddedJSON applies added_tokens.json ({"text": id}) to a
// SentencePiece vocabulary: user-defined tokens with score -1000; ids past
// the vocabulary are ignored, as the converter ignores them.
func applyAddedJSON(v *vocab, path string) error {
	m, err := readJSONFile(path)
	if err != nil {
		return err
	}
	for text, x := range m {
		id, ok := x.(float64)
		if !ok || id < 0 || id != math.Trunc(id) {
			return fmt.Errorf("hf: %s: token %q has id %v, want a non-negative integer", path, text, x)
		}
		if int(id) < len(v.tokens) {
			v.tokens[int(id)], v.scores[int(id)], v.types[int(id)] = text, -1000, typeUserDefined
		}
	}
	return nil
}

// applyAddedDecoder applies tokenizer_config.json's added_tokens_decoder to
// a SentencePiece vocabulary, as the converter does: those ids become
// control (special, or looking special) or user-defined tokens (▁ read as
// a space) with score -1000.
func applyAddedDecoder(v *vocab, tc map[string]any) {
	dec, _ := tc["added_tokens_decoder"].(map[string]any)
	for key, e := range dec {
		var id int
		if _, err := fmt.Sscan(key, &id); err != nil || id < 0 || id >= len(v.tokens) {
			continue
		}
		m, _ := e.(map[string]any)
		content, _ := m["content"].(string)
		if content == "" {
			continue
		}
		v.tokens[id], v.scores[id], v.types[id] = content, -1000, typeControl
		if sp, _ := m["special"].(bool); !sp && !looksSpecial(content) {
			v.tokens[id], v.types[id] = strings.ReplaceAll(content, "▁", " "), typeUserDefined
		}
	}
}

// specials returns the special token ids and add_* flags: a token named in
// tokenizer_config.json ("bos_token": "<s>" or {"content": "<s>"}), else
// config.json's <typ>_token_id, else (SentencePiece) the .model's ids.
func specials(v *vocab, tc map[string]any, cfg *hfConfig) []gguf.KV {
	var kv []gguf.KV
	for i, typ := range []string{"bos", "eos", "unk", "sep", "pad", "cls", "mask"} {
		id := -1
		var text string
		switch t := tc[typ+"_token"].(type) {
		case string:
			text = t
		case map[string]any:
			text, _ = t["content"].(string)
		}
		if text != "" {
			// Ids of added tokens first (their text is what the config names).
			for j, tok := range v.tokens {
				if tok == text && (id < 0 || v.types[j] == typeControl) {
					id = j
				}
			}
		}
		if id < 0 && cfg != nil {
			if n, err := cfg.int(typ+"_token_id", -1); err == nil && n < len(v.tokens) {
				id = n
			}
		}
		if id < 0 && v.model == "llama" && i < 3 {
			if x := v.spmIDs[[]int{1, 2, 0}[i]]; x >= 0 {
				id = int(x)
			}
		}
		key := map[string]string{"unk": "unknown", "sep": "seperator", "pad": "padding"}[typ]
		if key == "" {
			key = typ
		}
		if id >= 0 {
			kv = append(kv, gguf.KV{Key: "tokenizer.ggml." + key + "_token_id", Value: gguf.NewValue(uint32(id))})
		}
	}
	for _, typ := range []string{"bos", "eos"} {
		if b, ok := tc["add_"+typ+"_token"].(bool); ok {
			kv = append(kv, gguf.KV{Key: "tokenizer.ggml.add_" + typ + "_token", Value: gguf.NewValue(b)})
		}
	}
	return kv
}

// chatTemplates reads the chat template: tokenizer_config.json's
// "chat_template" (a string, or a list of named templates whose "default"
// is tokenizer.chat_template and the rest tokenizer.chat_template.<name>),
// else chat_template.jinja.
func chatTemplates(dir string, tc map[string]any) ([]gguf.KV, error) {
	switch t := tc["chat_template"].(type) {
	case string:
		return []gguf.KV{{Key: "tokenizer.chat_template", Value: gguf.NewValue(t)}}, nil
	case []any:
		var kv []gguf.KV
		for _, e := range t {
			m, _ := e.(map[string]any)
			name, _ := m["name"].(string)
			tmpl, _ := m["template"].(string)
			if name == "" || tmpl == "" {
				continue
			}
			key := "tokenizer.chat_template"
			if name != "default" {
				key += "." + name
			}
			kv = append(kv, gguf.KV{Key: key, Value: gguf.NewValue(tmpl)})
		}
		return kv, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
	if err == nil {
		return []gguf.KV{{Key: "tokenizer.chat_template", Value: gguf.NewValue(string(b))}}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("hf: %w", err)
	}
	return nil, nil
}

// readJSONFile reads a JSON object; a missing file is an empty object.
func readJSONFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("hf: %s: %v", path, err)
	}
	return m, nil
}
