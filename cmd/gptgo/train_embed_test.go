// Reference: train.EmbedTrainer through the CLI, on a bert made by `gptgo init --arch bert`.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// embedPairsFile writes 8 query/passage pairs for the kill and recipe tests.
func embedPairsFile(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	for _, tp := range []string{"cats", "rivers", "engines", "bread", "planets", "music", "chess", "rain"} {
		b, _ := json.Marshal(map[string]string{"query": "what about " + tp + "?", "positive": "a passage about " + tp + " and more " + tp})
		lines = append(lines, string(b))
	}
	p := filepath.Join(dir, "pairs.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainEmbedKill9Resume: a `gptgo train embed` child is killed with
// SIGKILL at step 5, two steps past its checkpoint at step 3, and resumed
// with --resume; its final checkpoint and model equal an uninterrupted
// run's byte for byte (same checkpoint hashes), and the killed run wrote
// no model.
func TestTrainEmbedKill9Resume(t *testing.T) {
	vocab := testkit.Shared(t, "reference", "models", "tiny-bert-f32.gguf")
	dir := t.TempDir()
	base := filepath.Join(dir, "bert.gguf")
	if _, errOut, code := runCLI(t, "", "init", "--arch", "bert", "--dim", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--ctx", "64",
		"--vocab-from", vocab, "--type", "f32", "--quiet", base); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	pairs := embedPairsFile(t, dir)
	args := func(out string) []string {
		return []string{"train", "embed", pairs, "--model", base, "--out", out, "--steps", "8", "--batch", "4", "--lr", "1e-3",
			"--threads", "2", "--log-every", "1", "--checkpoint-every", "3", "--seed", "5"}
	}
	straight := filepath.Join(dir, "straight.gguf")
	if _, errOut, code := runCLI(t, "", args(straight)...); code != 0 {
		t.Fatalf("straight run: exit %d: %s", code, errOut)
	}
	killed := filepath.Join(dir, "killed.gguf")
	cmd, errb := startChild(t, "step 5/", args(killed)...)
	waitFor(t, 5*time.Minute, "step 5 in the child's stderr", func() bool { return strings.Contains(errb.String(), "step 5/") })
	kill(t, cmd)
	if err := checkpointIntact(killed + ".ckpt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killed); err == nil {
		t.Fatal("the killed run wrote its model")
	}
	if _, errOut, code := runCLI(t, "", append(args(killed), "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	sameFile(t, straight+".ckpt", killed+".ckpt")
	sameFile(t, straight, killed)
}

// TestTrainEmbedStopAt: --stop-at ends a run with a checkpoint and no
// model; --export-checkpoint writes that checkpoint's model; --resume from
// it ends where an uninterrupted run ends.
func TestTrainEmbedStopAt(t *testing.T) {
	vocab := testkit.Shared(t, "reference", "models", "tiny-bert-f32.gguf")
	dir := t.TempDir()
	base := filepath.Join(dir, "bert.gguf")
	if _, errOut, code := runCLI(t, "", "init", "--arch", "bert", "--dim", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--ctx", "64",
		"--vocab-from", vocab, "--type", "f32", "--quiet", base); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	pairs := embedPairsFile(t, dir)
	args := func(out string) []string {
		return []string{"train", "embed", pairs, "--model", base, "--out", out, "--steps", "6", "--batch", "4", "--threads", "2", "--checkpoint-every", "0"}
	}
	straight := filepath.Join(dir, "straight.gguf")
	if _, errOut, code := runCLI(t, "", args(straight)...); code != 0 {
		t.Fatalf("straight run: exit %d: %s", code, errOut)
	}
	stopped := filepath.Join(dir, "stopped.gguf")
	_, errOut, code := runCLI(t, "", append(args(stopped), "--stop-at", "2")...)
	if code != 0 || !strings.Contains(errOut, "stopped after step 2") {
		t.Fatalf("--stop-at 2: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(stopped); err == nil {
		t.Fatal("a stopped run wrote its model")
	}
	// --export-checkpoint writes the cut run's model and leaves its
	// checkpoint as it was.
	ck, err := os.ReadFile(stopped + ".ckpt")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.gguf")
	if _, errOut, code := runCLI(t, "", append(args(cut), "--resume", "--export-checkpoint", "--checkpoint", stopped+".ckpt")...); code != 0 {
		t.Fatalf("--export-checkpoint: exit %d: %s", code, errOut)
	}
	if again, err := os.ReadFile(stopped + ".ckpt"); err != nil || string(again) != string(ck) {
		t.Errorf("--export-checkpoint changed the checkpoint (%v)", err)
	}
	if o, errOut, code := runCLI(t, "", "embed", cut, "what about cats?", "--json"); code != 0 || !strings.Contains(o, `"embedding"`) {
		t.Errorf("embed of the exported checkpoint: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", append(args(cut), "--export-checkpoint")...); code == 0 || !strings.Contains(errOut, "checkpoint to resume from") {
		t.Errorf("--export-checkpoint without --resume: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", append(args(stopped), "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	sameFile(t, straight+".ckpt", stopped+".ckpt")
	sameFile(t, straight, stopped)
}

// TestTrainEmbedRecipe runs a small embedder recipe end to end (a SQuAD
// file with inverse cloze pairs, a text file, an Alpaca file): the pairs,
// the held-out evaluation file (every paragraph, questions on the held-out
// ones only), a tokenizer, the model and the exported file, which `gptgo
// embed` runs; a second run redoes nothing and exports the same bytes.
func TestTrainEmbedRecipe(t *testing.T) {
	dir := t.TempDir()
	alpaca := `[{"instruction": "Name a colour.", "input": "", "output": "Blue is a colour of the sky."}, {"instruction": "Say hi", "input": "", "output": "no"}]`
	if err := os.WriteFile(filepath.Join(dir, "alpaca.json"), []byte(alpaca), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := tinyQARecipe(t, dir, "recipe.json", `, {"name": "inst", "instructions": ["alpaca.json"]}`,
		`"train": {"steps": 3, "batch": 4, "lr": 1e-3, "temperature": 0.05, "max_tokens": 32, "held_out": 5, "checkpoint_every": 1}`)
	_, errOut, code := runCLI(t, "", "train", "embed", "--recipe", recipe)
	if code != 0 {
		t.Fatalf("recipe: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"pairs qa: 8 questions, 8 inverse cloze pairs; held out 2 questions over 2 paragraphs", "pairs prose: 2 inverse cloze pairs",
		"pairs inst: 1 instruction pairs", "step 3/3", "held-out " + filepath.Join(dir, "qa.json") + " (after)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("no %q in the log:\n%s", want, errOut)
		}
	}
	var eval struct {
		Data []struct {
			Paragraphs []struct {
				Context string
				QAs     []struct{ Question string }
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "work", "eval", "qa.json"))
	if err != nil || json.Unmarshal(b, &eval) != nil || len(eval.Data) != 1 {
		t.Fatalf("eval file: %v\n%s", err, b)
	}
	var asked []string
	for _, p := range eval.Data[0].Paragraphs {
		for _, q := range p.QAs {
			asked = append(asked, q.Question)
		}
	}
	if n := len(eval.Data[0].Paragraphs); n != 10 || strings.Join(asked, "|") != "what about planets?|what about trees?" {
		t.Errorf("eval file: %d paragraphs, questions %q; want 10 and the 5th and 10th paragraphs' questions", n, asked)
	}
	out := filepath.Join(dir, "out", "embed.gguf")
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if o, errOut, code := runCLI(t, "", "embed", out, "what about cats?", "--json"); code != 0 || !strings.Contains(o, `"embedding"`) {
		t.Errorf("embed of the recipe's model: exit %d: %s", code, errOut)
	}
	_, errOut, code = runCLI(t, "", "train", "embed", "--recipe", recipe)
	if code != 0 || strings.Contains(errOut, "step ") {
		t.Fatalf("second run: exit %d (it should train nothing): %s", code, errOut)
	}
	if again, err := os.ReadFile(out); err != nil || string(again) != string(first) {
		t.Errorf("the second run exported another file (%v)", err)
	}
	if _, errOut, code := runCLI(t, "", "train", "embed", "--recipe", recipe, "extra.jsonl"); code == 0 || !strings.Contains(errOut, "--recipe takes no other inputs") {
		t.Errorf("--recipe with inputs: exit %d, %q", code, errOut)
	}

	// stop_at: the same recipe cut after step 2 of 3 exports the step-2
	// checkpoint, which is not the full run's model.
	b, err = os.ReadFile(recipe)
	if err != nil {
		t.Fatal(err)
	}
	cutRecipe := filepath.Join(dir, "cut.json")
	body := strings.NewReplacer(`"work": "work"`, `"work": "work-cut"`, `"checkpoint_every": 1}`, `"checkpoint_every": 1, "stop_at": 2}`, "out/embed.gguf", "out/cut.gguf").Replace(string(b))
	if err := os.WriteFile(cutRecipe, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, "", "train", "embed", "--recipe", cutRecipe)
	if code != 0 || !strings.Contains(errOut, "stopped after step 2") || strings.Contains(errOut, "step 3/3") {
		t.Fatalf("stop_at recipe: exit %d: %s", code, errOut)
	}
	cut, err := os.ReadFile(filepath.Join(dir, "out", "cut.gguf"))
	if err != nil || len(cut) != len(first) || string(cut) == string(first) {
		t.Errorf("stop_at's export: %d bytes (full run's %d), same as the full run's %v (%v)", len(cut), len(first), string(cut) == string(first), err)
	}
}

// TestTrainEmbedRecipeFinetune: a recipe's finetune stage trains from the
// first training's model on pairs made again (two inverse cloze queries
// a passage), every pair with a BM25-mined negative, a validation split
// kept out and written to eval/NAME-val.json; its model is the export,
// and a second run trains nothing.
func TestTrainEmbedRecipeFinetune(t *testing.T) {
	dir := t.TempDir()
	recipe := tinyQARecipe(t, dir, "recipe.json", "", `"train": {"steps": 2, "batch": 4, "lr": 1e-3, "temperature": 0.05, "max_tokens": 32, "held_out": 5, "checkpoint_every": 1},
		"finetune": {"steps": 2, "batch": 4, "lr": 5e-4, "temperature": 0.05, "max_tokens": 32, "checkpoint_every": 1, "mine_negatives": 2, "validation": 3, "ict_queries": 2}`)
	_, errOut, code := runCLI(t, "", "train", "embed", "--recipe", recipe)
	if code != 0 {
		t.Fatalf("recipe: exit %d: %s", code, errOut)
	}
	// paragraphs 3, 6 and 9 are the validation split, 5 and 10 held out
	for _, want := range []string{"held out 2 questions over 2 paragraphs; validation 0 questions",
		"pairs qa: 5 questions, 10 inverse cloze pairs; held out 2 questions over 2 paragraphs; validation 3 questions over 3 paragraphs",
		"pairs prose: 4 inverse cloze pairs", "mined 19 BM25 hard negatives (depth 2)", "train embed: 19 pairs"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("no %q in the log:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "step 2/2"); n != 2 {
		t.Errorf("%d trainings ran to step 2, want 2:\n%s", n, errOut)
	}
	var eval struct {
		Data []struct {
			Paragraphs []struct {
				Context string
				QAs     []struct{ Question string }
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "work", "eval", "qa-val.json"))
	if err != nil || json.Unmarshal(b, &eval) != nil || len(eval.Data) != 1 {
		t.Fatalf("validation file: %v\n%s", err, b)
	}
	var asked []string
	for _, p := range eval.Data[0].Paragraphs {
		for _, q := range p.QAs {
			asked = append(asked, q.Question)
		}
	}
	// the validation paragraphs and the 5 training ones; no held-out one
	if n := len(eval.Data[0].Paragraphs); n != 8 || strings.Join(asked, "|") != "what about engines?|what about music?|what about ships?" {
		t.Errorf("validation file: %d paragraphs, questions %q", n, asked)
	}
	first, err := os.ReadFile(filepath.Join(dir, "work", "embed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	ft, err := os.ReadFile(filepath.Join(dir, "work", "embed-ft.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out", "embed.gguf"))
	if err != nil || string(out) != string(ft) || string(ft) == string(first) {
		t.Errorf("the export is the finetuned model: %v; the finetuned model differs from the first: %v (%v)", string(out) == string(ft), string(ft) != string(first), err)
	}
	_, errOut, code = runCLI(t, "", "train", "embed", "--recipe", recipe)
	if code != 0 || strings.Contains(errOut, "step ") {
		t.Fatalf("second run: exit %d (it should train nothing): %s", code, errOut)
	}
}

// tinyQARecipe writes, in dir, a QA set of ten one-question paragraphs
// (qa.json), a prose file and a recipe (name) over them and any more
// pair sources (extraPairs, each after a comma), with the given "train"
// (and "finetune") members, working in dir/work and exporting
// dir/out/embed.gguf; it returns the recipe's path.
func tinyQARecipe(t *testing.T, dir, name, extraPairs, stages string) string {
	t.Helper()
	var paras []string
	for _, tp := range []string{"cats", "rivers", "engines", "bread", "planets", "music", "chess", "rain", "ships", "trees"} {
		paras = append(paras, `{"context": "Some `+tp+` are old. Many `+tp+` are new. All `+tp+` are here. No `+tp+` are gone.", "qas": [{"question": "what about `+tp+`?"}]}`)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("qa.json", `{"data": [{"paragraphs": [`+strings.Join(paras, ",")+`]}]}`)
	write("prose.txt", "The sun is hot. The moon is cold. The stars are far. The sea is deep.\nBirds can fly. Fish can swim. Dogs can run. Cats can climb.\n")
	write(name, `{"name": "tiny", "seed": 2, "threads": 2, "work": "work",
		"pairs": [{"name": "qa", "qa": "qa.json", "ict": true}, {"name": "prose", "texts": ["prose.txt"]}`+extraPairs+`],
		"tokenizer": {"vocab_size": 300}, "model": {"dim": 16, "layers": 1, "heads": 2, "ff": 32, "ctx": 32},
		`+stages+`,
		"export": {"path": "out/embed.gguf", "type": "f16"}}`)
	return filepath.Join(dir, name)
}

// TestTrainEmbedRecipeValidation: a recipe whose first training has a
// validation split keeps those paragraphs' questions out of it (and out
// of the tokenizer's text) and writes them to eval/NAME-val.json; it
// writes the same held-out file eval/NAME.json as a recipe without one,
// and mines the hard negatives it asks for.
func TestTrainEmbedRecipeValidation(t *testing.T) {
	const train = `"train": {"steps": 1, "batch": 4, "lr": 1e-3, "temperature": 0.05, "max_tokens": 32, "held_out": 5, "checkpoint_every": 1%s}`
	plain, val := t.TempDir(), t.TempDir()
	heldOut := map[string][]byte{}
	for _, dir := range []string{plain, val} {
		extra := ""
		if dir == val {
			extra = `, "validation": 3, "ict_queries": 2, "mine_negatives": 2`
		}
		recipe := tinyQARecipe(t, dir, "recipe.json", "", fmt.Sprintf(train, extra))
		_, errOut, code := runCLI(t, "", "train", "embed", "--recipe", recipe)
		if code != 0 {
			t.Fatalf("recipe: exit %d: %s", code, errOut)
		}
		want := []string{"pairs qa: 8 questions, 8 inverse cloze pairs; held out 2 questions over 2 paragraphs; validation 0 questions", "train embed: 18 pairs"}
		if dir == val {
			want = []string{"pairs qa: 5 questions, 10 inverse cloze pairs; held out 2 questions over 2 paragraphs; validation 3 questions over 3 paragraphs",
				"pairs prose: 4 inverse cloze pairs", "mined 19 BM25 hard negatives (depth 2)", "train embed: 19 pairs"}
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				t.Errorf("no %q in the log:\n%s", w, errOut)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "work", "eval", "qa.json"))
		if err != nil {
			t.Fatal(err)
		}
		heldOut[dir] = b
		_, err = os.Stat(filepath.Join(dir, "work", "eval", "qa-val.json"))
		if (err == nil) != (dir == val) {
			t.Errorf("qa-val.json written: %v, want %v", err == nil, dir == val)
		}
	}
	if !bytes.Equal(heldOut[plain], heldOut[val]) || !bytes.Contains(heldOut[val], []byte("what about trees?")) {
		t.Errorf("the held-out file differs with a validation split:\n%s\n%s", heldOut[plain], heldOut[val])
	}
}

// TestEmbedRecipesLoad: the repository's embedder recipes parse (unknown
// fields are errors), embed-ft is embed with a finetune stage, and
// embed-val (a candidate of models/embed.md) writes nothing to models/.
func TestEmbedRecipesLoad(t *testing.T) {
	base, _, err := loadEmbedRecipe(filepath.Join("..", "..", "recipes", "embed.json"))
	if err != nil {
		t.Fatal(err)
	}
	ft, _, err := loadEmbedRecipe(filepath.Join("..", "..", "recipes", "embed-ft.json"))
	if err != nil {
		t.Fatal(err)
	}
	if base.Finetune != nil || ft.Finetune == nil || ft.Finetune.MineNegatives == 0 || ft.Finetune.Validation == 0 {
		t.Errorf("finetune stages: embed %+v, embed-ft %+v", base.Finetune, ft.Finetune)
	}
	if ft.Model != base.Model || ft.Train != base.Train || ft.Seed != base.Seed || ft.Export.Path == base.Export.Path {
		t.Error("embed-ft must train embed's first stage as embed does and export elsewhere")
	}
	val, _, err := loadEmbedRecipe(filepath.Join("..", "..", "recipes", "embed-val.json"))
	if err != nil {
		t.Fatal(err)
	}
	if val.Train.Validation == 0 || val.Model != base.Model || strings.Contains(val.Export.Path, filepath.Join("models", "embed.gguf")) {
		t.Errorf("embed-val must keep a validation split, train embed's shape and export outside models/: %+v", val)
	}
}
