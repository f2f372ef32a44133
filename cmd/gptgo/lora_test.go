// Reference: llama.cpp common/arg.cpp (--lora FILE, --lora-scaled) and tools/export-lora; the adapter file
// layout of src/llama-adapter.cpp.

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
)

// loraFixture writes the default model dequantized to F32 (so that merged
// and unmerged run the same float32 products) and an adapter for it with
// random B (a trained one in all but the training), and returns both paths.
func loraFixture(t *testing.T) (base, adapter string) {
	t.Helper()
	dir := t.TempDir()
	q8 := filepath.Join(dir, "default-q8_0.gguf")
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(q8, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Close()
	base = filepath.Join(dir, "default-f32.gguf")
	if _, errOut, code := runCLI(t, "", "quantize", q8, base, "F32", "--quiet"); code != 0 {
		t.Fatalf("quantize to F32: exit %d: %s", code, errOut)
	}
	bf, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	m, err := model.LoRATrainableFromGGUF(bf, model.LoRAOptions{Rank: 4, Alpha: 8, Targets: []string{"q", "v", "down"}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range m.Params() {
		if strings.HasSuffix(p.Name, ".lora_b") {
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64() * 0.05)
			}
		}
	}
	adapter = filepath.Join(dir, "adapter.gguf")
	if err := m.WriteAdapter(adapter, "cli test"); err != nil {
		t.Fatal(err)
	}
	return base, adapter
}

func loraLogits(t *testing.T, args ...string) logitsRecord {
	t.Helper()
	out, errOut, code := runCLI(t, "", append([]string{"logits"}, args...)...)
	if code != 0 {
		t.Fatalf("logits %v: exit %d: %s", args, code, errOut)
	}
	var rec logitsRecord
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// maxTopDiff is the largest difference between b's and a's logit for a's
// top tokens, relative to the logit when that is above 1 (a token missing
// from b counts as infinitely far).
func maxTopDiff(a, b logitsRecord) float64 {
	var d float64
	for p := range a.TopK {
		got := map[float64]float64{}
		for _, e := range b.TopK[p] {
			got[e[0]] = e[1]
		}
		for _, e := range a.TopK[p][:4] {
			v, ok := got[e[0]]
			if !ok {
				return math.Inf(1)
			}
			d = max(d, math.Abs(v-e[1])/max(1, math.Abs(e[1])))
		}
	}
	return d
}

// TestLoraRunAndMerge: `logits --lora FILE:SCALE` (unmerged) and the model
// `lora merge` writes give the same logits, which differ from the base's;
// two adapters at half scale each are one at full scale; merge --type
// quantizes the result. Bound: 1e-4 relative, float32 rounding of the same
// sums taken in another order through the model's layers (the logits are
// around 10, the differences about 2e-4).
func TestLoraRunAndMerge(t *testing.T) {
	base, adapter := loraFixture(t)
	dir := filepath.Dir(adapter)
	const prompt = "Once upon a time"
	plain := loraLogits(t, base, prompt, "--top", "16")
	unmerged := loraLogits(t, base, prompt, "--top", "16", "--lora", adapter+":0.8")
	if d := maxTopDiff(plain, unmerged); d < 1e-3 {
		t.Fatalf("the adapter changes the top logits by %.3g only; the test proves nothing", d)
	}
	merged := filepath.Join(dir, "merged.gguf")
	out, errOut, code := runCLI(t, "", "lora", "merge", base, adapter+":0.8", merged)
	if code != 0 || !strings.Contains(out, "1 adapter (") {
		t.Fatalf("lora merge: exit %d: %s%s", code, out, errOut)
	}
	got := loraLogits(t, merged, prompt, "--top", "16")
	t.Logf("adapter's effect on the top logits %.3g; merged vs unmerged %.3g (relative)", maxTopDiff(plain, unmerged), maxTopDiff(unmerged, got))
	if d := maxTopDiff(unmerged, got); d > 1e-4 {
		t.Errorf("merged model's logits differ from the unmerged adapter's by %.3g", d)
	}
	halves := loraLogits(t, base, prompt, "--top", "16", "--lora", adapter+":0.4", "--lora", adapter+":0.4")
	if d := maxTopDiff(unmerged, halves); d > 1e-4 {
		t.Errorf("two adapters at 0.4 differ from one at 0.8 by %.3g", d)
	}

	q := filepath.Join(dir, "merged-q8.gguf")
	if _, errOut, code := runCLI(t, "", "lora", "merge", base, adapter+":0.8", q, "--type", "Q8_0"); code != 0 {
		t.Fatalf("lora merge --type Q8_0: exit %d: %s", code, errOut)
	}
	qf, err := gguf.Open(q)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := qf.Tensor("blk.0.attn_q.weight")
	qf.Close()
	if ti == nil || ti.DType.String() != "Q8_0" {
		t.Errorf("merge --type Q8_0 wrote blk.0.attn_q.weight as %+v", ti)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 5 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the directory: %v (the F32 intermediate must be removed)", names)
	}

	out, errOut, code = runCLI(t, "", "lora", "show", adapter, "--base", base)
	if code != 0 || !strings.Contains(out, "blk.0.attn_q.weight") || !strings.Contains(out, "fits") {
		t.Errorf("lora show: exit %d: %s%s", code, out, errOut)
	}
}

// TestLoraErrors: a missing adapter file, a model given as an adapter, an
// adapter for another shape of model, bad flags: errors naming what is
// wrong. An adapter made on the F32 copy of the default model runs on the
// embedded (Q8_0) one: same names and shapes.
func TestLoraErrors(t *testing.T) {
	base, adapter := loraFixture(t)
	dir := filepath.Dir(adapter)
	if _, errOut, code := runCLI(t, "", "logits", "hi", "--lora", adapter); code != 0 {
		t.Errorf("adapter on the embedded default model: exit %d: %s", code, errOut)
	}
	other := filepath.Join(dir, "other.gguf")
	if _, errOut, code := runCLI(t, "", "init", other, "--dim", "64", "--layers", "1", "--heads", "2", "--ff", "128", "--vocab", "100", "--quiet"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", base, "hi", "--lora", filepath.Join(dir, "none.gguf")}, "none.gguf"},
		{[]string{"logits", base, "hi", "--lora", base}, "general.type"},
		{[]string{"lora", "merge", other, adapter, filepath.Join(dir, "x.gguf")}, "blk.0.attn_q.weight"},
		{[]string{"lora", "merge", base, adapter, adapter}, "inputs"},
		{[]string{"lora", "merge", base, adapter, filepath.Join(dir, "o.gguf"), "--type", "Q9"}, "--type"},
		{[]string{"lora", "frobnicate"}, "unknown subcommand"},
	} {
		_, errOut, code := runCLI(t, "", tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error naming %q", tc.args, code, errOut, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Errorf("a refused merge left its output behind")
	}
}

// TestTrainSFTLoRA fine-tunes adapters over the embedded default model
// (a Q8_0 base, read in place: QLoRA) on Alpaca examples: the run writes
// OUT/adapter.gguf in llama.cpp's layout and no model, the training loss
// falls, only the adapters train, and `run --lora` and `lora merge` take
// the file.
func TestTrainSFTLoRA(t *testing.T) {
	out := t.TempDir()
	_, stderr, code := runCLI(t, "", "train", "sft", alpacaFile(t), "--out", out, "--steps", "6", "--batch", "2", "--seq", "64",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "1e-2", "--lora", "--lora-rank", "4", "--lora-targets", "q,v,up,down", "--lora-dropout", "0")
	if code != 0 {
		t.Fatalf("train sft --lora: exit %d\n%s", code, stderr)
	}
	log := readLog(t, out)
	if len(log) != 6 || !(log[5].Loss < log[0].Loss) {
		t.Fatalf("log: %+v", log)
	}
	if _, err := os.Stat(filepath.Join(out, modelName)); err == nil {
		t.Errorf("a LoRA run wrote %s", modelName)
	}
	adapter := filepath.Join(out, adapterName)
	af, err := gguf.Open(adapter)
	if err != nil {
		t.Fatal(err)
	}
	typ, _ := af.String("general.type")
	pairs := 0
	for _, ti := range af.Tensors {
		if strings.HasSuffix(ti.Name, ".lora_a") {
			pairs++
		}
	}
	af.Close()
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
	if typ != "adapter" || pairs != 4*c.Layers {
		t.Fatalf("adapter.gguf: general.type %q, %d pairs; want adapter, %d", typ, pairs, 4*c.Layers)
	}
	if stdout, stderr, code := runCLI(t, "", "run", "Name a colour.", "-n", "4", "--temp", "0", "--lora", adapter); code != 0 || stdout == "" {
		t.Errorf("run --lora: exit %d, %q\n%s", code, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, "", "lora", "merge", base, adapter, filepath.Join(t.TempDir(), "merged.gguf")); code != 0 {
		t.Errorf("lora merge: exit %d\n%s", code, stderr)
	}
}

// TestTrainLoRAFlags: the flags land in the configuration's lora section,
// and settings out of range are named by flag.
func TestTrainLoRAFlags(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "train", "sft", "--print-config", "--lora", "--lora-rank", "4", "--lora-targets", "q,v", "--train-embeddings")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var cfg struct {
		LoRA struct {
			Enabled         bool     `json:"enabled"`
			Rank            int      `json:"rank"`
			Alpha           float64  `json:"alpha"`
			Targets         []string `json:"targets"`
			TrainEmbeddings bool     `json:"train_embeddings"`
		} `json:"lora"`
	}
	if err := json.Unmarshal([]byte(stdout), &cfg); err != nil {
		t.Fatal(err)
	}
	if l := cfg.LoRA; !l.Enabled || l.Rank != 4 || l.Alpha != 0 || strings.Join(l.Targets, ",") != "q,v" || !l.TrainEmbeddings {
		t.Errorf("lora section %+v", l)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lora", "--lora-rank", "0"}, "--lora-rank"},
		{[]string{"--lora", "--lora-dropout", "1"}, "--lora-dropout"},
		{[]string{"--lora", "--lora-targets", "q,attn"}, `"attn"`},
		{[]string{"--train-embeddings"}, "--train-embeddings goes with --lora"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"train", "sft", "--print-config"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestTrainPretrainLoRA continues pretraining with adapters over a model
// (Chinese-LLaMA's path, embeddings trained whole): the loss falls, the run
// writes OUT/adapter.gguf holding the pairs and the embeddings, and a run
// stopped after 3 steps and resumed to 6 writes the very same adapter as a
// straight run of 6 (the checkpoint holds the adapters and their moments).
func TestTrainPretrainLoRA(t *testing.T) {
	text, vocab, config := trainFixture(t)
	base := filepath.Join(t.TempDir(), "base.gguf")
	if _, errOut, code := runCLI(t, "", "init", base, "--dim", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "64", "--vocab-from", vocab, "--quiet"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	args := []string{"train", "pretrain", text, "--init", base, "--config", config, "--lora", "--lora-rank", "4", "--train-embeddings", "--lr", "3e-2"}
	straight := t.TempDir()
	if _, errOut, code := runCLI(t, "", append(args, "--steps", "6", "--out", straight)...); code != 0 {
		t.Fatalf("train pretrain --lora: exit %d\n%s", code, errOut)
	}
	log := readLog(t, straight)
	if len(log) != 6 || !(log[5].Loss < log[0].Loss) {
		t.Fatalf("log %+v", log)
	}
	a, err := os.ReadFile(filepath.Join(straight, adapterName))
	if err != nil {
		t.Fatal(err)
	}
	af, err := gguf.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	_, hasEmbd := af.Tensor("token_embd.weight")
	_, hasQ := af.Tensor("blk.1.attn_q.weight.lora_b")
	if !hasEmbd || !hasQ {
		t.Errorf("adapter.gguf: token_embd.weight %v, blk.1.attn_q.weight.lora_b %v", hasEmbd, hasQ)
	}
	split := t.TempDir()
	if _, errOut, code := runCLI(t, "", append(args, "--steps", "3", "--out", split)...); code != 0 {
		t.Fatalf("first half: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "train", "pretrain", "--out", split, "--resume", "--steps", "6"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(filepath.Join(split, adapterName))
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("the resumed run's adapter differs from the straight run's (%v)", err)
	}
	if _, errOut, code := runCLI(t, "", "train", "pretrain", text, "--vocab", vocab, "--lora", "--out", t.TempDir()); code == 0 || !strings.Contains(errOut, "needs model.init (--init)") {
		t.Errorf("--lora without --init: exit %d, %q", code, errOut)
	}
}
