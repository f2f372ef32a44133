package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// perplexity shows its progress on stderr, window by window, and keeps
// stdout to the result (#16 item 8); one window is "1 window".
func TestPerplexityProgress(t *testing.T) {
	text := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("To be, or not to be, that is the question.\n", 12)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "perplexity", text, "--json", "--ctx", "32")
	var r perplexityResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	last := fmt.Sprintf("window %d of %d, perplexity so far %.3f", r.Windows, r.Windows, r.Perplexity)
	if r.Windows < 3 || !strings.Contains(errOut, "window 1 of ") || !strings.Contains(errOut, last) || !strings.Contains(errOut, "100%") {
		t.Errorf("%d windows; stderr %q lacks the progress (want %q at the end)", r.Windows, errOut, last)
	}
	if _, errOut, _ = runCLI(t, "", "perplexity", text, "--ctx", "32", "--quiet"); strings.Contains(errOut, "window") {
		t.Errorf("--quiet: stderr %q", errOut)
	}
	if err := os.WriteFile(text, []byte("To be, or not to be."), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI(t, "", "perplexity", text, "--quiet", "--mode", "all")
	if code != 0 || !strings.Contains(out, " scored in 1 window of ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Counts of one are singular in the messages (#16 item 6).
func TestOneIsSingular(t *testing.T) {
	_, errOut, code := runCLI(t, "", "tokenize", "a", "--no-bos")
	if code != 0 || !strings.HasPrefix(errOut, "1 token; ") {
		t.Errorf("tokenize: exit %d, stderr %q", code, errOut)
	}
}

// llama-perplexity's flow: save the base log-probabilities with a text,
// then compare a model with them; a model against its own base has a
// mean KLD of about 0 and the same top token everywhere.
func TestPerplexityKLDivergence(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("A small boat sails across the quiet lake at dawn.\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.kld")
	out, errOut, code := runCLI(t, "", "perplexity", defaultGGUF, text, "--ctx", "32", "--kl-divergence-base", base, "--quiet")
	if code != 0 || !strings.Contains(out, "Final estimate: PPL = ") || !strings.Contains(out, "saved the base") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", "perplexity", defaultGGUF, "--kl-divergence", "--kl-divergence-base", base, "--ctx", "32", "--quiet")
	if code != 0 || !regexp.MustCompile(`Mean    KLD: +-?0\.0000`).MatchString(out) || !strings.Contains(out, "Same top p: 100.000") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code = runCLI(t, "", "perplexity", defaultGGUF, "--kl-divergence", text); code == 0 || !strings.Contains(errOut, "--kl-divergence-base") {
		t.Errorf("no base: exit %d, %q", code, errOut)
	}
	if _, errOut, code = runCLI(t, "", "perplexity", defaultGGUF, "--kl-divergence", "--kl-divergence-base", text); code == 0 || !strings.Contains(errOut, "_logits_") {
		t.Errorf("a text as base: exit %d, %q", code, errOut)
	}
}

// A text's last newline is dropped in llama mode, as llama-perplexity's -f
// drops it, and kept when every position is scored.
func TestPerplexityTokensDropLastNewline(t *testing.T) {
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	with, without := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(with, []byte("The mill stands by the river.\n"), 0o644)
	os.WriteFile(without, []byte("The mill stands by the river."), 0o644)
	a, errA := perplexityTokens(with, tok, true)
	b, errB := perplexityTokens(without, tok, true)
	c, errC := perplexityTokens(with, tok, false)
	if errA != nil || errB != nil || errC != nil || !slices.Equal(a, b) || len(c) != len(b)+1 {
		t.Errorf("llama mode %v, without the newline %v, all mode %v (%v %v %v)", a, b, c, errA, errB, errC)
	}
}

// gptgo perplexity on the text and context of a recorded llama-perplexity
// run (eval/testdata/llama-cpp.json, the embedded default model) prints
// its perplexity within 0.1%.
func TestPerplexityCLIMatchesLlamaCpp(t *testing.T) {
	b, err := os.ReadFile("../../eval/testdata/llama-cpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Perplexity []struct {
			Model, Text string
			Ctx         int
			PPL         float64
		}
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("llama-cpp.json: %v", err)
	}
	i := slices.IndexFunc(rec.Perplexity, func(r struct {
		Model, Text string
		Ctx         int
		PPL         float64
	}) bool {
		return r.Model == "default"
	})
	if i < 0 {
		t.Fatal("llama-cpp.json has no run of the default model")
	}
	run := rec.Perplexity[i]
	out, errOut, code := runCLI(t, "", "perplexity", defaultGGUF, filepath.Join("../../eval/testdata", run.Text), "--ctx", fmt.Sprint(run.Ctx), "--json", "--quiet")
	var r perplexityResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if math.Abs(r.Perplexity/run.PPL-1) > 1e-3 {
		t.Errorf("PPL %.4f, llama-perplexity %.4f", r.Perplexity, run.PPL)
	}
}
