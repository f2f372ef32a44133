// Reference: train.EmbedTrainer through the CLI, on a bert made by `gptgo init --arch bert`.

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
)

// TestTrainEmbedCommand makes a small bert with the tiny-bert vocabulary,
// trains it for a few steps on pairs (with hard negatives), and checks that
// the written file is a bert that `gptgo embed` runs, with f16 matrices;
// the loss is printed. Then the flags' errors.
func TestTrainEmbedCommand(t *testing.T) {
	vocab := testkit.Shared(t, "reference", "models", "tiny-bert-f32.gguf")
	dir := t.TempDir()
	base := filepath.Join(dir, "bert.gguf")
	if _, errOut, code := runCLI(t, "", "init", "--arch", "bert", "--dim", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--ctx", "64",
		"--vocab-from", vocab, "--type", "f32", "--quiet", base); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	var lines []string
	topics := []string{"cats", "rivers", "engines", "bread", "planets", "music", "chess", "rain"}
	for i, tp := range topics {
		rec := map[string]string{"query": "what about " + tp + "?", "positive": "a passage about " + tp + " and more " + tp,
			"negative": "a passage about " + topics[(i+1)%len(topics)]}
		b, _ := json.Marshal(rec)
		lines = append(lines, string(b))
	}
	pairs := filepath.Join(dir, "pairs.jsonl")
	if err := os.WriteFile(pairs, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "trained.gguf")
	_, errOut, code := runCLI(t, "", "train", "embed", pairs, "--model", base, "--out", out, "--steps", "6", "--batch", "4", "--lr", "1e-3", "--threads", "2", "--log-every", "3")
	if code != 0 {
		t.Fatalf("train embed: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "step 6/6") || !strings.Contains(errOut, "loss") {
		t.Errorf("no loss log: %s", errOut)
	}
	if _, err := os.Stat(out + ".ckpt"); err != nil {
		t.Errorf("no checkpoint beside the output: %v", err)
	}
	// Resuming the finished run takes no step and writes the same file.
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "", "train", "embed", pairs, "--model", base, "--out", out, "--steps", "6", "--batch", "4", "--lr", "1e-3", "--threads", "2", "--resume"); code != 0 {
		t.Fatalf("--resume: exit %d: %s", code, errOut)
	}
	if again, err := os.ReadFile(out); err != nil || string(again) != string(first) {
		t.Errorf("the resumed finished run wrote another file (%v)", err)
	}
	if _, errOut, code := runCLI(t, "", "train", "embed", pairs, "--model", base, "--out", out, "--steps", "6", "--batch", "2", "--lr", "1e-3", "--resume"); code == 0 || !strings.Contains(errOut, `batch = "4" (this run: "2")`) {
		t.Errorf("--resume with another batch: exit %d, %q", code, errOut)
	}
	e, err := model.OpenEncoder(out)
	if err != nil {
		t.Fatal(err)
	}
	if e.Blocks[0].Wq.DType.String() != "F16" || e.PosEmbd.DType.String() != "F32" {
		t.Errorf("written types: Wq %v, positions %v", e.Blocks[0].Wq.DType, e.PosEmbd.DType)
	}
	e.Close()
	if o, errOut, code := runCLI(t, "", "embed", out, "what about cats?", "--json"); code != 0 || !strings.Contains(o, `"embedding"`) {
		t.Errorf("embed of the trained file: exit %d: %s", code, errOut)
	}

	// A SQuAD-layout file: pairs from four paragraphs, the fifth held out
	// and evaluated before and after.
	squad := filepath.Join(dir, "qa.json")
	var paras []string
	for _, tp := range []string{"cats", "rivers", "engines", "bread", "planets"} {
		paras = append(paras, `{"context": "a passage about `+tp+`", "qas": [{"question": "what about `+tp+`?"}, {"question": "tell me of `+tp+`"}]}`)
	}
	if err := os.WriteFile(squad, []byte(`{"data": [{"paragraphs": [`+strings.Join(paras, ",")+`]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, "", "train", "embed", squad, "--model", base, "--out", filepath.Join(dir, "qa.gguf"), "--steps", "2", "--batch", "4", "--threads", "2", "--learn-temperature")
	if code != 0 || strings.Count(errOut, "held-out "+squad) != 2 || !strings.Contains(errOut, "(2 questions, 1 paragraphs)") || !strings.Contains(errOut, "learned temperature 0.0") {
		t.Errorf("QA input: exit %d: %s", code, errOut)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "embed", pairs, "--out", out}, "usage"},
		{[]string{"train", "embed", pairs, "--model", base, "--out", out, "--type", "q8_0"}, "--type"},
		{[]string{"train", "embed", pairs, "--model", base, "--out", out, "--batch", "1"}, "batch 1"},
		{[]string{"train", "embed", pairs, "--model", base, "--out", out, "--batch", "20"}, "fewer than a batch"},
		{[]string{"train", "embed", filepath.Join(dir, "none.jsonl"), "--model", base, "--out", out}, "none.jsonl"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(strings.ToLower(errOut), strings.ToLower(c.msg)) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.msg)
		}
	}
	// A decoder trains too (its hidden states pooled), here with the same
	// WordPiece vocabulary.
	decoder := filepath.Join(dir, "llama.gguf")
	if _, errOut, code := runCLI(t, "", "init", "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--ctx", "64", "--vocab-from", vocab, "--type", "f32", "--quiet", decoder); code != 0 {
		t.Fatalf("init llama: %s", errOut)
	}
	decOut := filepath.Join(dir, "llama-embed.gguf")
	if _, errOut, code := runCLI(t, "", "train", "embed", pairs, "--model", decoder, "--out", decOut, "--steps", "2", "--batch", "4", "--threads", "2"); code != 0 || !strings.Contains(errOut, "llama 1×32 (mean pooling)") {
		t.Fatalf("a decoder model: exit %d, %q", code, errOut)
	}
	if o, errOut, code := runCLI(t, "", "embed", decOut, "what about cats?", "--json"); code != 0 || !strings.Contains(o, `"embedding"`) {
		t.Errorf("embed of the trained decoder: exit %d: %s", code, errOut)
	}
}
