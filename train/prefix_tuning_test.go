// Reference: Li and Liang 2021 §4 (only the prefix trains; the model is frozen); the SFT loop's exact resume
// (sft_test.go).

package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// heldOutLoss is the mean cross-entropy over the trained tokens of ex,
// each example scored alone by m.
func heldOutLoss(t *testing.T, m *model.Trainable, ex []Example) float64 {
	t.Helper()
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	var sum float64
	var n int
	for _, x := range ex {
		k := len(x.Tokens) - 1
		targets := make([]int32, k)
		count := 0
		for i := range targets {
			targets[i] = -1
			if x.Train[i+1] {
				targets[i] = x.Tokens[i+1]
				count++
			}
		}
		tp.Reset()
		l := m.Loss(tp, x.Tokens[:k], targets, k)
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		sum += float64(l.Data[0]) * float64(count)
		n += count
	}
	return sum / float64(n)
}

// TestPrefixTuningSFT: SFT of a prefix over a frozen Q8_0 base on a made
// task (every answer is the same four tokens, after prompts that differ)
// lowers the loss on held-out prompts it never trained on, trains the
// prefix alone (the base file unchanged byte for byte), and six steps
// equal three, a checkpoint and three more resumed, bit for bit.
func TestPrefixTuningSFT(t *testing.T) {
	path, c := loraBase(t, tensor.Q8_0)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const P = 4
	newModel := func() *model.Trainable {
		m, err := model.PrefixTuningTrainableFromGGUF(f, model.PrefixTuningOptions{Tokens: P, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	made := func(i int32) Example {
		return Example{Tokens: []int32{1, 3 + i, 20 - i, 33, 34, 35, 36}, Train: []bool{false, false, false, true, true, true, true}}
	}
	var trainEx, heldEx []Example
	for i := range int32(8) {
		trainEx = append(trainEx, made(i))
	}
	for i := range int32(4) {
		heldEx = append(heldEx, made(12+i)) // prompts no training example has
	}
	trainEx, heldEx = PrependVirtual(trainEx, P), PrependVirtual(heldEx, P)
	run := func(m *model.Trainable, ckpt string, stopAt int) []StepReport {
		pool := tensor.NewPool(2)
		defer pool.Close()
		cfg := SFTConfig{
			PretrainConfig: PretrainConfig{
				Steps: 6, StopAt: stopAt, ClipNorm: 1, Accum: 1,
				Schedule:  Schedule{MaxLR: 5e-2, MinLR: 5e-3, Warmup: 1, Decay: 6},
				AdamW:     AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8},
				EvalEvery: 3, CheckpointPath: ckpt, CheckpointEvery: 3,
			},
			B: 2, T: c.CtxTrain, Pack: true, Seed: 3,
		}
		var reps []StepReport
		if err := SFT(context.Background(), m, pool, trainEx, heldEx, cfg, func(r StepReport) error { reps = append(reps, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return reps
	}
	dir := t.TempDir()
	a := newModel()
	init := make([][]float32, len(a.Params()))
	for i, p := range a.Params() {
		init[i] = slices.Clone(p.Data)
	}
	heldBefore := heldOutLoss(t, a, heldEx)
	ra := run(a, filepath.Join(dir, "a.ckpt"), 0)
	heldAfter := heldOutLoss(t, a, heldEx)
	run(newModel(), filepath.Join(dir, "b.ckpt"), 3)
	b := newModel()
	rb := run(b, filepath.Join(dir, "b.ckpt"), 0)
	if len(ra) != 6 || len(rb) != 3 || !rb[0].Resumed || ra[5].EvalLoss != rb[2].EvalLoss {
		t.Fatalf("reports: %d and %d, resumed %v, eval %v / %v", len(ra), len(rb), rb[0].Resumed, ra[5].EvalLoss, rb[2].EvalLoss)
	}
	if len(a.Params()) != 2*c.Layers {
		t.Fatalf("%d parameters, want %d", len(a.Params()), 2*c.Layers)
	}
	for i, p := range a.Params() {
		if !slices.Equal(p.Data, b.Params()[i].Data) {
			t.Fatalf("%s differs after the resumed run", p.Name)
		}
		if slices.Equal(p.Data, init[i]) {
			t.Fatalf("%s did not change", p.Name)
		}
	}
	t.Logf("train loss %.4f → %.4f in 6 steps; held-out %.4f → %.4f (eval %.4f)", ra[0].Loss, ra[5].Loss, heldBefore, heldAfter, ra[5].EvalLoss)
	if !(heldAfter < heldBefore-0.1) {
		t.Errorf("held-out loss did not fall: %.4f → %.4f", heldBefore, heldAfter)
	}
	if d := ra[5].EvalLoss - heldAfter; d > 1e-4 || d < -1e-4 {
		t.Errorf("the loop's evaluation %.6f differs from the examples scored alone %.6f", ra[5].EvalLoss, heldAfter)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the base file changed")
	}
}

func TestPrefixTuningConfigChecks(t *testing.T) {
	for _, tc := range []struct {
		c      PrefixTuningConfig
		lora   bool
		prompt int
		want   string
	}{
		{PrefixTuningConfig{VirtualTokens: -1}, false, 0, "must not be negative"},
		{PrefixTuningConfig{InitText: "x"}, false, 0, "needs prefix_tuning.virtual_tokens"},
		{PrefixTuningConfig{VirtualTokens: 4}, true, 0, "and LoRA (--lora) are two kinds of adapter"},
		{PrefixTuningConfig{VirtualTokens: 4}, false, 4, "and prompt tuning (--prompt-tuning) are two kinds"},
		{PrefixTuningConfig{VirtualTokens: 255}, false, 0, "leaves no room"},
		{PrefixTuningConfig{VirtualTokens: 4, Projection: -2}, false, 0, "must be in 0 … 65536"},
		{PrefixTuningConfig{Projection: 64}, false, 0, "needs prefix_tuning.virtual_tokens"},
	} {
		errs := tc.c.check(LoRAConfig{Enabled: tc.lora, Rank: 1}, PromptTuningConfig{VirtualTokens: tc.prompt}, 256)
		if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
			t.Errorf("%+v lora %v prompt %d: %v, want %q", tc.c, tc.lora, tc.prompt, errs, tc.want)
		}
	}
	if errs := (PrefixTuningConfig{VirtualTokens: 20, InitText: "Answer"}).check(LoRAConfig{Rank: 1}, PromptTuningConfig{}, 256); len(errs) != 0 {
		t.Errorf("a good config: %v", errs)
	}
	c := DefaultSFTConfig()
	c.Data.Train = []string{"x.json"}
	c.PrefixTuning.VirtualTokens = 300
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "prefix_tuning.virtual_tokens") {
		t.Errorf("Validate: %v", err)
	}
	c.PrefixTuning.VirtualTokens = 10
	if err := c.Validate(); err != nil || c.VirtualTokens() != 10 {
		t.Errorf("Validate: %v, %d virtual tokens", err, c.VirtualTokens())
	}
}
