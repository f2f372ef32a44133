package hf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestSentencePieceCheckpoint: a llama checkpoint with tokenizer.model (no
// tokenizer.json) takes pieces, scores and types from it, pads to
// vocab_size with the converter's -10000, and applies added_tokens.json and
// tokenizer_config.json's added_tokens_decoder as llama.cpp does.
func TestSentencePieceCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	writeTiny(t, dir, "llama", safetensors.F32)
	os.Remove(filepath.Join(dir, "tokenizer.json"))
	v := &tokenizer.Vocab{Model: "llama", Tokens: []string{"<unk>", "<s>", "</s>"}, Scores: []float32{0, 0, 0},
		Types: []tokenizer.TokenType{2, 3, 3}, UNK: 0, BOS: 1, EOS: 2, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, 6)
	}
	v.Tokens = append(v.Tokens, "▁t", "he", "▁the")
	v.Scores = append(v.Scores, -1, -2, -3)
	v.Types = append(v.Types, 1, 1, 1)
	if err := v.WriteSentencePiece(filepath.Join(dir, "tokenizer.model")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "added_tokens.json"), []byte(`{"<extra>": 262, "<far>": 9999}`), 0o644)
	writeJSONT(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<s>", "eos_token": map[string]any{"content": "</s>"}, "add_bos_token": true, "add_eos_token": false,
		"added_tokens_decoder": map[string]any{"261": map[string]any{"content": "<|user|>", "special": false}}})
	f, _ := convertOpen(t, dir)
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	sv, _ := f.Lookup("tokenizer.ggml.scores")
	scores, _ := sv.Float32s()
	tv, _ := f.Lookup("tokenizer.ggml.token_type")
	types, _ := tv.Int32s()
	want := map[int]struct {
		tok   string
		score float32
		typ   int32
	}{
		0: {"<unk>", 0, 2}, 1: {"<s>", 0, 3}, 3: {"<0x00>", 0, 6}, 259: {"▁t", -1, 1}, 260: {"he", -2, 1},
		261: {"<|user|>", -1000, 3}, // replaced by the decoder; looks special
		262: {"<extra>", -1000, 4},
	}
	if len(toks) != tVocab || len(scores) != tVocab || len(types) != tVocab {
		t.Fatalf("%d tokens, %d scores, %d types; want %d", len(toks), len(scores), len(types), tVocab)
	}
	for id, w := range want {
		if toks[id] != w.tok || scores[id] != w.score || types[id] != w.typ {
			t.Errorf("token %d = %q %v %d, want %q %v %d", id, toks[id], scores[id], types[id], w.tok, w.score, w.typ)
		}
	}
	if toks[tVocab-1] != fmt.Sprintf("[PAD%d]", tVocab-1) || scores[tVocab-1] != -10000 || types[tVocab-1] != 5 {
		t.Errorf("last token %q %v %d", toks[tVocab-1], scores[tVocab-1], types[tVocab-1])
	}
	for key, id := range map[string]uint64{"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.unknown_token_id": 0} {
		if got, ok := f.Uint(key); !ok || got != id {
			t.Errorf("%s = %d (%v), want %d", key, got, ok, id)
		}
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if ids := tok.Encode("the", tokenizer.EncodeOptions{AddSpecial: true}); fmt.Sprint(ids) != "[1 259 260]" {
		t.Errorf("\"the\" → %v, want [1 259 260]", ids)
	}
}
