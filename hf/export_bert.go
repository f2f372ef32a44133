// Reference: Hugging Face tokenizers' WordPiece serialization (BertNormalizer,
// BertPreTokenizer, TemplateProcessing "[CLS] $A [SEP]", WordPiece decoder),
// BertTokenizer's vocab.txt, and sentence-transformers' modules.json with a
// Pooling module (1_Pooling/config.json).

package hf

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
)

// exportWordPiece writes a bert vocabulary as tokenizer.json and vocab.txt
// (tokens out of llama.cpp's phantom-space form), the special tokens into
// tokenizer_config.json, and the pooling as a sentence-transformers module.
func exportWordPiece(f *gguf.File, path, dir string, cfg, tc map[string]any) (map[string]any, error) {
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) == 0 {
		return nil, fmt.Errorf("hf: %s: no tokenizer.ggml.tokens", path)
	}
	var types []int32
	if tv, ok := f.Lookup("tokenizer.ggml.token_type"); ok {
		types, _ = tv.Int32s()
	}
	hf := make([]string, len(tokens))
	seen := map[string]bool{}
	for i, t := range tokens {
		hf[i] = unphantom(t)
		if seen[hf[i]] {
			return nil, fmt.Errorf("hf: %s: token %d (%q) repeats another's text in WordPiece form", path, i, t)
		}
		seen[hf[i]] = true
	}
	special := map[string]int{}
	for _, s := range []struct{ key, typ string }{{"unknown_token_id", "unk"}, {"seperator_token_id", "sep"}, {"padding_token_id", "pad"}, {"cls_token_id", "cls"}, {"mask_token_id", "mask"}} {
		if id, ok := f.Uint("tokenizer.ggml." + s.key); ok && id < uint64(len(tokens)) {
			tc[s.typ+"_token"] = hf[id]
			special[s.typ] = int(id)
			if s.typ == "pad" {
				cfg["pad_token_id"] = id
			}
		}
	}
	tc["do_lower_case"] = true
	tc["tokenizer_class"] = "BertTokenizer"

	var b bytes.Buffer
	q := func(s string) string { var o bytes.Buffer; writeStr(&o, s); return o.String() }
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	first := true
	for i, t := range hf {
		if i >= len(types) || (types[i] != typeControl && types[i] != typeUserDefined) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "\n    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": %v}", i, q(t), types[i] == typeControl)
	}
	b.WriteString("\n  ],\n  \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true},")
	b.WriteString("\n  \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},")
	if cls, ok := special["cls"]; ok {
		if sep, ok := special["sep"]; ok {
			c, s := q(hf[cls]), q(hf[sep])
			fmt.Fprintf(&b, "\n  \"post_processor\": {\"type\": \"TemplateProcessing\", "+
				"\"single\": [{\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}], "+
				"\"pair\": [{\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}, {\"SpecialToken\": {\"id\": %s, \"type_id\": 1}}], "+
				"\"special_tokens\": {%s: {\"id\": %s, \"ids\": [%d], \"tokens\": [%s]}, %s: {\"id\": %s, \"ids\": [%d], \"tokens\": [%s]}}},",
				c, s, c, s, s, c, c, cls, c, s, s, sep, s)
		}
	}
	unk := "[UNK]"
	if id, ok := special["unk"]; ok {
		unk = hf[id]
	}
	b.WriteString("\n  \"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true},")
	b.WriteString("\n  \"model\": {\"type\": \"WordPiece\", \"unk_token\": " + q(unk) + ", \"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 100,\n    \"vocab\": {")
	for i, t := range hf {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n      %s: %d", q(t), i)
	}
	b.WriteString("\n    }\n  }\n}\n")
	if err := atomicfile.WriteBytes(filepath.Join(dir, "tokenizer.json"), b.Bytes()); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	for _, t := range hf {
		if strings.ContainsAny(t, "\r\n") {
			return nil, fmt.Errorf("hf: %s: token %q has a line break, which vocab.txt cannot hold", path, t)
		}
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(hf, "\n")+"\n")); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	files := map[string]any{"tokenizer_config.json": tc}
	if p, ok := f.Uint("bert.pooling_type"); ok {
		mode := map[uint64]string{1: "pooling_mode_mean_tokens", 2: "pooling_mode_cls_token", 3: "pooling_mode_lasttoken"}[p]
		if mode == "" {
			return nil, fmt.Errorf("hf: %s: bert.pooling_type %d has no sentence-transformers form (mean 1, cls 2, last 3 have)", path, p)
		}
		files["modules.json"] = []map[string]any{
			{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
			{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
		}
		pc := map[string]any{"word_embedding_dimension": cfg["hidden_size"], "pooling_mode_mean_tokens": false,
			"pooling_mode_cls_token": false, "pooling_mode_max_tokens": false, "pooling_mode_lasttoken": false}
		pc[mode] = true
		files[filepath.Join("1_Pooling", "config.json")] = pc
	}
	return files, nil
}

func writeStr(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := jsonEncoder(&tmp)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
}
