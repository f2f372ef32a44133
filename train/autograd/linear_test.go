// Reference: kernel/backward.go LinearBackwardInput / LinearBackwardWeight (the plain loops) as the reference
// for the tape's GEMM-based Linear backward.

package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// TestLinearBackwardMatchesKernel compares the tape's Linear gradients,
// computed with Pool.Gemm (transposes packed inside the kernel), with the plain kernel
// loops, on odd sizes that leave remainders in every tile and chunk. Both
// sum the same products in float32 in different orders, so they agree to
// a few ulps of the largest partial sums: atol 1e-5 on values of order 1-10.
func TestLinearBackwardMatchesKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const N, C, R = 37, 70, 45
	x, w, b := param(t, rng, "x", N, C), param(t, rng, "w", R, C), param(t, rng, "b", R)
	gy := make([]float32, N*R)
	for i := range gy {
		gy[i] = float32(rng.NormFloat64())
	}
	for _, workers := range []int{1, 3} {
		pool := tensor.NewPool(workers)
		tp := NewTape(pool)
		for _, p := range []*Var{x, w, b} {
			p.ZeroGrad()
		}
		y := tp.Linear(x, w, b)
		y.Grad = gy // seed the output's gradient directly
		for i := len(tp.ops) - 1; i >= 0; i-- {
			tp.ops[i].back()
		}
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		pool.Close()
		wantX, wantW, wantB := make([]float32, N*C), make([]float32, R*C), make([]float32, R)
		kernel.LinearBackwardInput(wantX, gy, w.Data, R, C, 0, N)
		kernel.LinearBackwardWeight(wantW, wantB, gy, x.Data, N, R, C, 0, R)
		testkit.CheckClose(t, "dx", x.Grad, wantX, 1e-5, 1e-5)
		testkit.CheckClose(t, "dw", w.Grad, wantW, 1e-5, 1e-5)
		testkit.CheckClose(t, "db", b.Grad, wantB, 1e-5, 1e-5)
	}
}

// BenchmarkLinearBackward: one Linear of GPT-2 small's width (768 → 768)
// over 256 rows, forward and backward on the tape, against the plain
// kernel loops of the same backward (the reference).
func BenchmarkLinearBackward(b *testing.B) {
	const N, C, R = 256, 768, 768
	rng := rand.New(rand.NewPCG(1, 1))
	mk := func(name string, shape ...int) *Var {
		d := make([]float32, shape[0]*shape[1])
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		v, _ := NewParam(name, d, shape...)
		return v
	}
	x, w := mk("x", N, C), mk("w", R, C)
	gy := make([]float32, N*R)
	for i := range gy {
		gy[i] = float32(rng.NormFloat64())
	}
	b.Run("tape", func(b *testing.B) {
		flops := float64(6 * N * R * C) // forward, dX and dW: three matmuls of 2·N·R·C
		pool := tensor.NewPool(0)
		defer pool.Close()
		tp := NewTape(pool)
		for b.Loop() {
			tp.Reset()
			y := tp.Linear(x, w, nil)
			y.Grad = gy
			for i := len(tp.ops) - 1; i >= 0; i-- {
				tp.ops[i].back()
			}
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("kernel-loops-1thread", func(b *testing.B) {
		flops := float64(4 * N * R * C) // dX and dW
		for b.Loop() {
			kernel.LinearBackwardInput(x.Grad, gy, w.Data, R, C, 0, N)
			kernel.LinearBackwardWeight(w.Grad, nil, gy, x.Data, N, R, C, 0, R)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// TestWorkerCountInvariance: every op's values and gradients are the same
// bits with 1 worker and with 3, at sizes that make several row blocks,
// element chunks and attention tasks (N = 200 rows, 3·2^14+5 elements).
func TestWorkerCountInvariance(t *testing.T) {
	run := func(workers int) [][]float32 {
		rng := rand.New(rand.NewPCG(21, 22))
		const B, T, C, H, KH, D = 4, 50, 24, 4, 2, 6
		x, nw, nb := param(t, rng, "x", B*T, C), param(t, rng, "w", C), param(t, rng, "b", C)
		wq, wk := param(t, rng, "wq", H*D, C), param(t, rng, "wk", KH*D, C)
		big := param(t, rng, "big", 3*(1<<14)+5, 1)
		pool := tensor.NewPool(workers)
		defer pool.Close()
		tp := NewTape(pool)
		h := tp.Add(tp.RMSNorm(x, nw, 1e-5), tp.LayerNorm(x, nw, nb, 1e-5))
		q, k := tp.Linear(h, wq, nil), tp.Linear(h, wk, nil)
		a := tp.Attention(q, k, k, T, H, KH, D)
		g := tp.SwiGLU(tp.GELU(big), big)
		r := make([]float32, len(a.Data))
		for i := range r {
			r[i] = float32(i%7) - 3
		}
		l1, _ := tp.weighted(a, r)
		r2 := make([]float32, len(g.Data))
		for i := range r2 {
			r2[i] = float32(i%5) - 2
		}
		l2, _ := tp.weighted(g, r2)
		if err := tp.Backward(tp.Add(l1, l2), 1); err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for _, v := range []*Var{a, g, x, nw, nb, wq, wk, big} {
			out = append(out, append([]float32(nil), v.Data...))
			if v.Grad != nil {
				out = append(out, append([]float32(nil), v.Grad...))
			}
		}
		return out
	}
	one, three := run(1), run(3)
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(three[i][j]) {
				t.Fatalf("buffer %d element %d: %v with 1 worker, %v with 3", i, j, one[i][j], three[i][j])
			}
		}
	}
}
