// Reference: Vicuna / LLaMA-Factory (only the assistant's tokens carry loss); Krell et al. 2021 (a packed
// example scores as it does alone); nanoGPT train.py (init_from='resume' continues the run exactly).

package train

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train/autograd"
)

// sftModel is a random two-layer llama (GQA, tied head) over the byte
// tokenizer's vocabulary.
func sftModel(t *testing.T, vocab int) *model.Trainable {
	t.Helper()
	c, err := model.ArchConfig("llama")
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = vocab, 32, 2, 4, 2, 8, 48, 256
	c.RopeDims = c.HeadDim
	m, err := model.NewRandomTrainable(c, model.InitOptions{Seed: 7, Std: 0.2, Tied: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sftExamples(t *testing.T, trainOnPrompt bool) []Example {
	t.Helper()
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	enc := &Encoder{Template: tmpl, Tok: byteTokenizer(t), TrainOnPrompt: trainOnPrompt}
	convs := []Conversation{multiTurn,
		{Messages: []chat.Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello."}}},
		{Messages: []chat.Message{{Role: "system", Content: "S"}, {Role: "user", Content: "Colour?"}, {Role: "assistant", Content: "Red"}}},
	}
	ex, _, err := PrepareSFT(enc, convs, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// gradsOf runs one forward and backward of m on the batch and returns the
// loss and a copy of every gradient.
func gradsOf(t *testing.T, m SFTModel, pool *tensor.Pool, x, y, seg []int32, T int) (float64, [][]float32) {
	t.Helper()
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	tp := autograd.NewTape(pool)
	l := tp.CrossEntropy(m.LogitsSegments(tp, x, T, seg), y, -1)
	if err := tp.Backward(l, 1); err != nil {
		t.Fatal(err)
	}
	var g [][]float32
	for _, p := range m.Params() {
		g = append(g, slices.Clone(p.Grad))
	}
	return float64(l.Data[0]), g
}

func sameGrads(a, b [][]float32) bool {
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// batchOf fills one row of T positions with ex (packed when pack).
func batchOf(t *testing.T, ex []Example, T int, pack bool) (x, y, seg []int32) {
	t.Helper()
	s := &segments{}
	b, err := newSFTBatches(ex, 1, T, pack, false, 0, 0, s)
	if err != nil {
		t.Fatal(err)
	}
	x, y = make([]int32, T), make([]int32, T)
	if err := b.Next(x, y); err != nil {
		t.Fatal(err)
	}
	return x, y, slices.Clone(s.ids)
}

// TestSFTMasking: with the default masking, changing the target tokens of
// the system and user turns leaves every gradient unchanged, bit for bit,
// while changing one assistant token changes them; with TrainOnPrompt the
// same change to a user token does change them (so the check can fail).
func TestSFTMasking(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	ex := sftExamples(t, false)[0] // the multi-turn conversation
	m := sftModel(t, byteTokenizer(t).VocabSize())
	T := len(ex.Tokens) - 1
	x, y, _ := batchOf(t, []Example{ex}, T, false)
	_, base := gradsOf(t, m, pool, x, y, nil, T)

	// The targets the same example yields once the tokens of every prompt
	// position (system, user, markup) are replaced.
	altered := func(x Example, trainable bool) Example {
		z := Example{Tokens: slices.Clone(x.Tokens), Train: x.Train, Spans: x.Spans}
		for i := 1; i < len(z.Tokens); i++ {
			if z.Train[i] == trainable {
				z.Tokens[i] = (z.Tokens[i] + 1) % 256
				if trainable {
					break // one assistant token is enough
				}
			}
		}
		return z
	}
	_, y2, _ := batchOf(t, []Example{altered(ex, false)}, T, false)
	if !slices.Equal(y, y2) {
		t.Fatal("changing prompt tokens changed the targets")
	}
	_, g := gradsOf(t, m, pool, x, y2, nil, T)
	if !sameGrads(base, g) {
		t.Fatal("changing the user/system targets changed the gradients")
	}
	_, y3, _ := batchOf(t, []Example{altered(ex, true)}, T, false)
	if _, g = gradsOf(t, m, pool, x, y3, nil, T); sameGrads(base, g) {
		t.Fatal("changing an assistant target left the gradients unchanged")
	}

	all := sftExamples(t, true)[0]
	x, y, _ = batchOf(t, []Example{all}, T, false)
	_, base = gradsOf(t, m, pool, x, y, nil, T)
	z := Example{Tokens: slices.Clone(all.Tokens), Train: all.Train}
	z.Tokens[3] = (z.Tokens[3] + 1) % 256 // inside the system turn
	_, y2, _ = batchOf(t, []Example{z}, T, false)
	if _, g = gradsOf(t, m, pool, x, y2, nil, T); sameGrads(base, g) {
		t.Fatal("train on prompt: changing a system target left the gradients unchanged")
	}
}

// TestSFTPackedEqualsAlone: an example's loss and gradients are those it
// has alone, when packed behind others: attention stays inside it, and
// RoPE sees only distances (positions run on through the row). Changing
// the example before it changes nothing at all.
func TestSFTPackedEqualsAlone(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	ex := sftExamples(t, false)
	m := sftModel(t, byteTokenizer(t).VocabSize())
	packed := []Example{ex[1], ex[2], ex[0]} // the long one last, at an offset
	T := 0
	for _, e := range packed {
		T += len(e.Tokens) - 1
	}
	T += 5 // and some padding
	x, y, seg := batchOf(t, packed, T, true)
	// Keep only the last example's targets.
	off := T - 5 - (len(ex[0].Tokens) - 1)
	for i := range off {
		y[i] = -1
	}
	lp, gp := gradsOf(t, m, pool, x, y, seg, T)
	xa, ya, _ := batchOf(t, []Example{ex[0]}, T, false)
	la, ga := gradsOf(t, m, pool, xa, ya, nil, T)
	// float32 rounding through two layers, RoPE's angles at other
	// positions: a relative 1e-5 on the loss (measured 1e-7), and on
	// gradients atol 1e-5 + rtol 1e-3.
	if math.Abs(lp-la) > 1e-5*math.Abs(la) {
		t.Fatalf("packed loss %.9g, alone %.9g", lp, la)
	}
	worst := 0.0
	for i := range ga {
		for j := range ga[i] {
			d := math.Abs(float64(gp[i][j] - ga[i][j]))
			worst = max(worst, d/(1e-5+1e-3*math.Abs(float64(ga[i][j]))))
		}
	}
	if worst > 1 {
		t.Fatalf("packed gradients differ from alone by %.3g of the bound", worst)
	}
	t.Logf("loss packed %.9g alone %.9g; worst gradient difference %.3g of the bound", lp, la, worst)

	// Cross-contamination: other tokens in the examples before it.
	x2 := slices.Clone(x)
	for i := 1; i < off; i++ {
		x2[i] = (x2[i] + 7) % 256
	}
	if l2, g2 := gradsOf(t, m, pool, x2, y, seg, T); l2 != lp || !sameGrads(g2, gp) {
		t.Fatal("changing the earlier examples of the row changed the last one's loss or gradients")
	}
	// Without the segments the same change leaks in (the check can fail).
	l1, _ := gradsOf(t, m, pool, x, y, nil, T)
	if l3, _ := gradsOf(t, m, pool, x2, y, nil, T); l3 == l1 {
		t.Fatal("without segments, the earlier examples should be seen")
	}
}

func TestSFTBatchesPackingAndState(t *testing.T) {
	ex := sftExamples(t, false)
	T := len(ex[0].Tokens) - 1
	if n := PackedRows(ex, T, true); n != 2 {
		t.Fatalf("packing into %d-position rows: %d rows, want 2 (the long one alone, the two short together)", T, n)
	}
	if n := PackedRows(ex, T, false); n != 3 {
		t.Fatalf("padding: %d rows, want 3", n)
	}
	s := &segments{}
	b, err := newSFTBatches(ex, 2, T, true, true, 9, 0, s)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int32, 2*T), make([]int32, 2*T)
	var seen [][]int32
	for range 5 {
		if err := b.Next(x, y); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, slices.Clone(x))
	}
	st, _ := b.State()
	if st.Epoch < 2 {
		t.Fatalf("after 10 rows of a 2-row epoch: epoch %d", st.Epoch)
	}
	// A fresh batcher restored to a saved position continues identically.
	b2, _ := newSFTBatches(ex, 2, T, true, true, 9, 0, &segments{})
	for range 2 {
		b2.Next(x, y)
	}
	st2, _ := b2.State()
	b3, _ := newSFTBatches(ex, 2, T, true, true, 9, 0, &segments{})
	if err := b3.Restore(st2); err != nil {
		t.Fatal(err)
	}
	for k := 2; k < 5; k++ {
		b3.Next(x, y)
		if !slices.Equal(x, seen[k]) {
			t.Fatalf("batch %d after Restore differs", k)
		}
	}
	if err := b3.Restore(LoaderState{Pos: 99}); err == nil {
		t.Fatal("a position beyond the epoch was accepted")
	}
	if _, err := newSFTBatches([]Example{{Tokens: make([]int32, T+2), Train: make([]bool, T+2)}}, 1, T, true, true, 0, 0, s); err == nil {
		t.Fatal("an example longer than T+1 was accepted")
	}
	// Evaluation batches: one pass covers every example and pads the
	// last batch with empty rows; the next pass starts over.
	v, _ := newSFTBatches(ex, 2, T, false, false, 0, 0, &segments{})
	if v.PassBatches() != 2 {
		t.Fatalf("3 padded rows in batches of 2: %d batches a pass", v.PassBatches())
	}
	var first []int32
	for i := range 3 {
		v.Next(x, y)
		if i == 0 {
			first = slices.Clone(x)
		}
		if i == 1 && slices.ContainsFunc(y[T:], func(t int32) bool { return t >= 0 }) {
			t.Fatal("the padding row of the last batch has targets")
		}
	}
	if !slices.Equal(x, first) {
		t.Fatal("the second pass does not start over")
	}
}

// TestSFTResume: six steps in one go equal three, a stop with a
// checkpoint, and three more resumed from it, bit for bit.
func TestSFTResume(t *testing.T) {
	ex := sftExamples(t, false)
	vocab := byteTokenizer(t).VocabSize()
	run := func(m *model.Trainable, ckpt string, stopAt int) []StepReport {
		pool := tensor.NewPool(2)
		defer pool.Close()
		cfg := SFTConfig{
			PretrainConfig: PretrainConfig{
				Steps: 6, StopAt: stopAt, Accum: 2, ClipNorm: 1,
				Schedule:  Schedule{MaxLR: 1e-2, MinLR: 1e-3, Warmup: 2, Decay: 6},
				AdamW:     AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01},
				EvalEvery: 3, CheckpointPath: ckpt, CheckpointEvery: 3,
			},
			B: 1, T: 64, Pack: true, Seed: 3,
		}
		var reps []StepReport
		short := []Example{ex[1], ex[2], ex[1], ex[2]}
		if err := SFT(context.Background(), m, pool, short, ex[1:2], cfg, func(r StepReport) error { reps = append(reps, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return reps
	}
	dir := t.TempDir()
	a := sftModel(t, vocab)
	ra := run(a, filepath.Join(dir, "a.ckpt"), 0)
	b := sftModel(t, vocab)
	run(b, filepath.Join(dir, "b.ckpt"), 3)
	b2 := sftModel(t, vocab) // a new process: fresh weights, then the checkpoint
	rb := run(b2, filepath.Join(dir, "b.ckpt"), 0)
	if len(ra) != 6 || len(rb) != 3 || !rb[0].Resumed || math.IsNaN(ra[2].EvalLoss) || ra[5].EvalLoss != rb[2].EvalLoss {
		t.Fatalf("reports: %d and %d, resumed %v, eval %v / %v", len(ra), len(rb), rb[0].Resumed, ra[5].EvalLoss, rb[2].EvalLoss)
	}
	for i, p := range a.Params() {
		if !slices.Equal(p.Data, b2.Params()[i].Data) {
			t.Fatalf("parameter %s differs after the resumed run", p.Name)
		}
	}
	if ra[5].Loss >= ra[0].Loss {
		t.Errorf("loss did not fall: %.4f → %.4f", ra[0].Loss, ra[5].Loss)
	}
}
