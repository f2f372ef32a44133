// Reference: stanford-cs336/assignment1-basics tests/test_train_bpe.py and
// ymcui/Chinese-LLaMA-Alpaca merge_tokenizers.py (the numbers checked here).

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer"
)

// writeText writes text to name in dir and returns the path.
func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenizerTrainCommand(t *testing.T) {
	dir := t.TempDir()
	corpus := writeText(t, dir, "c.txt", strings.Repeat("the quick brown fox jumps over the lazy dog\nlow lower lowest newer newest\n<|endoftext|>", 20))
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
	if code != 0 || !strings.Contains(out, "tok/char") || !strings.Contains(out, " same ") {
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

// TestTokenizerStatsRatio: the ratio row says "more" when VOCAB gives more
// tokens than BASE, and tok/han divides only the tokens of Chinese text.
func TestTokenizerStatsRatio(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("the quick brown fox jumps over the lazy dog 中文\n", 20)
	corpus := writeText(t, dir, "c.txt", text)
	small, big := filepath.Join(dir, "small.gguf"), filepath.Join(dir, "big.gguf")
	for _, v := range []struct{ out, size string }{{small, "258"}, {big, "300"}} {
		if out, errOut, code := runCLI(t, "", "tokenizer", "train", corpus, "--vocab-size", v.size, "-o", v.out, "--quiet"); code != 0 {
			t.Fatalf("train %s: exit %d: %s %s", v.out, code, out, errOut)
		}
	}
	count := func(vocab string) int64 {
		tk, err := tokenizer.Load(vocab)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(tk.Encode(text, tokenizer.EncodeOptions{})))
	}
	ns, nb := count(small), count(big)
	if ns <= nb {
		t.Fatalf("small vocabulary gives %d tokens, big %d: no test", ns, nb)
	}
	out, errOut, code := runCLI(t, "", "tokenizer", "stats", small, corpus, "--vs", big)
	want := fmt.Sprintf("%.2fx more", float64(ns)/float64(nb))
	if code != 0 || !strings.Contains(out, want) || strings.Contains(out, "fewer") {
		t.Fatalf("small vs big: want %q: exit %d: %s %s", want, code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", "tokenizer", "stats", big, corpus, "--vs", small)
	if want := fmt.Sprintf("%.2fx fewer", float64(ns)/float64(nb)); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("big vs small: want %q: exit %d: %s %s", want, code, out, errOut)
	}
	// With 258 tokens (bytes, one merge, <|endoftext|>) each 中 and 文 is
	// three byte tokens: tok/han is 3.000 whatever the English around it.
	out, errOut, code = runCLI(t, "", "tokenizer", "stats", small, corpus)
	if code != 0 || !strings.Contains(out, "3.000") {
		t.Fatalf("tok/han: exit %d: %s %s", code, out, errOut)
	}
}

// TestTokenizerUnsupportedHFJSON: a tokenizer.json of a kind gptgo does not
// read is named by its model type, not by a Go type in a decoding error.
func TestTokenizerUnsupportedHFJSON(t *testing.T) {
	dir := t.TempDir()
	corpus := writeText(t, dir, "c.txt", "hello")
	for _, c := range []struct{ json, want string }{
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",-1.5]]}}`, `unsupported model type "Unigram" (supported: BPE, WordPiece)`},
		{`{"model":{"type":"BPE","vocab":[["a",0]]}}`, `model.vocab of a BPE model must be an object`},
		{`{"added_tokens":{},"model":{"type":"BPE","vocab":{"a":0}}}`, `field added_tokens is a JSON object, expected an array`},
		{`{"model":{"type":"BPE","vocab":{"a":0},"merges":{"a":1}}}`, `model.merges must be an array of "a b" strings or ["a", "b"] pairs`},
		{`{"model":{"vocab":{"a":0}}}`, `no model.type (supported: BPE, WordPiece)`},
		{`[1]`, `the file holds a JSON array where an object is expected`},
	} {
		p := writeText(t, dir, "tokenizer.json", c.json)
		_, errOut, code := runCLI(t, "", "tokenizer", "stats", p, corpus)
		if code == 0 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "Go struct") {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.json, code, errOut, c.want)
		}
	}
}

// TestTokenizeKeepsInvalidUTF8: a prompt that is not UTF-8 reaches a
// byte-level vocabulary as its bytes, not as U+FFFD.
func TestTokenizeKeepsInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	corpus, vocab := writeText(t, dir, "c.txt", strings.Repeat("caf\xe9 au lait\n", 10)), filepath.Join(dir, "v.gguf")
	if out, errOut, code := runCLI(t, "", "tokenizer", "train", corpus, "--vocab-size", "270", "-o", vocab, "--quiet"); code != 0 {
		t.Fatalf("train: exit %d: %s %s", code, out, errOut)
	}
	prompt := "un caf\xe9 \xff"
	out, errOut, code := runCLI(t, "", "tokenize", vocab, prompt, "--json", "--no-bos")
	if code != 0 {
		t.Fatalf("tokenize: exit %d: %s", code, errOut)
	}
	var got struct{ IDs []int32 }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tk, err := tokenizer.Load(vocab)
	if err != nil {
		t.Fatal(err)
	}
	if d := tk.Decode(got.IDs); d != prompt {
		t.Fatalf("ids %v decode to %q, want the prompt's bytes %q", got.IDs, d, prompt)
	}
}

// TestTokenizerTrainRefusals: an output name of unknown format and an
// input without text are errors before anything is written; a vocabulary
// that stops short of --vocab-size says so and why.
func TestTokenizerTrainRefusals(t *testing.T) {
	dir := t.TempDir()
	corpus, empty := writeText(t, dir, "c.txt", strings.Repeat("low lower lowest newer\n", 5)), writeText(t, dir, "empty.txt", "")
	txt := filepath.Join(dir, "out.txt")
	_, errOut, code := runCLI(t, "", "tokenizer", "train", corpus, "--vocab-size", "300", "-o", txt, "--quiet")
	if code == 0 || !strings.Contains(errOut, `unknown vocabulary format ".txt"`) {
		t.Errorf("-o out.txt: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(txt); err == nil {
		t.Error("out.txt written")
	}
	g := filepath.Join(dir, "v.gguf")
	_, errOut, code = runCLI(t, "", "tokenizer", "train", empty, "--vocab-size", "300", "-o", g, "--quiet")
	if code == 0 || !strings.Contains(errOut, "no text to train on: "+empty+" is empty") {
		t.Errorf("empty input: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(g); err == nil {
		t.Error("a vocabulary was written from no text")
	}
	// An empty file beside a real one is a warning.
	out, errOut, code := runCLI(t, "", "tokenizer", "train", corpus, empty, "--vocab-size", "32000", "-o", g, "--quiet")
	if code != 0 || !strings.Contains(errOut, "warning: "+empty+" holds no text") ||
		!strings.Contains(errOut, "not the 32000 asked for (--vocab-size): no pair is left to merge") {
		t.Errorf("short vocabulary: exit %d: %s %s", code, out, errOut)
	}
	// One merge is "1 merge".
	out, errOut, code = runCLI(t, "", "tokenizer", "train", corpus, "--vocab-size", "258", "-o", g, "--quiet")
	if code != 0 || !strings.Contains(out, "(1 merge)") || strings.Contains(errOut, "warning") {
		t.Errorf("one merge: exit %d: %s %s", code, out, errOut)
	}
	_, errOut, code = runCLI(t, "", "tokenizer", "extend", g, g, filepath.Join(dir, "x.txt"))
	if code == 0 || !strings.Contains(errOut, `unknown vocabulary format ".txt"`) {
		t.Errorf("extend to .txt: exit %d: %s", code, errOut)
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
