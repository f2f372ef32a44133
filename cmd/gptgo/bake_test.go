// Reference: the reproducibility check of the default-model issue: a re-run of a bake for a few steps gives
// the checkpoint hashes of the first run at the same steps.

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
)

// bakeFixture writes two small sources (English lines as text, Chinese
// lines as JSON records with a list field, as chinese-poetry has) and a
// recipe that bakes a tiny model from them in a few seconds.
func bakeFixture(t *testing.T) (recipePath string) {
	t.Helper()
	dir := t.TempDir()
	var en strings.Builder
	subjects := []string{"the cat", "a dog", "the bird", "my friend"}
	verbs := []string{"sat on", "ran to", "looked at", "sang to"}
	objects := []string{"the mat.", "a log.", "the tree.", "the moon."}
	for i := 0; en.Len() < 8000; i++ {
		fmt.Fprintf(&en, "%s %s %s\n", subjects[i%4], verbs[(i/4)%4], objects[(i/2)%4])
	}
	var zh []map[string]any
	lines := []string{"床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"}
	for i := range 60 {
		zh = append(zh, map[string]any{"title": fmt.Sprint(i), "paragraphs": []string{lines[i%4], lines[(i+1)%4], lines[(i+3)%4]}})
	}
	zhJSON, _ := json.Marshal(zh)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("en.txt", []byte(en.String()))
	write("zh.json", zhJSON)
	write("recipe.json", []byte(`{
  "name": "tiny", "seed": 7, "threads": 2,
  "sources": [
    {"name": "en", "val_fraction": 0.1,
     "clean": {"inputs": ["en.txt"], "stages": ["exact_dedup", "pii"], "read": {"format": "text", "text_unit": "file"}}},
    {"name": "zh", "val_fraction": 0.1,
     "clean": {"inputs": ["zh.json"], "stages": ["exact_dedup", "pii"], "read": {"format": "json", "text_field": "paragraphs"}}}
  ],
  "tokenizer": {"vocab_size": 300, "specials": ["<|endoftext|>"]},
  "train": {
    "model": {"arch": "llama", "dim": 32, "layers": 1, "heads": 4, "kv_heads": 2, "tied": true},
    "optim": {"lr": 0.01, "min_lr": 0.001, "warmup": 2},
    "run": {"steps": 6, "batch": 2, "seq": 16, "eval_every": 3, "eval_batches": 1, "sample_every": 0, "sample_tokens": 0, "checkpoint_every": 2}
  },
  "export": {"type": "q8_0", "path": "out/tiny.gguf"}
}`))
	return filepath.Join(dir, "recipe.json")
}

func readCheckpointLog(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Step   int    `json:"step"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		m[e.Step] = e.SHA256
	}
	return m
}

// TestBakeReproducesAndResumes bakes the tiny recipe once; a second bake
// in another working directory, stopped after step 4, logs the same
// checkpoint hashes at steps 2 and 4; resumed, it finishes with the very
// files of the first bake (tokenizer, shards, model, quantized export).
func TestBakeReproducesAndResumes(t *testing.T) {
	recipe := bakeFixture(t)
	dir := filepath.Dir(recipe)
	workA, workB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	if out, errOut, code := runCLI(t, "", "bake", recipe, "--work", workA); code != 0 {
		t.Fatalf("bake: exit %d\n%s\n%s", code, out, errOut)
	}
	var manA bakeManifest
	b, err := os.ReadFile(filepath.Join(workA, "bake.json"))
	if err == nil {
		err = json.Unmarshal(b, &manA)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(manA.Sources) != 2 || manA.Sources[0].Tokens == 0 || manA.Sources[1].ValTokens == 0 || manA.Train["steps"] != float64(6) {
		t.Fatalf("manifest: %s", b)
	}
	export := filepath.Join(dir, "out", "tiny.gguf")
	f, err := gguf.Open(export)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl, _ := f.String("tokenizer.chat_template"); m.Config.Arch != "llama" || m.Config.Vocab != 300 || tmpl == "" {
		t.Errorf("export: arch %s, vocab %d, chat template %q", m.Config.Arch, m.Config.Vocab, tmpl)
	}
	m.Close()
	exportHash := manA.Files[filepath.ToSlash(export)]
	if exportHash == "" {
		t.Fatalf("no hash of %s in %v", export, manA.Files)
	}

	out, errOut, code := runCLI(t, "", "bake", recipe, "--work", workB, "--stop-at", "4")
	if code != 0 || !strings.Contains(errOut, "stopped at step 4") {
		t.Fatalf("bake --stop-at 4: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(workB, "train", modelName)); err == nil {
		t.Fatal("a stopped bake exported its model")
	}
	a, bb := readCheckpointLog(t, filepath.Join(workA, "checkpoints.jsonl")), readCheckpointLog(t, filepath.Join(workB, "checkpoints.jsonl"))
	if len(a) != 3 || len(bb) != 2 {
		t.Fatalf("checkpoints: first bake %v, stopped bake %v", a, bb)
	}
	for step, h := range bb {
		if a[step] != h {
			t.Errorf("step %d: checkpoint %s, first bake %s", step, h, a[step])
		}
	}

	if out, errOut, code := runCLI(t, "", "bake", recipe, "--work", workB); code != 0 || !strings.Contains(errOut, "clean en: done before") {
		t.Fatalf("resumed bake: exit %d\n%s\n%s", code, out, errOut)
	}
	var manB bakeManifest
	if b, err = os.ReadFile(filepath.Join(workB, "bake.json")); err == nil {
		err = json.Unmarshal(b, &manB)
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range manA.Files {
		if manB.Files[name] != h {
			t.Errorf("%s: %s after resuming, %s straight", name, manB.Files[name], h)
		}
	}
	if got := readCheckpointLog(t, filepath.Join(workB, "checkpoints.jsonl")); got[6] != a[6] {
		t.Errorf("final checkpoint %s after resuming, %s straight", got[6], a[6])
	}

	// A finished bake run again does nothing new and keeps its report.
	if out, errOut, code := runCLI(t, "", "bake", recipe, "--work", workA); code != 0 || !strings.Contains(errOut, "pretrain: done before") {
		t.Fatalf("bake again: exit %d\n%s\n%s", code, out, errOut)
	}
	var again bakeManifest
	if b, err = os.ReadFile(filepath.Join(workA, "bake.json")); err == nil {
		err = json.Unmarshal(b, &again)
	}
	if err != nil || again.Train["steps"] != float64(6) || again.Files[filepath.ToSlash(export)] != exportHash {
		t.Errorf("manifest after baking again: %s (%v)", b, err)
	}
}

// TestBakeRecipeErrors: a bad recipe is refused before any work, with
// every problem named.
func TestBakeRecipeErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(p, []byte(`{"name": "x/y", "sources": [{"name": "a", "val_fraction": 1}], "tokenizer": {"vocab_size": 10}, "export": {"type": "q9", "path": "o.gguf"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "", "bake", p)
	for _, want := range []string{"plain word", "val_fraction 1", "vocab_size 10", "q9"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, stderr %q: want %q", code, errOut, want)
		}
	}
	// Missing corpora are named, with where the data comes from, before
	// anything is written (#16 item 9).
	recipe := bakeFixture(t)
	os.Remove(filepath.Join(filepath.Dir(recipe), "zh.json"))
	work := filepath.Join(dir, "work")
	_, errOut, code = runCLI(t, "", "bake", recipe, "--work", work)
	if code != 1 || !strings.Contains(errOut, "an input is missing: "+filepath.Join(filepath.Dir(recipe), "zh.json")+" (source zh)") || !strings.Contains(errOut, "source and licence") {
		t.Errorf("missing input: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(work); err == nil {
		t.Errorf("%s was made for a recipe that cannot run", work)
	}
	if err := os.WriteFile(p, []byte(`{"name": "x", "typo": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "", "bake", p); code != 1 || !strings.Contains(errOut, "typo") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
}
