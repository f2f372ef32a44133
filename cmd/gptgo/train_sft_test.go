// Reference: the instruction-tuning issue's "Done when" (fine-tune the default model on Alpaca examples, then
// run the result; a killed run resumed gives the same losses); train_kill_test.go's child-process helpers.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// alpacaFile writes a handful of Alpaca examples.
func alpacaFile(t *testing.T) string {
	t.Helper()
	var recs []map[string]string
	for i, q := range []string{"Name a colour.", "Say hello.", "Count to three.", "Name a fruit.", "What is two plus two?", "Name an animal.", "Spell cat.", "Say goodbye."} {
		recs = append(recs, map[string]string{"instruction": q, "input": "", "output": []string{"Blue.", "Hello!", "One, two, three.", "An apple.", "Four.", "A cat.", "C, A, T.", "Goodbye!"}[i]})
	}
	b, _ := json.Marshal(recs)
	p := filepath.Join(t.TempDir(), "alpaca.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyBase writes a random two-layer llama with the default model's
// tokenizer and chat template (which ends no turn): quick to train, small
// to checkpoint.
func tinyBase(t *testing.T) string {
	t.Helper()
	f, err := models.OpenBase() // its continuation template ends no turn (TestTrainSFTErrors)
	if err != nil {
		t.Fatal(err)
	}
	kv, vocab, err := model.TokenizerKV(f)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := model.ArchConfig("llama")
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = vocab, 32, 2, 4, 2, 8, 64, 128
	c.RopeDims = c.HeadDim
	m, err := model.NewRandomTrainable(c, model.InitOptions{Seed: 1, Tied: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := m.WriteGGUF(p, kv, tensor.F32, "tiny"); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainSFTDefaultModel fine-tunes the embedded default model for a
// few steps on Alpaca examples, then runs and inspects the result: the
// log, the loss curve, the samples, and a model.gguf that carries the
// ChatML template it was tuned with and that `gptgo run` answers from.
func TestTrainSFTDefaultModel(t *testing.T) {
	out := t.TempDir()
	_, stderr, code := runCLI(t, "", "train", "sft", alpacaFile(t), "--out", out, "--steps", "3", "--batch", "2", "--seq", "64",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "1e-3")
	if code != 0 {
		t.Fatalf("train sft: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"8 conversations → 8 examples", "0 truncated by whole turns, 0 dropped", "template chatml", "6 training and 2 validation examples",
		"step 3: val loss", `sample at step 3: "What is the capital of France?" → `} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	log := readLog(t, out)
	if len(log) != 3 || log[2].ValLoss == nil || log[0].ValLoss != nil {
		t.Fatalf("log: %+v", log)
	}
	if _, err := os.Stat(filepath.Join(out, svgName)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, modelName)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := f.String("tokenizer.chat_template")
	f.Close()
	if want, _ := chat.Builtin("chatml"); src != want.Source() {
		t.Fatalf("model.gguf's template is %q, want the ChatML it was tuned with", src)
	}
	stdout, stderr, code := runCLI(t, "", "run", path, "Name a colour.", "-n", "8", "--temp", "0")
	if code != 0 || stdout == "" {
		t.Fatalf("run on the fine-tuned model: exit %d, %q\n%s", code, stdout, stderr)
	}
}

func TestTrainSFTErrors(t *testing.T) {
	data, base := alpacaFile(t), tinyBase(t)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"instruction": "q", "output": "a"}`+"\n"+`{"conversations": [{"from": "bot", "value": "x"}]}`+"\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{data, "--model", base, "--seq", "64"}, "does not end assistant turn 1 with an end-of-turn token"},
		{[]string{data, "--template", "nope"}, `--template: chat: no built-in template "nope"`},
		{[]string{data, "--steps", "3", "--epochs", "2"}, "--steps or --epochs, not both"},
		{[]string{bad}, `bad.jsonl:2: sharegpt turn 1: unknown speaker "bot"`},
		{[]string{}, "data.train is empty"},
		{[]string{data, "--seq", "4096"}, "--seq 4096 exceeds the context"},
		{[]string{data, "--lr", "-1"}, "optim.lr (--lr) -1 must be positive"},
		{[]string{data, "--seq", "8"}, "no conversation fits --seq 8"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"train", "sft", "--out", t.TempDir()}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want an error with %q:\n%s", c.args, code, c.want, stderr)
		}
	}
	gpt2 := testkit.Shared(t, "reference", "models", "tiny-gpt2-f32.gguf")
	if _, stderr, code := runCLI(t, "", "train", "sft", data, "--model", gpt2, "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "use --no-packing") {
		t.Errorf("gpt2 with packing: exit %d\n%s", code, stderr)
	}
}

func TestTrainSFTPrintConfig(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "train", "sft", "--print-config", "--no-packing", "--epochs", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var c map[string]map[string]any
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatal(err)
	}
	if c["data"]["packing"] != false || c["run"]["epochs"] != 2.0 || c["optim"]["lr"] != 1e-4 {
		t.Fatalf("printed config: %s", stdout)
	}
}

// TestTrainSFTKillResume: a `gptgo train sft` child killed with SIGKILL
// at step 5, a step past its checkpoint at step 4, and resumed, logs every
// step of an uninterrupted run bit for bit and writes the same model.
func TestTrainSFTKillResume(t *testing.T) {
	data, base := alpacaFile(t), tinyBase(t)
	config := filepath.Join(t.TempDir(), "sft.json")
	os.WriteFile(config, []byte(`{"data": {"val_fraction": 0.25, "template": "chatml"}, "optim": {"lr": 1e-2, "warmup": 2},
		"run": {"steps": 8, "batch": 2, "seq": 48, "threads": 2, "eval_every": 4, "checkpoint_every": 4, "sample_tokens": 4}}`), 0o644)
	args := []string{"train", "sft", data, "--model", base, "--config", config}
	straight := t.TempDir()
	if _, stderr, code := runCLI(t, "", append(args, "--out", straight)...); code != 0 {
		t.Fatalf("straight run: exit %d\n%s", code, stderr)
	}
	want := readLog(t, straight)
	killed := t.TempDir()
	cmd, errb := startChild(t, "step 5/", append(args, "--out", killed)...)
	waitFor(t, 30*time.Second, "step 5 in the child's log", func() bool { return logSteps(killed) >= 5 })
	kill(t, cmd)
	if n := logSteps(killed); n != 5 {
		t.Fatalf("the child logged %d steps before the kill, want 5\n%s", n, errb)
	}
	_, stderr, code := runCLI(t, "", "train", "sft", "--out", killed, "--resume")
	if code != 0 || !strings.Contains(stderr, "resumed at step 4") {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	compareLogs(t, want, readLog(t, killed), 1)
	sameFile(t, filepath.Join(straight, modelName), filepath.Join(killed, modelName))
	t.Log(fmt.Sprintf("killed at step 5 (checkpoint at 4), resumed: final loss %.6f as the straight run", want[len(want)-1].Loss))
}
