// Reference: Lester et al. 2021 §2 (only the prompt trains; the model is frozen); the SFT loop's exact resume
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
)

// TestPrependVirtual: the virtual ids in front, never trained, the spans
// moved with the tokens, the input examples unchanged.
func TestPrependVirtual(t *testing.T) {
	ex := []Example{{Tokens: []int32{1, 7, 8, 9}, Train: []bool{false, false, true, true}, Spans: [][2]int{{2, 4}}}}
	got := PrependVirtual(ex, 3)
	want := Example{Tokens: []int32{-1, -2, -3, 1, 7, 8, 9}, Train: []bool{false, false, false, false, false, true, true}, Spans: [][2]int{{5, 7}}}
	if !slices.Equal(got[0].Tokens, want.Tokens) || !slices.Equal(got[0].Train, want.Train) || !slices.Equal(got[0].Spans, want.Spans) {
		t.Fatalf("got %+v, want %+v", got[0], want)
	}
	if ex[0].Tokens[0] != 1 || len(ex[0].Train) != 4 || got[0].Trained() != ex[0].Trained() {
		t.Fatalf("input changed or trained count moved: %+v", ex[0])
	}
}

// TestPromptTuningSFT: SFT of a prompt over a frozen Q8_0 base lowers the
// loss, trains the table alone (the base file unchanged byte for byte),
// and six steps equal three, a checkpoint and three more resumed, bit for
// bit; the virtual tokens' rows are never targets.
func TestPromptTuningSFT(t *testing.T) {
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
		m, err := model.PromptTuningTrainableFromGGUF(f, model.PromptTuningOptions{Tokens: P, Init: []int32{3, 4}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Answers the frozen random model does not give: the prompt must learn them.
	var ex []Example
	for i := range int32(4) {
		ex = append(ex, Example{Tokens: []int32{1, 10 + i, 20 + i, 33, 34, 35, 36}, Train: []bool{false, false, false, true, true, true, true}})
	}
	ex = PrependVirtual(ex, P)
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
		if err := SFT(context.Background(), m, pool, ex, ex[:1], cfg, func(r StepReport) error { reps = append(reps, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return reps
	}
	dir := t.TempDir()
	a := newModel()
	init := slices.Clone(a.Params()[0].Data)
	ra := run(a, filepath.Join(dir, "a.ckpt"), 0)
	run(newModel(), filepath.Join(dir, "b.ckpt"), 3)
	b := newModel()
	rb := run(b, filepath.Join(dir, "b.ckpt"), 0)
	if len(ra) != 6 || len(rb) != 3 || !rb[0].Resumed || ra[5].EvalLoss != rb[2].EvalLoss {
		t.Fatalf("reports: %d and %d, resumed %v, eval %v / %v", len(ra), len(rb), rb[0].Resumed, ra[5].EvalLoss, rb[2].EvalLoss)
	}
	if len(a.Params()) != 1 || !slices.Equal(a.Params()[0].Data, b.Params()[0].Data) {
		t.Fatal("the prompt differs after the resumed run")
	}
	if slices.Equal(a.Params()[0].Data, init) {
		t.Fatal("the prompt did not change")
	}
	t.Logf("loss %.4f → %.4f in 6 steps", ra[0].Loss, ra[5].Loss)
	if !(ra[5].Loss < ra[0].Loss-0.1) {
		t.Errorf("loss did not fall: %.4f → %.4f", ra[0].Loss, ra[5].Loss)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the base file changed")
	}
}

func TestPromptTuningConfigChecks(t *testing.T) {
	for _, tc := range []struct {
		c    PromptTuningConfig
		lora bool
		want string
	}{
		{PromptTuningConfig{VirtualTokens: -1}, false, "must not be negative"},
		{PromptTuningConfig{InitText: "x"}, false, "needs prompt_tuning.virtual_tokens"},
		{PromptTuningConfig{VirtualTokens: 4}, true, "train one at a time"},
		{PromptTuningConfig{VirtualTokens: 255}, false, "leaves no room"},
	} {
		errs := tc.c.check(LoRAConfig{Enabled: tc.lora, Rank: 1}, 256)
		if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
			t.Errorf("%+v lora %v: %v, want %q", tc.c, tc.lora, errs, tc.want)
		}
	}
	if errs := (PromptTuningConfig{VirtualTokens: 20, InitText: "Answer"}).check(LoRAConfig{Rank: 1}, 256); len(errs) != 0 {
		t.Errorf("a good config: %v", errs)
	}
}
