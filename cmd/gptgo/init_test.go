// Reference: llama.cpp convert_hf_to_gguf.py + llama-quantize + llama-bench, the pipeline init → quantize → bench replaces.

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
)

// vocabFile writes a vocabulary-only GGUF of n SentencePiece pieces, as
// llama.cpp's models/ggml-vocab-*.gguf are.
func vocabFile(t *testing.T, n int) string {
	t.Helper()
	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("▁w%d", i)
		types[i] = 1
	}
	h := &gguf.Header{KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue("llama")},
		{Key: "tokenizer.ggml.model", Value: gguf.NewValue("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewValue(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.NewValue(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.NewValue(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.NewValue(uint32(1))},
		{Key: "tokenizer.chat_template", Value: gguf.NewValue("{{ messages[0]['content'] }}")},
	}}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := gguf.WriteFile(path, h, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyInitArgs is a small llama whose rows are whole Q4_0 blocks.
var tinyInitArgs = []string{"--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "96", "--ctx", "128"}

// TestInitQuantizeBench is the benchmark pipeline on a tiny shape: init
// with a borrowed vocabulary, quantize to Q4_0, load, forward, bench.
func TestInitQuantizeBench(t *testing.T) {
	vocab := vocabFile(t, 40)
	dir := t.TempDir()
	f16 := filepath.Join(dir, "m-f16.gguf")
	args := append([]string{"init", "--vocab-from", vocab, "--seed", "5", "--threads", "2"}, tinyInitArgs...)
	stdout, stderr, code := runCLI(t, "", append(args, f16)...)
	if code != 0 || !strings.Contains(stdout, "llama") || !strings.Contains(stdout, "F16") {
		t.Fatalf("init: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// Same seed, other thread count: the same file.
	again := filepath.Join(dir, "again.gguf")
	args[len(args)-len(tinyInitArgs)-1] = "1"
	if _, stderr, code := runCLI(t, "", append(args, again)...); code != 0 {
		t.Fatalf("init again: %s", stderr)
	}
	a, _ := os.ReadFile(f16)
	b, _ := os.ReadFile(again)
	if len(a) == 0 || string(a) != string(b) {
		t.Error("--threads 2 and --threads 1 wrote different files")
	}

	q4 := filepath.Join(dir, "m-q4_0.gguf")
	if _, stderr, code := runCLI(t, "", "quantize", "--quiet", f16, q4, "Q4_0"); code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	for _, path := range []string{f16, q4} {
		m, err := model.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl, _ := m.File().String("tokenizer.chat_template"); tmpl == "" {
			t.Errorf("%s: chat template lost", path)
		}
		s, err := m.NewState(model.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		logits, err := s.Forward([]int32{1, 2, 3, 39})
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range logits {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: logit %d is %v", path, i, x)
			}
		}
		s.Close()
		m.Close()
	}

	stdout, stderr, code = runCLI(t, "", "bench", q4, "-p", "16", "-n", "4", "-r", "2", "-t", "2", "--json")
	if code != 0 {
		t.Fatalf("bench --json: exit %d: %s", code, stderr)
	}
	var res []benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("bench --json output: %v\n%s", err, stdout)
	}
	if len(res) != 2 || res[0].Test != "pp16" || res[1].Test != "tg4" {
		t.Fatalf("tests %+v", res)
	}
	for _, r := range res {
		if len(r.SamplesTs) != 2 || r.AvgTs <= 0 || r.Threads != 2 || r.ModelParams <= 0 || r.ModelSize <= 0 ||
			!strings.Contains(r.ModelType, "Q4_0") || !strings.HasPrefix(r.Backend, "CPU (") {
			t.Errorf("result %+v", r)
		}
	}

	stdout, stderr, code = runCLI(t, "", "bench", f16, "-p", "8", "-n", "0", "-r", "1", "-ub", "3")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| model", "t/s", "| llama ", " F16 ", " pp8 ", "kernels:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, " tg") {
		t.Errorf("-n 0 still ran tg:\n%s", stdout)
	}
}

func TestInitArchitectures(t *testing.T) {
	vocab := vocabFile(t, 40)
	for _, arch := range model.Architectures() {
		out := filepath.Join(t.TempDir(), arch+".gguf")
		args := []string{"init", "--arch", arch, "--vocab-from", vocab, "--type", "bf16", "--dim", "32", "--layers", "1", "--heads", "4", "--ff", "64", "--ctx", "32", out}
		if _, stderr, code := runCLI(t, "", args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", arch, code, stderr)
		}
		m, err := model.Open(out)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if m.Arch != arch || m.Vocab != 40 || m.CtxTrain != 32 {
			t.Errorf("%s: read back %+v", arch, m.Config)
		}
		m.Close()
	}
}

func TestInitErrors(t *testing.T) {
	vocab := vocabFile(t, 40)
	out := filepath.Join(t.TempDir(), "x.gguf")
	shape := []string{"--dim", "64", "--layers", "1", "--heads", "4", "--ff", "96"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vocab-from", vocab, "--layers", "1", "--heads", "4", "--ff", "96", out}, "--dim must be given"},
		{append([]string{"--vocab-from", vocab, "--type", "q4_0", out}, shape...), "F32, F16 or BF16"},
		{append([]string{"--vocab-from", vocab, "--type", "f17", out}, shape...), "unknown dtype"},
		{append([]string{"--vocab-from", vocab, "--vocab", "40", out}, shape...), "not both"},
		{append([]string{out}, shape...), "give the vocabulary"},
		{append([]string{"--vocab-from", filepath.Join(t.TempDir(), "none.gguf"), out}, shape...), "none.gguf"},
		{append([]string{"--vocab-from", vocab, "--arch", "mamba", out}, shape...), "not supported"},
		{append([]string{"--vocab-from", vocab, "--dim", "66", out}, shape[2:]...), "not a multiple of --heads"},
		{append([]string{"--vocab-from", vocab, "--std", "0", out}, shape...), "--std"},
		{append([]string{"--vocab-from", vocab, "--kv-heads", "3", out}, shape...), "KV head count"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"init"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("init %v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed init left a file behind")
	}
	if _, _, code := runCLI(t, "", "init"); code != 2 {
		t.Errorf("init without OUT: exit %d, want 2 (usage)", code)
	}
}

func TestBenchErrors(t *testing.T) {
	vocab := vocabFile(t, 40)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if _, stderr, code := runCLI(t, "", append(append([]string{"init", "--vocab-from", vocab}, tinyInitArgs...), path)...); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{path, "-p", "0", "-n", "0"}, "nothing to measure"},
		{[]string{path, "-r", "0"}, "repetition"},
		{[]string{path, "-t", "0"}, "thread"},
		{[]string{path, "-p", "-1"}, "negative"},
		{[]string{path, "-p", "200", "-n", "0"}, "context is 128"},
		{[]string{path, "--kv-type", "q8_0"}, "f16 or f32"},
		{[]string{path, "-ub", "0"}, "-ub 0"},
		{[]string{filepath.Join(t.TempDir(), "none.gguf")}, "none.gguf"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"bench"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestMeanStddev(t *testing.T) {
	m, sd := meanStddev([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(sd-2.138089935299395) > 1e-12 {
		t.Errorf("mean %v sd %v, want 5 and 2.1381 (sample sd)", m, sd)
	}
	if m, sd := meanStddev([]float64{3}); m != 3 || sd != 0 {
		t.Errorf("one sample: %v ± %v", m, sd)
	}
}
