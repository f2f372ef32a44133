// Reference: Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization" eq. 8 (the value
// v(x, y) = λ·σ(β(r − z₀)) of a desirable answer, λ·σ(β(z₀ − r)) of an undesirable one, L = λ − v); TRL's
// KTOTrainer (z₀ the batch's mean log-ratio of mismatched prompt–answer pairs, clamped at 0, without gradient).

package train

import (
	"math"

	"github.com/gptgo/gptgo/train/autograd"
)

// KTOLoss is one example's KTO loss (λ = 1 for both labels) and its
// derivative by the policy's log-likelihood of the answer, given the
// reference's (ref), the reference point z and β.
func KTOLoss(logp, ref, z, beta float64, desirable bool) (loss, dlogp float64) {
	r := logp - ref
	if desirable {
		s := sigmoid(beta * (r - z))
		return 1 - s, -beta * s * (1 - s)
	}
	s := sigmoid(beta * (z - r))
	return 1 - s, beta * s * (1 - s)
}

// ktoLoss is the policy as the loop's Model under KTO: each slot holds an
// example (row 2s, the answer; Desirable its label) and a mismatched
// answer to its prompt (row 2s+1), whose log-ratios give the reference
// point; the reference's log-probs come precomputed in the slots.
type ktoLoss struct {
	m     SFTModel
	beta  float64
	slots *prefSlots
	acc   [2]prefAccum
}

func (d *ktoLoss) Params() []*autograd.Var { return d.m.Params() }

func (d *ktoLoss) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	lp := answerLogProbs(tp, d.m, tokens, targets, T)
	ref := d.slots.ref
	acc := &d.acc[0]
	if !tp.Recording() {
		acc = &d.acc[1]
	}
	return tp.Func("kto", lp, func(x []float32) (float64, []float64) {
		sums, _ := rowSums(x, targets, T)
		dx := make([]float64, len(x))
		n := d.slots.filled()
		var z float64 // the reference point: a KL estimate, held constant
		for s, p := range d.slots.pair {
			if p >= 0 {
				z += sums[2*s+1] - ref[2*s+1]
			}
		}
		z = math.Max(0, z/float64(max(n, 1)))
		var total float64
		for s, p := range d.slots.pair {
			if p < 0 {
				continue
			}
			c, m := 2*s, 2*s+1
			l, g := KTOLoss(sums[c], ref[c], z, d.beta, d.slots.desirable[s])
			// Metrics: "chosen" is the example's answer, "rejected" the
			// mismatched one.
			acc.add(d.beta, sums[c], sums[m], ref[c], ref[m], l)
			total += l
			spread(dx, targets, c, T, g/float64(n))
		}
		return total / float64(max(n, 1)), dx
	})
}
