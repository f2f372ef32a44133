// Reference: stanford-cs336/assignment1-basics tests/test_train_bpe.py and
// ymcui/Chinese-LLaMA-Alpaca merge_tokenizers.py (the numbers checked here).

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer"
)

func TestTokenizerTrainCommand(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog\nlow lower lowest newer newest\n<|endoftext|>", 20)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	g, j, m := filepath.Join(dir, "v.gguf"), filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "s.model")
	out, errOut, code := runCLI(t, "", "tokenizer", "train", corpus, "--vocab-size", "300", "-o", g, "-o", j, "--quiet")
	if code != 0 || !strings.Contains(out, "trained 300 tokens") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	for _, p := range []string{g, j} {
		tk, err := tokenizer.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if ids := tk.Encode(" newest", tokenizer.EncodeOptions{}); len(ids) != 1 {
			t.Errorf("%s: \" newest\" is %v, want one token", p, ids)
		}
	}
	out, errOut, code = runCLI(t, "", "tokenizer", "train", corpus, "--spm", "--vocab-size", "320", "-o", m, "--quiet")
	if code != 0 {
		t.Fatalf("spm: exit %d: %s %s", code, out, errOut)
	}
	tk, err := tokenizer.Load(m)
	if err != nil || tk.Kind() != tokenizer.KindSPM || tk.VocabSize() > 320 {
		t.Fatalf("spm vocabulary: %v", err)
	}

	// stats on the trained vocabulary, against itself.
	out, errOut, code = runCLI(t, "", "tokenizer", "stats", g, corpus, "--vs", j)
	if code != 0 || !strings.Contains(out, "tok/char") || !strings.Contains(out, "1.00x fewer") {
		t.Fatalf("stats: exit %d: %s %s", code, out, errOut)
	}

	for _, args := range [][]string{
		{"tokenizer"},
		{"tokenizer", "nope"},
		{"tokenizer", "train", corpus},
		{"tokenizer", "train", filepath.Join(dir, "missing.txt"), "-o", g},
		{"tokenizer", "train", corpus, "-o", g, "--vocab-size", "10"},
		{"tokenizer", "extend", g, g},
		{"tokenizer", "extend", g, m, filepath.Join(dir, "x.gguf")},
		{"tokenizer", "stats", g},
	} {
		if _, _, code := runCLI(t, "", args...); code == 0 {
			t.Errorf("%q succeeded", args)
		}
	}
}

func TestTokenizerExtendChinese(t *testing.T) {
	dir := testkit.Shared(t, "data", "5-models-tokenizers")
	base, add := filepath.Join(dir, "llama2-tokenizer.model"), filepath.Join(dir, "chinese-llama-alpaca_chinese_sp.model")
	out := filepath.Join(t.TempDir(), "zh.model")
	stdout, errOut, code := runCLI(t, "", "tokenizer", "extend", base, add, out)
	if code != 0 || !strings.Contains(stdout, "49953 tokens = 32000") {
		t.Fatalf("exit %d: %s %s", code, stdout, errOut)
	}
	zh := testkit.Shared(t, "data", "3-sft", "alpaca_zh_demo.json")
	stdout, errOut, code = runCLI(t, "", "tokenizer", "stats", out, zh, "--vs", base)
	if code != 0 || !strings.Contains(stdout, "2.12x fewer") {
		t.Fatalf("stats: exit %d: %s %s", code, stdout, errOut)
	}
	t.Logf("\n%s", stdout)
}
