package hf

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tokenizer"
)

// writeTinyBert writes a seeded random BertModel checkpoint: 2 layers of
// width 32, a WordPiece vocabulary of 16 pieces, mean pooling declared the
// sentence-transformers way.
func writeTinyBert(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755)
	writeJSONT(t, filepath.Join(dir, "config.json"), map[string]any{"architectures": []string{"BertModel"}, "model_type": "bert",
		"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64,
		"layer_norm_eps": 1e-12, "type_vocab_size": 2, "vocab_size": 16})
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", ".", ",", "a", "dog", "##gy"}
	ids := map[string]int{}
	for i, v := range vocab {
		ids[v] = i
	}
	vb, _ := json.Marshal(ids)
	added := `[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},{"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true},{"id":4,"content":"[MASK]","special":true}]`
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"version":"1.0","added_tokens":`+added+`,`+
		`"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},`+
		`"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","vocab":`+string(vb)+`}}`), 0o644)
	writeJSONT(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{"cls_token": "[CLS]", "sep_token": "[SEP]",
		"pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]", "do_lower_case": true})
	os.WriteFile(filepath.Join(dir, "modules.json"), []byte(`[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`), 0o644)
	os.WriteFile(filepath.Join(dir, "1_Pooling", "config.json"), []byte(`{"word_embedding_dimension":32,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}`), 0o644)

	var ts []safetensors.Tensor
	add := func(name string, shape ...int64) {
		ts = append(ts, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape})
	}
	add("embeddings.word_embeddings.weight", 16, 32)
	add("embeddings.position_embeddings.weight", 64, 32)
	add("embeddings.token_type_embeddings.weight", 2, 32)
	add("embeddings.LayerNorm.weight", 32)
	add("embeddings.LayerNorm.bias", 32)
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			add(p+m+".weight", 32, 32)
			add(p+m+".bias", 32)
		}
		add(p+"attention.output.LayerNorm.weight", 32)
		add(p+"attention.output.LayerNorm.bias", 32)
		add(p+"intermediate.dense.weight", 64, 32)
		add(p+"intermediate.dense.bias", 64)
		add(p+"output.dense.weight", 32, 64)
		add(p+"output.dense.bias", 32)
		add(p+"output.LayerNorm.weight", 32)
		add(p+"output.LayerNorm.bias", 32)
	}
	add("pooler.dense.weight", 32, 32) // dropped, as llama.cpp drops it
	add("pooler.dense.bias", 32)
	rng := rand.New(rand.NewPCG(7, 7))
	err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil, func(i int, w io.Writer) error {
		var b []byte
		for j := int64(0); j < ts[i].Size()/4; j++ {
			v := float32(rng.NormFloat64() * 0.2)
			if strings.HasSuffix(ts[i].Name, "LayerNorm.weight") {
				v = 1 + v/10
			}
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTinyBert: a BertModel checkpoint converts to llama.cpp's bert layout
// (phantom-space vocabulary, special ids, CLS pooling from modules.json),
// embeds, and exports back to the checkpoint's tensors (without the
// pooler) and a tokenizer that reads the same.
func TestTinyBert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bert")
	writeTinyBert(t, dir)
	f, out := convertOpen(t, dir)
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	if toks[5] != "▁the" || toks[10] != "s" || toks[2] != "[CLS]" {
		t.Errorf("tokens %q", toks)
	}
	for key, want := range map[string]uint64{"tokenizer.ggml.cls_token_id": 2, "tokenizer.ggml.seperator_token_id": 3, "tokenizer.ggml.padding_token_id": 0,
		"tokenizer.ggml.unknown_token_id": 1, "tokenizer.ggml.mask_token_id": 4, "bert.pooling_type": 2, "tokenizer.ggml.token_type_count": 2} {
		if got, ok := f.Uint(key); !ok || got != want {
			t.Errorf("%s = %d (%v), want %d", key, got, ok, want)
		}
	}
	if _, ok := f.Tensor("blk.1.layer_output_norm.bias"); !ok {
		t.Error("no blk.1.layer_output_norm.bias")
	}
	f.Close()
	tok, err := tokenizer.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("The cats sat, doggy.", tokenizer.EncodeOptions{AddSpecial: true})
	if fmt.Sprint(ids) != "[2 5 6 10 7 12 14 15 11 3]" {
		t.Errorf("tokens %v", ids)
	}
	e, err := model.OpenEncoder(out)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.NewState(model.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Embed(context.Background(), ids, model.EmbedOptions{Pooling: model.PoolCLS, Normalize: true}); err != nil || len(v) != 32 {
		t.Fatalf("embed: %v, %d", err, len(v))
	}

	back := filepath.Join(t.TempDir(), "back")
	if err := Export(context.Background(), out, back, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again.gguf")
	if _, err := Convert(context.Background(), back, again, Options{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	a, _ := gguf.Open(out)
	defer a.Close()
	b, err := gguf.Open(again)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	compareFiles(t, a, b)
	if vt, err := os.ReadFile(filepath.Join(back, "vocab.txt")); err != nil || !strings.HasPrefix(string(vt), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n##s\n") {
		t.Errorf("vocab.txt: %v %q", err, vt)
	}
}

func TestCasedBertRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bert")
	writeTinyBert(t, dir)
	p := filepath.Join(dir, "tokenizer.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"lowercase":true`, `"lowercase":false`, 1)), 0o644)
	_, err := Convert(context.Background(), dir, filepath.Join(t.TempDir(), "x.gguf"), Options{})
	if err == nil || !strings.Contains(err.Error(), "unknown pre-tokenizer: WordPiece with normalizer") {
		t.Errorf("cased: %v", err)
	}
}
