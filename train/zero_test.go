// Reference: ZeRO: Rajbhandari et al. 2020, §5.1 (P_os): data parallelism with partitioned optimizer states
// computes the same update as plain data parallelism.

package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// zeroBatch is rank r's micro-batch of step s: B=2 sequences of T=8
// tokens of the 11-token vocabulary, with next-token targets.
func zeroBatch(s, r int) (x, y []int32) {
	rng := rand.New(rand.NewPCG(uint64(s), uint64(r)))
	seq := make([]int32, 2*8+1)
	for i := range seq {
		seq[i] = int32(rng.IntN(11))
	}
	return seq[:16], seq[1:]
}

// TestZeRO1MatchesSingleProcess: data-parallel training over 2 in-process
// ranks with ZeRO-1 (each rank keeps AdamW's moments for half of the
// flattened parameters) ends 6 steps with the weights of one process that
// computes each rank's gradient, sums them in rank order (g₀ + g₁, float32)
// and takes a plain AdamW step: bit for bit, on both ranks.
func TestZeRO1MatchesSingleProcess(t *testing.T) {
	const ranks, steps, lr = 2, 6, 1e-2
	cfg := AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}

	// One process: the sum of the ranks' gradients, then AdamW.
	ref := newTinyLlama(t, 4, 0.1)
	pool := tensor.NewPool(1)
	defer pool.Close()
	opt, err := NewAdamW(ref.params(), cfg, pool)
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape(pool)
	grads := make([][][]float32, ranks)
	var refLoss []float64
	for s := range steps {
		var loss float64
		for r := range ranks {
			opt.ZeroGrad()
			x, y := zeroBatch(s, r)
			tp.Reset()
			l := ref.forward(tp, x, y, 8)
			if err := tp.Backward(l, 1/float32(ranks)); err != nil {
				t.Fatal(err)
			}
			loss += float64(l.Data[0])
			grads[r] = grads[r][:0]
			for _, p := range ref.params() {
				grads[r] = append(grads[r], append([]float32(nil), p.Grad...))
			}
		}
		for i, p := range ref.params() {
			for j := range p.Grad {
				p.Grad[j] = grads[0][i][j] + grads[1][i][j]
			}
		}
		opt.Step(lr)
		refLoss = append(refLoss, loss/ranks)
	}

	// Two ranks, each with its own replica (same initial weights), its own
	// micro-batch and half of the optimizer state.
	models := make([]*tinyLlama, ranks)
	shards := make([]int, ranks)
	for r := range models {
		models[r] = newTinyLlama(t, 4, 0.1)
	}
	errs := onRanks(t, ranks, func(c Collective) error {
		r := c.Rank()
		m := models[r]
		pool := tensor.NewPool(1)
		defer pool.Close()
		z, err := NewZeRO1(m.params(), cfg, c)
		if err != nil {
			return err
		}
		shards[r] = len(z.M)
		tp := autograd.NewTape(pool)
		for s := range steps {
			for _, p := range m.params() {
				p.ZeroGrad()
			}
			x, y := zeroBatch(s, r)
			tp.Reset()
			l := m.forward(tp, x, y, 8)
			if err := tp.Backward(l, 1/float32(ranks)); err != nil {
				return err
			}
			if err := z.Step(lr); err != nil {
				return err
			}
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	total := 0
	for _, p := range ref.params() {
		total += len(p.Data)
	}
	if shards[0]+shards[1] != total || shards[0] != (total+1)/2 {
		t.Errorf("moment shards of %v elements for %d parameters", shards, total)
	}
	for r, m := range models {
		for i, p := range m.params() {
			q := ref.params()[i]
			for j := range p.Data {
				if math.Float32bits(p.Data[j]) != math.Float32bits(q.Data[j]) {
					t.Fatalf("rank %d: %s[%d] = %v, single process %v", r, p.Name, j, p.Data[j], q.Data[j])
				}
			}
		}
	}
	t.Logf("%d parameters, moments of %v elements per rank; %d steps (losses %.4f … %.4f on random tokens); weights equal on both ranks, bit for bit", total, shards, steps, refLoss[0], refLoss[steps-1])
}
