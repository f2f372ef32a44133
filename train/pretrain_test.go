// Reference: nanoGPT train.py (init_from='resume' continues the run exactly where the checkpoint left it).

package train

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// The toy model as a train.Model.
func (m *tinyLlama) Params() []*autograd.Var { return m.params() }
func (m *tinyLlama) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	return m.forward(tp, tokens, targets, T)
}

// cycleShard writes a shard of a 9-token cycle over an 11-token vocabulary.
func cycleShard(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "cycle")
	pattern := []int32{1, 5, 2, 9, 3, 7, 4, 10, 6}
	toks := make([]int32, 0, 640)
	for len(toks) < 640 {
		toks = append(toks, pattern...)
	}
	writeTokens(t, p, 11, toks)
	return p
}

func pretrainRun(t *testing.T, m *tinyLlama, shard, ckpt string, steps int, report func(StepReport) error) error {
	t.Helper()
	return pretrainRunStop(t, m, shard, ckpt, steps, 0, report)
}

func pretrainRunStop(t *testing.T, m *tinyLlama, shard, ckpt string, steps, stopAt int, report func(StepReport) error) error {
	t.Helper()
	pool := tensor.NewPool(2)
	defer pool.Close()
	trainData, err := NewLoader([]string{shard}, 2, 8, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	evalData, err := NewLoader([]string{shard}, 2, 8, true, 5)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PretrainConfig{
		Steps: steps, StopAt: stopAt, Accum: 2, ClipNorm: 1,
		Schedule:  Schedule{MaxLR: 3e-2, MinLR: 3e-3, Warmup: 3, Decay: 30},
		AdamW:     AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01},
		EvalEvery: 10, EvalBatches: 2,
		CheckpointPath: ckpt, CheckpointEvery: 10, Meta: map[string]string{"arch": "toy"},
	}
	return Pretrain(context.Background(), m, pool, trainData, evalData, cfg, report)
}

// TestPretrainLearnsAndResumes: 30 steps of 2 accumulated micro-batches
// learn the cycle (loss falls below a tenth of its start, evaluations at
// steps 10, 20, 30); a run stopped after 20 steps and resumed from its
// checkpoint, into a model with other weights and fresh loaders, ends with
// the very weights of the straight run, and its evaluation at step 30 draws
// the same batches (the evaluation loader's position is checkpointed too),
// so it gives the same loss, bit for bit.
func TestPretrainLearnsAndResumes(t *testing.T) {
	dir := t.TempDir()
	shard := cycleShard(t, dir)

	straight := newTinyLlama(t, 2, 0.02)
	var reps []StepReport
	if err := pretrainRun(t, straight, shard, filepath.Join(dir, "a.ckpt"), 30, func(r StepReport) error {
		reps = append(reps, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first, last := reps[0], reps[len(reps)-1]
	t.Logf("loss %.4f → %.4f, eval %.4f, over %d steps", first.Loss, last.Loss, last.EvalLoss, len(reps))
	if len(reps) != 30 || last.Loss > first.Loss/10 || last.Tokens != 2*2*8 {
		t.Fatalf("%d steps, loss %.4f → %.4f, %d tokens a step", len(reps), first.Loss, last.Loss, last.Tokens)
	}
	for _, r := range reps {
		if evaluated := !math.IsNaN(r.EvalLoss); evaluated != (r.Step%10 == 0) {
			t.Fatalf("step %d: eval loss %v", r.Step, r.EvalLoss)
		}
		if (r.Setup > 0) != (r.Step == 1) { // the session's start is reported once, with its first step
			t.Fatalf("step %d: setup %v", r.Step, r.Setup)
		}
	}

	// The first session stops at step 20 of 30 (StopAt: the schedule still
	// runs to 30), saving its checkpoint there and evaluating nowhere else
	// than the straight run did.
	ckpt := filepath.Join(dir, "b.ckpt")
	var stopped []StepReport
	if err := pretrainRunStop(t, newTinyLlama(t, 2, 0.02), shard, ckpt, 30, 20, func(r StepReport) error {
		stopped = append(stopped, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(stopped); n != 20 || !stopped[n-1].Saved {
		t.Fatalf("stopped session: %d steps, last %+v", n, stopped[n-1])
	}
	for i, r := range stopped {
		if r.Loss != reps[i].Loss || (r.Step%10 == 0) != r.Saved {
			t.Fatalf("stopped session step %d: loss %v saved %v; straight loss %v", r.Step, r.Loss, r.Saved, reps[i].Loss)
		}
	}
	resumed := newTinyLlama(t, 77, 0.5)
	var firstResumed, lastResumed StepReport
	if err := pretrainRun(t, resumed, shard, ckpt, 30, func(r StepReport) error {
		if firstResumed.Step == 0 {
			firstResumed = r
		}
		lastResumed = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if firstResumed.Step != 21 || !firstResumed.Resumed || firstResumed.Setup <= 0 {
		t.Fatalf("the resumed run began with %+v, want step 21, resumed", firstResumed)
	}
	if lastResumed.Step != 30 || lastResumed.Loss != last.Loss || lastResumed.EvalLoss != last.EvalLoss {
		t.Errorf("step %d resumed: loss %v, eval %v; straight: %v, %v", lastResumed.Step, lastResumed.Loss, lastResumed.EvalLoss, last.Loss, last.EvalLoss)
	}
	for i, p := range resumed.params() {
		q := straight.params()[i]
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(q.Data[j]) {
				t.Fatalf("%s[%d] = %v resumed, %v straight", p.Name, j, p.Data[j], q.Data[j])
			}
		}
	}
}

// TestPretrainCancel: cancelling stops the run with ctx's error after
// writing a checkpoint of the steps done.
func TestPretrainCancel(t *testing.T) {
	dir := t.TempDir()
	shard := cycleShard(t, dir)
	ckpt := filepath.Join(dir, "c.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	m := newTinyLlama(t, 3, 0.02)
	pool := tensor.NewPool(1)
	defer pool.Close()
	data, err := NewLoader([]string{shard}, 2, 8, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PretrainConfig{Steps: 50, Schedule: Schedule{MaxLR: 1e-2, MinLR: 1e-3, Decay: 50}, AdamW: DefaultAdamW, CheckpointPath: ckpt}
	err = Pretrain(ctx, m, pool, data, nil, cfg, func(r StepReport) error {
		if r.Step == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	opt, _ := NewAdamW(m.params(), DefaultAdamW, nil)
	ck, err := LoadCheckpoint(ckpt, opt)
	if err != nil || ck.Step != 5 || ck.Loader.Pos != 5*16 {
		t.Fatalf("checkpoint after cancelling: step %d, loader %+v, %v", ck.Step, ck.Loader, err)
	}
	if err := Pretrain(context.Background(), m, pool, data, nil, PretrainConfig{}, nil); err == nil {
		t.Fatal("0 steps accepted")
	}
}
