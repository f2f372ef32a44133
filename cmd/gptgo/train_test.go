// Reference: nanoGPT's train_shakespeare_char recipe, shrunk to a test: tokenizer → pretrain → run.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/tokenizer"
)

// trainFixture writes a few KB of repetitive text, a byte-level BPE
// vocabulary of 300 trained on it, and a tiny run configuration.
func trainFixture(t *testing.T) (text, vocab, config string) {
	t.Helper()
	dir := t.TempDir()
	var sb strings.Builder
	subjects := []string{"the cat", "a dog", "the bird", "my friend"}
	verbs := []string{"sat on", "ran to", "looked at", "sang to"}
	objects := []string{"the mat.", "a log.", "the tree.", "the moon."}
	for i := 0; sb.Len() < 6000; i++ {
		fmt.Fprintf(&sb, "%s %s %s\n", subjects[i%4], verbs[(i/4)%4], objects[(i/2)%4])
	}
	text = filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(text, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := tokenizer.NewTrainer(tokenizer.TrainOptions{VocabSize: 300, Specials: []string{"<|endoftext|>"}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Add(context.Background(), sb.String()); err != nil {
		t.Fatal(err)
	}
	v, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	vocab = filepath.Join(dir, "vocab.gguf")
	if err := v.WriteGGUF(vocab); err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "run.json")
	cfg := `{"model": {"dim": 32, "layers": 2, "heads": 4, "kv_heads": 2},
		"optim": {"lr": 1e-2, "min_lr": 1e-3, "warmup": 3},
		"run": {"steps": 20, "batch": 4, "seq": 32, "threads": 2, "eval_every": 10, "eval_batches": 2,
			"sample_every": 10, "sample_tokens": 8, "sample_prompt": "the cat", "checkpoint_every": 5}}`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return text, vocab, config
}

func readLog(t *testing.T, dir string) []logEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	var log []logEntry
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var le logEntry
		if err := json.Unmarshal(line, &le); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		log = append(log, le)
	}
	return log
}

var finalLossRE = regexp.MustCompile(`final train loss (\S+),`)

// TestTrainPretrain: 20 steps on the tiny corpus lower the loss; the
// checkpoint, log, curve and model exist; `gptgo run` generates from the
// model. A run cancelled after step 8 and resumed ends with the same loss
// and the same model file, bit for bit.
func TestTrainPretrain(t *testing.T) {
	text, vocab, config := trainFixture(t)
	full := t.TempDir()
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--seed", "3"}
	stdout, stderr, code := runCLI(t, "", append(args, "--out", full)...)
	if code != 0 {
		t.Fatalf("pretrain: exit %d\n%s", code, stderr)
	}
	log := readLog(t, full)
	if len(log) != 20 || log[19].Step != 20 {
		t.Fatalf("log has %d steps", len(log))
	}
	first, last := log[0].Loss, log[19].Loss
	t.Logf("loss %.4f → %.4f; val loss %v", first, last, *log[19].ValLoss)
	if !(last < first-1) {
		t.Errorf("loss went from %.4f to %.4f in 20 steps", first, last)
	}
	if log[9].ValLoss == nil || log[19].ValLoss == nil || log[4].ValLoss != nil {
		t.Error("validation losses are not at steps 10 and 20 only")
	}
	if log[0].SetupS <= 0 || log[1].SetupS != 0 || log[0].StepS <= 0 || log[1].StepS <= 0 {
		t.Errorf("step seconds and the session's setup: %+v, %+v", log[0], log[1])
	}
	if !strings.Contains(stderr, "sample at step 10: \"the cat") || !strings.Contains(stderr, "step 20/20") {
		t.Errorf("stderr lacks the sample or the progress line:\n%s", stderr)
	}
	for _, name := range []string{ckptName, svgName, modelName, configName} {
		if _, err := os.Stat(filepath.Join(full, name)); err != nil {
			t.Error(err)
		}
	}
	if svg, _ := os.ReadFile(filepath.Join(full, svgName)); !bytes.Contains(svg, []byte("<polyline")) || !bytes.HasSuffix(svg, []byte("</svg>\n")) {
		t.Errorf("loss.svg:\n%s", svg)
	}
	m := finalLossRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no final loss in %q", stdout)
	}

	model := filepath.Join(full, modelName)
	out, errOut, code := runCLI(t, "", "run", model, "the cat", "--temp", "0", "-n", "8")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("run on the trained model: exit %d, stdout %q\n%s", code, out, errOut)
	}
	t.Logf("gptgo run: %q", out)

	// The same run, cancelled after step 8 (the progress line of step 8
	// cancels the context, so the loop stops before step 9), then resumed.
	split := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &cancelAt{w: &errb, at: "step 8/", cancel: cancel}}
	if code := runMain(ctx, e, append(args, "--out", split)); code != 1 || !strings.Contains(errb.String(), "interrupted after step 8") {
		t.Fatalf("cancelled run: exit %d\n%s", code, errb.String())
	}
	if _, _, code := runCLI(t, "", append(args, "--out", split)...); code != 1 {
		t.Error("a second fresh run over a checkpoint was not refused")
	}
	stdout2, stderr2, code := runCLI(t, "", "train", "pretrain", "--out", split, "--resume")
	if code != 0 || !strings.Contains(stderr2, "resumed at step 8") {
		t.Fatalf("resume: exit %d\n%s", code, stderr2)
	}
	m2 := finalLossRE.FindStringSubmatch(stdout2)
	if m2 == nil || m2[1] != m[1] {
		t.Errorf("final loss straight through %v, interrupted and resumed %v", m, m2)
	}
	a, _ := os.ReadFile(model)
	b, _ := os.ReadFile(filepath.Join(split, modelName))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the resumed run's model.gguf differs from the straight run's")
	}
	if l := readLog(t, split); len(l) != 20 || l[19].Loss != last {
		t.Errorf("resumed log: %d steps, last loss %v (want 20, %v)", len(l), l[len(l)-1].Loss, last)
	}

	// --init continues from the exported model, whose tokenizer it takes
	// when there is no --vocab: the first step starts near the final loss.
	more := t.TempDir()
	_, stderr3, code := runCLI(t, "", "train", "pretrain", text, "--init", model, "--config", config, "--steps", "2", "--out", more)
	if code != 0 {
		t.Fatalf("--init: exit %d\n%s", code, stderr3)
	}
	if l := readLog(t, more); len(l) != 2 || l[0].Loss > first-1 {
		t.Errorf("--init: %d steps, starting at loss %.4f (a fresh model: %.4f)", len(l), l[0].Loss, first)
	} else {
		t.Logf("--init: first step's loss %.4f", l[0].Loss)
	}
}

// cancelAt passes writes on and cancels when it sees its string.
type cancelAt struct {
	mu     sync.Mutex
	w      *bytes.Buffer
	at     string
	cancel func()
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Contains(p, []byte(c.at)) {
		c.cancel()
	}
	return c.w.Write(p)
}

// TestTrainPrintConfigAndErrors: --print-config shows defaults and
// overrides; bad settings and missing inputs are errors, not panics.
func TestTrainPrintConfigAndErrors(t *testing.T) {
	out, _, code := runCLI(t, "", "train", "pretrain", "--print-config", "--steps", "7")
	if code != 0 || !strings.Contains(out, `"steps": 7`) || !strings.Contains(out, `"val_fraction": 0.1`) || !strings.Contains(out, `"arch": "llama"`) {
		t.Errorf("print-config: exit %d\n%s", code, out)
	}
	text, _, _ := trainFixture(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "pretrain"}, "data.train is empty"},
		{[]string{"train", "pretrain", text, "--out", t.TempDir()}, "needs a tokenizer"},
		{[]string{"train", "pretrain", text, "--batch", "0"}, "batch"},
		{[]string{"train", "pretrain", "--out", t.TempDir(), "--resume"}, "config.json"},
		{[]string{"train", "nope"}, "unknown subcommand"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, errOut, c.want)
		}
	}
}

// TestTrainCheckpointActivations: --checkpoint-activations reruns each
// layer in the backward and gives the same model file, bit for bit;
// --activation-dtype bf16 still trains (its gradients differ slightly);
// an unknown dtype is refused.
func TestTrainCheckpointActivations(t *testing.T) {
	text, vocab, config := trainFixture(t)
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--steps", "4"}
	var models [3][]byte
	for i, extra := range [][]string{nil, {"--checkpoint-activations"}, {"--checkpoint-activations", "--activation-dtype", "bf16"}} {
		out := t.TempDir()
		if _, stderr, code := runCLI(t, "", append(append(append([]string(nil), args...), "--out", out), extra...)...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", extra, code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, modelName))
		if err != nil {
			t.Fatal(err)
		}
		models[i] = b
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Error("checkpointed activations changed the trained model")
	}
	if len(models[2]) != len(models[0]) {
		t.Errorf("bf16 activations: model of %d bytes, want %d", len(models[2]), len(models[0]))
	}
	if _, stderr, code := runCLI(t, "", append(args, "--out", t.TempDir(), "--checkpoint-activations", "--activation-dtype", "f8")...); code == 0 || !strings.Contains(stderr, "f8") {
		t.Errorf("--activation-dtype f8: exit %d, %q", code, stderr)
	}
}
