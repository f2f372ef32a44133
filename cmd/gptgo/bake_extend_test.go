// Reference: bake_extend.go (the Chinese-LLaMA-Alpaca path as a recipe: vocabulary extension, resized
// embeddings, continued pretraining with LoRA and trained embeddings, LoRA SFT, merged adapters).

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

// extendFixture writes, beside the tiny ChatML base of chatFixture, Chinese
// text the base saw little of, Chinese instruction records and a recipe
// that runs the whole Chinese-LLaMA-Alpaca path on them in seconds.
func extendFixture(t *testing.T) (recipePath, base string) {
	t.Helper()
	_, base = chatFixture(t)
	dir := filepath.Dir(filepath.Dir(base))
	lines := []string{"春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。", "红豆生南国，春来发几枝。", "愿君多采撷，此物最相思。"}
	var zh []map[string]any
	for i := range 80 {
		zh = append(zh, map[string]any{"title": fmt.Sprint(i), "paragraphs": []string{lines[i%4], lines[(i+1)%4], lines[(i+2)%4]}})
	}
	var sft []map[string]string
	for i, q := range []string{"你好", "你是谁", "春天", "花落", "红豆", "相思", "明月", "故乡"} {
		sft = append(sft, map[string]string{"instruction": q, "input": "", "output": lines[i%4]})
	}
	for name, v := range map[string]any{"zh2.json": zh, "sft-zh.json": sft} {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recipe := filepath.Join(dir, "zh.json")
	err := os.WriteFile(recipe, []byte(`{
  "name": "tinyzh", "seed": 7, "threads": 2,
  "base": "out/tiny.gguf",
  "sources": [
    {"name": "zh", "val_fraction": 0.1,
     "clean": {"inputs": ["zh2.json"], "stages": ["pii"], "read": {"format": "json", "text_field": "paragraphs"}}}
  ],
  "extend": {"vocab_size": 320},
  "train": {
    "lora": {"enabled": true, "rank": 2, "alpha": 4, "train_embeddings": true},
    "optim": {"lr": 0.01, "min_lr": 0.001, "warmup": 1, "weight_decay": 0},
    "run": {"steps": 4, "batch": 2, "seq": 16, "eval_every": 2, "eval_batches": 1, "sample_every": 0, "sample_tokens": 0, "checkpoint_every": 2}
  },
  "sft": {
    "context": 64,
    "sources": [{"name": "zh", "path": "sft-zh.json", "val": 2}],
    "train": {
      "data": {"template": "chatml"},
      "lora": {"enabled": true, "rank": 2, "alpha": 4, "train_embeddings": true},
      "optim": {"lr": 0.01, "min_lr": 0.001, "warmup": 1},
      "run": {"steps": 3, "batch": 2, "seq": 48, "checkpoint_every": 2, "sample_prompts": ["你好"], "sample_tokens": 4}
    }
  },
  "export": {"type": "q8_0", "path": "out/tinyzh.gguf"}
}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return recipe, base
}

// rowsF32 reads a 2-D tensor of f as float32 rows.
func rowsF32(t *testing.T, f *gguf.File, name string) [][]float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	cols, rows := ti.Shape[0], ti.Shape[1]
	rowBytes, err := ti.DType.RowSize(cols)
	if err != nil {
		t.Fatal(err)
	}
	d := f.TensorData(ti)
	out := make([][]float32, rows)
	for r := range out {
		out[r] = make([]float32, cols)
		if err := tensor.Dequantize(ti.DType, d[int64(r)*rowBytes:int64(r+1)*rowBytes], out[r]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestBakeChineseAlpaca bakes the tiny recipe and checks each stage's
// output: the vocabulary grew with every old id kept, the new rows are the
// means of their spellings' rows, the continued pretraining trained an
// adapter with the embeddings whole and merged it, the fine-tuning merged
// its adapter with the ChatML template, and the exported model chats.
func TestBakeChineseAlpaca(t *testing.T) {
	recipe, base := extendFixture(t)
	dir := filepath.Dir(recipe)
	work := filepath.Join(dir, "zhwork")
	out, errOut, code := runCLI(t, "", "bake", recipe, "--work", work)
	if code != 0 {
		t.Fatalf("bake: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"clean zh", "new rows = mean of the old rows spelling each", "pretrain: merged train/adapter.gguf", "sft: merged sft/adapter.gguf"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// The vocabulary grew, every old id kept.
	oldV, err := tokenizer.LoadVocab(base)
	if err != nil {
		t.Fatal(err)
	}
	newV, err := tokenizer.LoadVocab(filepath.Join(work, "tokenizer.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(newV.Tokens) <= len(oldV.Tokens) || !slices.Equal(newV.Tokens[:len(oldV.Tokens)], oldV.Tokens) {
		t.Fatalf("vocabulary %d tokens from %d, old ids kept: %v", len(newV.Tokens), len(oldV.Tokens), slices.Equal(newV.Tokens[:min(len(oldV.Tokens), len(newV.Tokens))], oldV.Tokens))
	}
	oldTok, _ := tokenizer.Load(base)
	newTok, _ := tokenizer.Load(filepath.Join(work, "tokenizer.gguf"))
	text := "春眠不觉晓，处处闻啼鸟。"
	if a, b := len(oldTok.Encode(text, tokenizer.EncodeOptions{})), len(newTok.Encode(text, tokenizer.EncodeOptions{})); b >= a {
		t.Errorf("%q: %d tokens after the extension, %d before", text, b, a)
	}

	// init.gguf: the old rows unchanged (the base's, dequantized), each
	// new row the mean of the rows of the old tokens that spell it.
	bf, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	inf, err := gguf.Open(filepath.Join(work, "init.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Close()
	oldRows, initRows := rowsF32(t, bf, "token_embd.weight"), rowsF32(t, inf, "token_embd.weight")
	if len(initRows) != len(newV.Tokens) {
		t.Fatalf("init.gguf: %d rows for %d tokens", len(initRows), len(newV.Tokens))
	}
	for r := range oldRows {
		if !slices.Equal(oldRows[r], initRows[r]) {
			t.Fatalf("old row %d changed", r)
		}
	}
	checked := 0
	for id := len(oldV.Tokens); id < len(newV.Tokens); id++ {
		spelling := oldTok.EncodeBytes([]byte(newTok.TokenBytes(int32(id))))
		if len(spelling) < 2 {
			continue
		}
		for j := range initRows[id] {
			var sum float64
			for _, s := range spelling {
				sum += float64(oldRows[s][j])
			}
			if want := sum / float64(len(spelling)); !testkit.Close(float64(initRows[id][j]), want, 1e-6, 1e-6) {
				t.Fatalf("new token %d (%q, spelt %v) column %d: %v, want the spelling's mean %v", id, newV.Tokens[id], spelling, j, initRows[id][j], want)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Error("no new token spelt by two or more old ones")
	}
	t.Logf("%d new tokens, %d of them spelt by two or more old ones and checked", len(newV.Tokens)-len(oldV.Tokens), checked)

	// The continued pretraining: an adapter with token_embd whole, merged.
	af, err := gguf.Open(filepath.Join(work, "train", adapterName))
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	ad, err := model.AdapterFromGGUF(af)
	if err != nil {
		t.Fatal(err)
	}
	if len(ad.Pairs) == 0 || len(ad.Full) != 1 || ad.Full[0].Name != "token_embd.weight" {
		t.Fatalf("pretraining adapter: %d pairs, full %v", len(ad.Pairs), ad.Full)
	}
	mf, err := gguf.Open(filepath.Join(work, "train", modelName))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	if got, want := rowsF32(t, mf, "token_embd.weight"), rowsF32(t, af, "token_embd.weight"); !slices.EqualFunc(got, want, slices.Equal) {
		t.Error("the merged model's token_embd is not the adapter's")
	}
	// A merged matrix is W + (alpha/r)·B·A.
	p := ad.Pairs[0]
	w, merged := rowsF32(t, inf, p.Base), rowsF32(t, mf, p.Base)
	a, b := rowsF32(t, af, p.Base+".lora_a"), rowsF32(t, af, p.Base+".lora_b")
	scale := float64(ad.Alpha) / float64(len(a))
	for i := range merged {
		for j := range merged[i] {
			want := float64(w[i][j])
			for k := range a {
				want += scale * float64(b[i][k]) * float64(a[k][j])
			}
			if !testkit.Close(float64(merged[i][j]), want, 1e-5, 1e-5) {
				t.Fatalf("%s [%d,%d]: merged %v, want %v", p.Base, i, j, merged[i][j], want)
			}
		}
	}

	// The fine-tuning: its adapter merged, with the template it used.
	sf, err := gguf.Open(filepath.Join(work, "sft", modelName))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _ := sf.String("tokenizer.chat_template")
	toks, _ := sf.Strings("tokenizer.ggml.tokens")
	sf.Close()
	if !strings.Contains(tmpl, "<|im_start|>") || len(toks) != len(newV.Tokens) {
		t.Errorf("sft model: template %q, %d tokens", tmpl, len(toks))
	}
	if _, err := os.Stat(filepath.Join(work, "sft", adapterName)); err != nil {
		t.Error(err)
	}

	// The exported model loads and chats in Chinese.
	exported := filepath.Join(dir, "out", "tinyzh.gguf")
	m, err := model.Open(exported)
	if err != nil {
		t.Fatal(err)
	}
	if m.Vocab != len(newV.Tokens) {
		t.Errorf("exported vocabulary %d", m.Vocab)
	}
	m.Close()
	stdout, stderr, code := runCLI(t, "你好\n", "chat", exported, "-n", "4", "--temp", "0", "--history", "off")
	if code != 0 {
		t.Fatalf("chat: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Baking again finds every stage done.
	_, errOut, code = runCLI(t, "", "bake", recipe, "--work", work)
	if code != 0 || !strings.Contains(errOut, "pretrain: done before") || !strings.Contains(errOut, "sft: done before") {
		t.Errorf("second bake: exit %d\n%s", code, errOut)
	}
}

// TestBakeExtendErrors: an extend section without a base, or a continued
// pretraining with a tokenizer of its own, is named before any work.
func TestBakeExtendErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	try := func(recipe string, want ...string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(recipe), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := runCLI(t, "", "bake", p, "--work", filepath.Join(dir, "w"))
		for _, w := range want {
			if code != 1 || !strings.Contains(errOut, w) {
				t.Errorf("exit %d, stderr %q: want %q", code, errOut, w)
			}
		}
	}
	try(`{"name": "x", "sources": [{"name": "a"}], "tokenizer": {"vocab_size": 300}, "extend": {"vocab_size": 300}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"extend grows a base model's vocabulary")
	try(`{"name": "x", "base": "b.gguf", "sources": [{"name": "a"}], "tokenizer": {"vocab_size": 300}, "train": {}, "extend": {"vocab_size": 100, "init": "zero", "type": "q4"}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"leave tokenizer out", "extend.vocab_size 100", `extend.init "zero"`, `extend.type "q4"`)
	try(`{"name": "x", "base": "b.gguf", "train": {}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"sources are needed")
	if _, err := os.Stat(filepath.Join(dir, "w")); err == nil {
		t.Error("a working directory was made for a recipe that cannot run")
	}
}
