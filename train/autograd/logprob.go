// Reference: Rafailov et al. 2023, "Direct Preference Optimization" §4 (a sequence's log-likelihood
// log π(y|x) = Σ_t log π(y_t | x, y_<t)); Ouyang et al. 2022 §3.5 and Schulman et al. 2017 (PPO) for the
// per-sequence losses that Func carries; the per-row softmax is kernel.CrossEntropy's.

package autograd

import (
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// TargetLogProbs returns log softmax(logits[n])[targets[n]] for each row
// of logits [N, V]: a [N] vector, 0 where the target is ignore. Unlike
// CrossEntropy it keeps the rows apart, so that preference losses (DPO,
// PPO's ratio) can weigh each sequence's tokens by their own factor.
// Each row's softmax is kernel.CrossEntropy's, as the SFT loss computes it.
func (t *Tape) TargetLogProbs(logits *Var, targets []int32, ignore int32) *Var {
	if t.err != nil {
		return t.dead
	}
	N, V := logits.Rows(), logits.Cols()
	if len(targets) != N {
		return t.fail("target log-probs: %d targets for %d rows of logits", len(targets), N)
	}
	for i, tg := range targets {
		if tg != ignore && (tg < 0 || int(tg) >= V) {
			return t.fail("target log-probs: target %d at index %d is outside the vocabulary of %d", tg, i, V)
		}
	}
	y := t.out("target_logprobs", []int{N}, logits)
	// The softmax rows are not kept for the backward (N·V floats, as much
	// as the logits): it computes them again from the logits, which live
	// until Reset. Each chunk of rows (lpChunk) has a row of scratch of
	// its own.
	rowLogProbs := func(s, e int, each func(n int, nll float64, d []float32)) {
		d := make([]float32, V)
		for n := s; n < e; n++ {
			nll, _ := kernel.CrossEntropy(d, logits.Data[n*V:(n+1)*V], targets[n:n+1], V, ignore, 1)
			each(n, nll, d) // d = softmax − onehot(target), the gradient of −log p
		}
	}
	t.pool.For(N, lpChunk, func(s, e int) {
		rowLogProbs(s, e, func(n int, nll float64, _ []float32) { y.Data[n] = float32(-nll) })
	})
	t.record(y, func() {
		if y.Grad == nil || !logits.requires {
			return
		}
		gl := t.grad(logits)
		t.pool.For(N, lpChunk, func(s, e int) {
			rowLogProbs(s, e, func(n int, _ float64, d []float32) {
				g := y.Grad[n]
				if g == 0 || targets[n] == ignore {
					return
				}
				gr := gl[n*V : (n+1)*V]
				for i, v := range d {
					gr[i] -= float32(g * v) // d log p / d logits = onehot − softmax = −d
				}
			})
		})
	})
	return y
}

// lpChunk is how many rows of logits a worker takes at a time in
// TargetLogProbs: enough to spread one row of scratch over many rows.
const lpChunk = 16

// Func returns the scalar f(x) of x, with the gradient dx (len(x.Data)
// values, float64) that f returns beside it: a loss over a handful of
// per-sequence values (DPO's log-ratios, a reward model's pair scores,
// PPO's clipped objective) whose formula and derivative live with the
// caller, written and tested there in float64. f must not keep x.
func (t *Tape) Func(name string, x *Var, f func(x []float32) (y float64, dx []float64)) *Var {
	if t.err != nil {
		return t.dead
	}
	v, dx := f(x.Data)
	if len(dx) != len(x.Data) {
		return t.fail("func %q: %d gradient values for %d inputs", name, len(dx), len(x.Data))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return t.fail("func %q: value %v", name, v)
	}
	y := t.out(name, []int{1}, x)
	y.Data[0] = float32(v)
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		if gx := t.grad(x); gx != nil {
			s := float64(y.Grad[0])
			for i, g := range dx {
				gx[i] += float32(s * g)
			}
		}
	})
	return y
}
