// Reference: ggml tests/test-grad0.c (gradients against central differences through the graph).

package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// TestLogProbGradients checks TargetLogProbs (ignored rows get no
// gradient) and Func (a caller's scalar and its derivative) on the tape.
func TestLogProbGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	x, w := param(t, rng, "x", 6, 4), param(t, rng, "w", 5, 4)
	targets := []int32{1, -1, 4, 0, -1, 2}
	checkTape(t, "target_logprobs", pool, []*Var{x, w}, func(tp *Tape) *Var {
		return tp.TargetLogProbs(tp.Linear(x, w, nil), targets, -1)
	})
	// Func: Σ v², whose derivative 2v the caller supplies.
	checkTape(t, "func", pool, []*Var{x}, func(tp *Tape) *Var {
		return tp.Func("sum_sq", tp.GELU(x), func(v []float32) (float64, []float64) {
			var s float64
			d := make([]float64, len(v))
			for i, e := range v {
				s += float64(e) * float64(e)
				d[i] = 2 * float64(e)
			}
			return s, d
		})
	})
	tp := NewTape(pool)
	if tp.TargetLogProbs(tp.Linear(x, w, nil), []int32{1, 5, 0, 0, 0, 0}, -1); tp.Err() == nil {
		t.Error("a target outside the vocabulary passed")
	}
	tp.Reset()
	if tp.Func("short", x, func(v []float32) (float64, []float64) { return 1, nil }); tp.Err() == nil {
		t.Error("a gradient of the wrong length passed")
	}
}
