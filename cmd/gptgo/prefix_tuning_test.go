// Reference: Li and Liang 2021 §4 (per-layer prefix activations, the model frozen); PEFT PrefixTuningConfig;
// docs/finetune.md (the prefix-tuning file).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/autograd"
)

// TestTrainSFTPrefixTuning: `train sft --prefix-tuning 6` on the default
// model lowers the held-out loss (evaluated every step) and writes
// OUT/adapter.gguf holding every layer's keys and values alone; `run
// --lora` with it generates what a model.State fed -1 … -6 and then the
// prompt generates and what the training forward over the checkpoint's
// prefix generates (greedy, in process), `chat` answers with it, `lora
// show` describes it; commands that would ignore it, a merge, and bad
// flag combinations are errors that say why.
func TestTrainSFTPrefixTuning(t *testing.T) {
	out := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "cfg.json")
	if err := os.WriteFile(cfgPath, []byte(`{"run": {"eval_every": 1, "sample_prompts": ["Name a colour."], "sample_tokens": 4}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "", "train", "sft", alpacaFile(t), "--out", out, "--steps", "8", "--batch", "2", "--seq", "64", "--config", cfgPath,
		"--val-fraction", "0.25", "--threads", "2", "--lr", "2e-2", "--prefix-tuning", "6", "--prefix-tuning-init", "Answer the question briefly.")
	if code != 0 {
		t.Fatalf("train sft --prefix-tuning: exit %d\n%s", code, stderr)
	}
	log := readLog(t, out)
	if len(log) != 8 || log[0].ValLoss == nil || log[7].ValLoss == nil {
		t.Fatalf("log: %+v", log)
	}
	t.Logf("held-out loss %.4f after step 1, %.4f after step 8", *log[0].ValLoss, *log[7].ValLoss)
	if !(*log[7].ValLoss < *log[0].ValLoss) {
		t.Errorf("held-out loss did not fall: %.4f → %.4f", *log[0].ValLoss, *log[7].ValLoss)
	}
	if _, err := os.Stat(filepath.Join(out, modelName)); err == nil {
		t.Errorf("a prefix-tuning run wrote %s", modelName)
	}
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "default.gguf")
	if err := os.WriteFile(base, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if want := benchCount(int64(2 * c.Layers * 6 * c.KVDim())); !strings.Contains(stdout, want+" parameters") {
		t.Errorf("summary %q does not count %s trained parameters", stdout, want)
	}
	adapter := filepath.Join(out, adapterName)
	af, err := gguf.Open(adapter)
	if err != nil {
		t.Fatal(err)
	}
	typ, _ := af.String("adapter.type")
	name, _ := af.String("general.name")
	ti, ok := af.Tensor(model.PrefixVName(c.Layers - 1))
	n := len(af.Tensors)
	af.Close()
	if typ != "prefix_tuning" || !strings.Contains(name, "prefix tuning") || !ok || ti.Shape[0] != int64(c.KVDim()) || ti.Shape[1] != 6 || n != 2*c.Layers {
		t.Fatalf("adapter.gguf: adapter.type %q, name %q, %d tensors, %s %+v; want prefix_tuning, %d tensors ne [%d, 6]", typ, name, n, model.PrefixVName(c.Layers-1), ti, 2*c.Layers, c.KVDim())
	}
	cfg, err := os.ReadFile(filepath.Join(out, configName))
	if err != nil || !strings.Contains(string(cfg), `"prefix_tuning": {`) || !strings.Contains(string(cfg), `"virtual_tokens": 6`) {
		t.Errorf("config.json lacks the prefix_tuning section: %v\n%s", err, cfg)
	}

	// run --lora = the model fed the virtual tokens, then the prompt.
	stdout, stderr, code = runCLI(t, "", "run", base, "Name a colour.", "-n", "6", "--temp", "0", "--ignore-eos", "--json", "--lora", adapter)
	if code != 0 {
		t.Fatalf("run --lora: exit %d\n%s", code, stderr)
	}
	var rec struct {
		PromptIDs []int32 `json:"prompt_ids"`
		IDs       []int32 `json:"ids"`
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatal(err)
	}
	want := promptTunedGreedy(t, base, adapter, rec.PromptIDs, 6) // prompt_tuning_test.go: any virtual-token adapter
	if !slices.Equal(rec.IDs, want) || len(want) != 6 {
		t.Fatalf("run --lora generated %v, the model over the virtual tokens %v", rec.IDs, want)
	}
	// ... and what the training forward generates: the tape over the
	// prefix as the run's checkpoint holds it (keys before RoPE), whose
	// logits are those of the file as run loads it.
	tape, tapeLogits := trainedPrefixGreedy(t, filepath.Join(out, ckptName), 6, rec.PromptIDs, 6)
	if !slices.Equal(rec.IDs, tape) {
		t.Fatalf("run --lora generated %v, the training forward %v", rec.IDs, tape)
	}
	fileLogits := prefixFileLogits(t, base, adapter, append(slices.Clone(rec.PromptIDs), tape...))
	// The default model is Q8_0: inference rounds activations to 8 bits
	// where the tape multiplies the dequantized weights in float32, so
	// the bound is a normalised error (as model/lora_test.go's on Q8_0).
	if e := testkit.NMSE(fileLogits, tapeLogits); !(e < 1e-3) {
		t.Fatalf("logits of the file as run loads it against the training forward: NMSE %.3g", e)
	} else {
		t.Logf("logits of the file as run loads it against the training forward: NMSE %.3g over %d values", e, len(tapeLogits))
	}
	if stdout, stderr, code := runCLI(t, "hi\n", "chat", base, "-n", "4", "--temp", "0", "--template", "chatml", "--lora", adapter); code != 0 || stdout == "" {
		t.Errorf("chat --lora: exit %d, %q\n%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, "", "lora", "show", adapter, "--base", base); code != 0 || !strings.Contains(stdout, "prefix-tuning adapter") || !strings.Contains(stdout, "6 virtual tokens") {
		t.Errorf("lora show: exit %d, %q\n%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", base, "hello", "--lora", adapter}, "runs only where text is generated"},
		{[]string{"lora", "merge", base, adapter, filepath.Join(t.TempDir(), "m.gguf")}, "no weights to merge"},
		{[]string{"run", base, "hi", "--lora", adapter + ":0.5"}, "scale 1"},
		{[]string{"train", "sft", "--print-config", "--prefix-tuning", "4", "--lora"}, "train one at a time"},
		{[]string{"train", "sft", "--print-config", "--prefix-tuning", "4", "--prompt-tuning", "4"}, "train one at a time"},
		{[]string{"train", "sft", "--print-config", "--prefix-tuning-init", "x"}, "needs prefix_tuning.virtual_tokens"},
		{[]string{"train", "sft", "--print-config", "--prefix-tuning", "63", "--seq", "64"}, "leaves no room"},
		{[]string{"train", "sft", "--print-config", "--prefix-projection", "16"}, "needs prefix_tuning.virtual_tokens"},
	} {
		_, stderr, code := runCLI(t, "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// trainedPrefixGreedy is the greedy continuation of prompt computed by the
// training forward (model.Trainable on a tape, no KV cache): the default
// model with a P-token prefix restored from the checkpoint ckpt, fed the
// virtual ids -1 … -P, then the prompt and each token chosen.
func trainedPrefixGreedy(t *testing.T, ckpt string, P int, prompt []int32, n int) (out []int32, logits []float32) {
	t.Helper()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.PrefixTuningTrainableFromGGUF(f, model.PrefixTuningOptions{Tokens: P})
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	opt, err := train.NewAdamW(m.Params(), train.AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.LoadCheckpoint(ckpt, opt); err != nil {
		t.Fatal(err)
	}
	ids := virtualPrefix(m, prompt) // prompt_tuning.go
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	for range n {
		tp.Reset()
		l := m.Logits(tp, ids, len(ids))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		row := l.Data[(len(ids)-1)*m.Vocab:]
		next := int32(slices.Index(row, slices.Max(row)))
		out, ids = append(out, next), append(ids, next)
	}
	// The logits of every real token but the last chosen one.
	tp.Reset()
	l := m.Logits(tp, ids[:len(ids)-1], len(ids)-1)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	return out, slices.Clone(l.Data[P*m.Vocab:])
}

// prefixFileLogits is the logits of every token of ids behind the virtual
// tokens, computed by a model.State of the base with the adapter file
// loaded as run --lora loads it.
func prefixFileLogits(t *testing.T, basePath, adapterPath string, ids []int32) []float32 {
	t.Helper()
	st, virtual, V := virtualAdapterState(t, basePath, adapterPath, true)
	P := len(virtual)
	out := make([]float32, len(ids)*V)
	if err := st.ForwardAll(append(virtual, ids...), func(i int, l []float32) error {
		if i >= P {
			copy(out[(i-P)*V:], l)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrainSFTPrefixProjection: with --prefix-projection the run trains
// PEFT's reparameterization and the file holds only the keys and values
// it gives, which run --lora runs as any prefix.
func TestTrainSFTPrefixProjection(t *testing.T) {
	out := t.TempDir()
	_, stderr, code := runCLI(t, "", "train", "sft", alpacaFile(t), "--out", out, "--steps", "2", "--batch", "2", "--seq", "64",
		"--val-fraction", "0.25", "--threads", "2", "--prefix-tuning", "4", "--prefix-projection", "16")
	if code != 0 {
		t.Fatalf("train sft --prefix-projection: exit %d\n%s", code, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(out, configName))
	if err != nil || !strings.Contains(string(cfg), `"projection": 16`) {
		t.Errorf("config.json lacks the projection: %v\n%s", err, cfg)
	}
	adapter := filepath.Join(out, adapterName)
	af, err := gguf.Open(adapter)
	if err != nil {
		t.Fatal(err)
	}
	n, name := len(af.Tensors), af.Tensors[0].Name
	af.Close()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.ConfigFromGGUF(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*c.Layers || name != model.PrefixKName(0) {
		t.Fatalf("adapter.gguf: %d tensors from %q, want the %d keys and values alone", n, name, 2*c.Layers)
	}
	if stdout, stderr, code := runCLI(t, "", "run", "Name a colour.", "-n", "3", "--temp", "0", "--lora", adapter); code != 0 || stdout == "" {
		t.Errorf("run --lora: exit %d, %q\n%s", code, stdout, stderr)
	}
}
