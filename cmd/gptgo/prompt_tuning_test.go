// Reference: Lester et al. 2021 §2 (the learned prompt before every input, the model frozen); PEFT
// PromptTuningConfig; docs/finetune.md (the prompt-tuning file).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
)

// TestTrainSFTPromptTuning: `train sft --prompt-tuning 8` on the default
// model writes OUT/adapter.gguf holding the 8 virtual tokens alone; `run
// --lora` with it generates what the model fed -1 … -8 and then the prompt
// generates (greedy, checked in process), `chat` answers with it, `lora
// show` describes it; commands that would ignore it, a merge, and bad
// flag combinations are errors that say why.
func TestTrainSFTPromptTuning(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "train", "sft", alpacaFile(t), "--out", out, "--steps", "6", "--batch", "2", "--seq", "64",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "2e-2", "--prompt-tuning", "8", "--prompt-tuning-init", "Answer the question briefly.")
	if code != 0 {
		t.Fatalf("train sft --prompt-tuning: exit %d\n%s", code, stderr)
	}
	log := readLog(t, out)
	if len(log) != 6 || !(log[5].Loss < log[0].Loss) {
		t.Fatalf("log: %+v", log)
	}
	if _, err := os.Stat(filepath.Join(out, modelName)); err == nil {
		t.Errorf("a prompt-tuning run wrote %s", modelName)
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
	if want := benchCount(int64(8 * c.Embd)); !strings.Contains(stdout, want+" parameters") {
		t.Errorf("summary %q does not count %s trained parameters", stdout, want)
	}
	adapter := filepath.Join(out, adapterName)
	af, err := gguf.Open(adapter)
	if err != nil {
		t.Fatal(err)
	}
	typ, _ := af.String("adapter.type")
	ti, ok := af.Tensor(model.PromptTuningName)
	af.Close()
	if typ != "prompt_tuning" || !ok || ti.Shape[0] != int64(c.Embd) || ti.Shape[1] != 8 {
		t.Fatalf("adapter.gguf: adapter.type %q, %s %+v; want prompt_tuning, ne [%d, 8]", typ, model.PromptTuningName, ti, c.Embd)
	}
	cfg, err := os.ReadFile(filepath.Join(out, configName))
	if err != nil || !strings.Contains(string(cfg), `"virtual_tokens": 8`) {
		t.Errorf("config.json lacks the prompt_tuning section: %v\n%s", err, cfg)
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
	want := promptTunedGreedy(t, base, adapter, rec.PromptIDs, 6)
	if !slices.Equal(rec.IDs, want) || len(want) != 6 {
		t.Fatalf("run --lora generated %v, the model over the virtual tokens %v", rec.IDs, want)
	}
	if stdout, stderr, code := runCLI(t, "hi\n", "chat", base, "-n", "4", "--temp", "0", "--template", "chatml", "--lora", adapter); code != 0 || stdout == "" {
		t.Errorf("chat --lora: exit %d, %q\n%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, "", "lora", "show", adapter, "--base", base); code != 0 || !strings.Contains(stdout, "prompt-tuning adapter") || !strings.Contains(stdout, "8 virtual tokens") {
		t.Errorf("lora show: exit %d, %q\n%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", base, "hello", "--lora", adapter}, "runs only where text is generated"},
		{[]string{"lora", "merge", base, adapter, filepath.Join(t.TempDir(), "m.gguf")}, "no weights to merge"},
		{[]string{"run", base, "hi", "--lora", adapter + ":0.5"}, "scale 1"},
		{[]string{"serve", "--models", t.TempDir(), "--lora", adapter}, "want MODEL=FILE"},
		{[]string{"serve", "--models", t.TempDir(), "--lora", "nosuch=" + adapter}, "nosuch"},
		{[]string{"train", "sft", "--print-config", "--prompt-tuning", "4", "--lora"}, "train one at a time"},
		{[]string{"train", "sft", "--print-config", "--prompt-tuning-init", "x"}, "needs prompt_tuning.virtual_tokens"},
		{[]string{"train", "sft", "--print-config", "--prompt-tuning", "63", "--seq", "64"}, "leaves no room"},
	} {
		_, stderr, code := runCLI(t, "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// promptTunedGreedy is the greedy continuation of prompt by the base with
// the adapter, computed on a model.State fed the virtual ids first.
func promptTunedGreedy(t *testing.T, basePath, adapterPath string, prompt []int32, n int) []int32 {
	t.Helper()
	st, virtual, _ := virtualAdapterState(t, basePath, adapterPath, false)
	logits, err := st.Forward(append(virtual, prompt...))
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	for range n {
		next := int32(slices.Index(logits, slices.Max(logits)))
		out = append(out, next)
		if logits, err = st.Forward([]int32{next}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// virtualAdapterState is a State (context 128, 2 workers; the F32 cache
// with kvF32) of the base with the adapter file loaded as run --lora loads
// it, closed at the test's end; the virtual ids −1 … −P that go in front
// of every prompt of a prompt- or prefix-tuning adapter; the vocabulary.
func virtualAdapterState(t *testing.T, basePath, adapterPath string, kvF32 bool) (st *model.State, virtual []int32, vocab int) {
	t.Helper()
	m, err := openModel(basePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ad, err := readAdapter(adapterPath)
	if err != nil {
		t.Fatal(err)
	}
	am, err := m.WithAdapters(model.ScaledAdapter{Adapter: ad, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	t.Cleanup(pool.Close)
	if st, err = am.NewState(model.Options{Ctx: 128, KVF32: kvF32, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	virtual = make([]int32, am.VirtualTokens())
	for k := range virtual {
		virtual[k] = int32(-k - 1)
	}
	return st, virtual, am.Vocab
}
