// Reference: ggml tests/test-grad0.c (gradients against central differences), for the encoder's ops.

package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// TestEncoderOpGradients checks AttentionPacked (three texts of unequal
// length, so a wrong mask or a row crossing texts shows), MeanRows,
// NormalizeRows and the InfoNCE loss built from them against central
// differences, with checkTape's bounds.
func TestEncoderOpGradients(t *testing.T) {
	pool := tensor.NewPool(3)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const H, D = 2, 3
	lens := []int{2, 4, 1}
	q, k, v := param(t, rng, "q", 7, H*D), param(t, rng, "k", 7, H*D), param(t, rng, "v", 7, H*D)
	checkTape(t, "attention_packed", pool, []*Var{q, k, v}, func(tp *Tape) *Var {
		return tp.AttentionPacked(q, k, v, lens, H, D)
	})
	checkTape(t, "mean_rows", pool, []*Var{q}, func(tp *Tape) *Var { return tp.MeanRows(q, lens) })
	checkTape(t, "normalize_rows", pool, []*Var{q}, func(tp *Tape) *Var { return tp.NormalizeRows(q, 2.5) })

	theta := param(t, rng, "log_scale", 1)
	theta.Data[0] = 0.7
	checkTape(t, "scale_by_exp", pool, []*Var{q, theta}, func(tp *Tape) *Var { return tp.ScaleByExp(q, theta) })

	// InfoNCE: 3 queries against 3 positives and 1 hard negative.
	a, p := param(t, rng, "queries", 3, 5), param(t, rng, "passages", 4, 5)
	checkTape(t, "info_nce", pool, []*Var{a, p}, func(tp *Tape) *Var {
		logits := tp.Linear(tp.NormalizeRows(a, 2), tp.NormalizeRows(p, 2), nil)
		return tp.CrossEntropy(logits, []int32{0, 1, 2}, -1)
	})
}

// TestAttentionPackedIsolatesTexts checks that a text's output does not
// change when another text's values do.
func TestAttentionPackedIsolatesTexts(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	q, k, v := param(t, rng, "q", 5, 4), param(t, rng, "k", 5, 4), param(t, rng, "v", 5, 4)
	tp := NewTape(pool)
	y1 := append([]float32(nil), tp.AttentionPacked(q, k, v, []int{2, 3}, 2, 2).Data...)
	for i := 2 * 4; i < 5*4; i++ { // the second text's keys and values
		k.Data[i], v.Data[i] = -k.Data[i], 3*v.Data[i]
	}
	tp.Reset()
	y2 := tp.AttentionPacked(q, k, v, []int{2, 3}, 2, 2).Data
	for i := range 2 * 4 {
		if y1[i] != y2[i] {
			t.Fatalf("row %d of the first text changed with the second text's keys and values", i/4)
		}
	}
	tp.Reset()
	if tp.AttentionPacked(q, k, v, []int{2, 2}, 2, 2); tp.Err() == nil {
		t.Error("lengths that do not tile the rows were accepted")
	}
}
