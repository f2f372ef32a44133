// Reference: ZeRO: Rajbhandari et al. 2020, §5.1 (P_os): data parallelism with partitioned optimizer states
// computes the same update as plain data parallelism.

package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// onRanks runs f on every rank of an in-process group of n, one goroutine
// each, and returns their errors.
func onRanks(t *testing.T, n int, f func(c Collective) error) []error {
	t.Helper()
	cs, err := NewLocalGroup(n)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

// TestLocalCollective: 3 ranks over 10 elements (shards of 4, 3, 3). The
// sums are exactly buf₀+buf₁+buf₂ added left to right in float32;
// reduce-scatter fills only the own shard; all-gather assembles the shards;
// a rank passing another length makes every rank return an error.
func TestLocalCollective(t *testing.T) {
	const n, size = 10, 3
	if lo, hi := ShardRange(n, size, 0); lo != 0 || hi != 4 {
		t.Fatalf("shard 0 is [%d, %d)", lo, hi)
	}
	if lo, hi := ShardRange(n, size, 2); lo != 7 || hi != 10 {
		t.Fatalf("shard 2 is [%d, %d)", lo, hi)
	}
	in := make([][]float32, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for r := range in {
		in[r] = make([]float32, n)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(rng.IntN(8)-4)))
		}
	}
	sum := make([]float32, n)
	for i := range sum {
		sum[i] = in[0][i] + in[1][i] + in[2][i] // Go evaluates left to right, rounding each add to float32
	}
	got := make([][3][]float32, size)
	errs := onRanks(t, size, func(c Collective) error {
		r := c.Rank()
		a := append([]float32(nil), in[r]...)
		if err := c.AllReduce(a); err != nil {
			return err
		}
		s := append([]float32(nil), in[r]...)
		if err := c.ReduceScatter(s); err != nil {
			return err
		}
		g := make([]float32, n)
		lo, hi := ShardRange(n, c.Size(), r)
		for i := lo; i < hi; i++ {
			g[i] = float32(100*r + i)
		}
		if err := c.AllGather(g); err != nil {
			return err
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		got[r] = [3][]float32{a, s, g}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range size {
		a, s, g := got[r][0], got[r][1], got[r][2]
		lo, hi := ShardRange(n, size, r)
		for i := range n {
			if math.Float32bits(a[i]) != math.Float32bits(sum[i]) {
				t.Errorf("rank %d all-reduce[%d] = %v, want %v", r, i, a[i], sum[i])
			}
			want := in[r][i]
			if i >= lo && i < hi {
				want = sum[i]
			}
			if math.Float32bits(s[i]) != math.Float32bits(want) {
				t.Errorf("rank %d reduce-scatter[%d] = %v, want %v", r, i, s[i], want)
			}
			owner := 0
			for q := range size {
				if l, h := ShardRange(n, size, q); i >= l && i < h {
					owner = q
				}
			}
			if g[i] != float32(100*owner+i) {
				t.Errorf("rank %d all-gather[%d] = %v, want %v", r, i, g[i], 100*owner+i)
			}
		}
	}
	errs = onRanks(t, 2, func(c Collective) error { return c.AllReduce(make([]float32, 5+c.Rank())) })
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "elements") {
			t.Errorf("rank %d: mismatched lengths gave %v", r, err)
		}
	}
	if _, err := NewLocalGroup(0); err == nil {
		t.Error("a group of 0 ranks was accepted")
	}
}

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
