// Reference: ggml's row split (for i := ith; i < n; i += nth): which worker computes a row never changes its bits.

package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// TestRoPESplitSameBits runs RoPE twice over a stack (so the inner one's
// gradient is a tape buffer, cleared when reused) on enough rows that the
// pool splits the rotation, its backward and the clearing into several
// chunks, for two steps on one tape, with one worker and with two. The
// output must be the row-by-row kernel loop's, bit for bit, and the
// input's gradient the same with either pool and on both steps (a
// recycled buffer not cleared whole would add the first step's gradient
// into the second's).
func TestRoPESplitSameBits(t *testing.T) {
	const T, H, D = 100, 4, 16
	const N, W = 6 * T, H * D // 600 rows of 64: 256 rows a chunk, three chunks
	rng := rand.New(rand.NewPCG(33, 1))
	x := param(t, rng, "x", N, W)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(rng.IntN(W))
	}
	r := Rope{D: D, Dims: D, Base: 10000, FreqScale: 1}

	// The reference: each row rotated by kernel.RopeNorm, twice.
	want := append([]float32(nil), x.Data...)
	cache := make([]float32, r.Dims)
	for n := range N {
		kernel.RopeCache(cache, n%T, r.Dims, r.Base, r.FreqScale, nil)
		for range 2 {
			for h := 0; h < W; h += D {
				kernel.RopeNorm(want[n*W+h:n*W+h+D], cache, r.Dims)
			}
		}
	}

	var grads [][]float32
	for _, workers := range []int{1, 2} {
		pool := tensor.NewPool(workers)
		tp := NewTape(pool)
		for step := range 2 {
			x.ZeroGrad()
			tp.Reset()
			y := tp.RoPE(tp.RoPE(x, T, r), T, r)
			if err := tp.Backward(tp.CrossEntropy(y, targets, -1), 1); err != nil {
				t.Fatal(err)
			}
			for i, v := range y.Data {
				if math.Float32bits(v) != math.Float32bits(want[i]) {
					t.Fatalf("%d workers, step %d: y[%d] = %v, the serial loop gives %v", workers, step, i, v, want[i])
				}
			}
			grads = append(grads, append([]float32(nil), x.Grad...))
		}
		pool.Close()
	}
	for k, g := range grads[1:] {
		for i, v := range g {
			if math.Float32bits(v) != math.Float32bits(grads[0][i]) {
				t.Fatalf("run %d: dx[%d] = %v, the first run's %v", k+1, i, v, grads[0][i])
			}
		}
	}
}
