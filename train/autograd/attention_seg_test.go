// Reference: ggml tests/test-grad0.c (gradients against central differences); the block-diagonal causal
// mask of packed sequences, written out in float64 below as the independent reference.

package autograd

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// TestAttentionSegmentsGradients checks the op's backward against central
// differences, with runs of one, two and three rows, an id reused by two
// runs that are not adjacent, and a run cut by the end of a sequence.
func TestAttentionSegmentsGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const B, T, H, KH, D = 2, 5, 4, 2, 3
	seg := []int32{0, 0, 1, 2, 2, 2, 0, 7, 7, 0}
	q, k, v := param(t, rng, "q", B*T, H*D), param(t, rng, "k", B*T, KH*D), param(t, rng, "v", B*T, KH*D)
	checkTape(t, "attention_segments", pool, []*Var{q, k, v}, func(tp *Tape) *Var {
		return tp.AttentionSegments(q, k, v, seg, T, H, KH, D)
	})
}

// TestAttentionSegmentsForward compares the forward with the masked
// attention written out in float64: softmax over the earlier rows of the
// same run only.
func TestAttentionSegmentsForward(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	const B, T, H, KH, D = 2, 6, 4, 2, 4
	seg := []int32{3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6}
	q, k, v := param(t, rng, "q", B*T, H*D), param(t, rng, "k", B*T, KH*D), param(t, rng, "v", B*T, KH*D)
	tp := NewTape(pool)
	y := tp.AttentionSegments(q, k, v, seg, T, H, KH, D)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	start := func(n int) int { // the first row of n's run
		s := n
		for s > 0 && s%T != 0 && seg[s-1] == seg[n] {
			s--
		}
		return s
	}
	scale := 1 / math.Sqrt(D)
	for n := range B * T {
		for h := range H {
			g := h / (H / KH)
			var w []float64
			var mx = math.Inf(-1)
			for m := start(n); m <= n; m++ {
				var s float64
				for d := range D {
					s += float64(q.Data[n*H*D+h*D+d]) * float64(k.Data[m*KH*D+g*D+d])
				}
				w = append(w, s*scale)
				mx = math.Max(mx, s*scale)
			}
			var sum float64
			for i := range w {
				w[i] = math.Exp(w[i] - mx)
				sum += w[i]
			}
			for d := range D {
				var o float64
				for i, m := 0, start(n); m <= n; i, m = i+1, m+1 {
					o += w[i] / sum * float64(v.Data[m*KH*D+g*D+d])
				}
				// float32 GEMMs and softmax against float64: a few ulps of O(1) values.
				if got := float64(y.Data[n*H*D+h*D+d]); !testkit.Close(got, o, 1e-5, 1e-5) {
					t.Fatalf("row %d head %d dim %d: %.7g, float64 reference %.7g", n, h, d, got, o)
				}
			}
		}
	}
}

// TestAttentionSegmentsOneRun: one run per sequence is Attention, bit for
// bit (the same kernels on the same rows), forward and gradients; and nil
// segments are Attention too.
func TestAttentionSegmentsOneRun(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	const B, T, H, KH, D = 3, 7, 4, 1, 8
	q, k, v := param(t, rng, "q", B*T, H*D), param(t, rng, "k", B*T, KH*D), param(t, rng, "v", B*T, KH*D)
	r := make([]float32, B*T*H*D)
	for i := range r {
		r[i] = float32(rng.NormFloat64())
	}
	run := func(seg []int32, plain bool) (y []float32, grads [][]float32) {
		for _, p := range []*Var{q, k, v} {
			p.ZeroGrad()
		}
		tp := NewTape(pool)
		var out *Var
		if plain {
			out = tp.Attention(q, k, v, T, H, KH, D)
		} else {
			out = tp.AttentionSegments(q, k, v, seg, T, H, KH, D)
		}
		l, _ := tp.weighted(out, r)
		if err := tp.Backward(l, 1); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out.Data), [][]float32{slices.Clone(q.Grad), slices.Clone(k.Grad), slices.Clone(v.Grad)}
	}
	same := make([]int32, B*T) // one id everywhere: the sequence ends still cut the runs
	wantY, wantG := run(nil, true)
	for _, seg := range [][]int32{nil, same} {
		y, g := run(seg, false)
		if !slices.Equal(y, wantY) {
			t.Fatalf("segments %v: output differs from Attention", seg)
		}
		for i := range g {
			if !slices.Equal(g[i], wantG[i]) {
				t.Fatalf("segments %v: gradient %d differs from Attention", seg, i)
			}
		}
	}
}

// TestAttentionSegmentsIsolated: a run's output is that of the run alone
// as a sequence of its own, whatever the other runs of its row hold.
func TestAttentionSegmentsIsolated(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	const T, H, KH, D = 9, 2, 2, 4
	seg := []int32{1, 1, 1, 1, 2, 2, 2, 2, 2}
	q, k, v := param(t, rng, "q", T, H*D), param(t, rng, "k", T, KH*D), param(t, rng, "v", T, KH*D)
	tp := NewTape(pool)
	y := slices.Clone(tp.AttentionSegments(q, k, v, seg, T, H, KH, D).Data)
	sub := func(x *Var, a, b int) *Var {
		c, _ := Const("sub", x.Data[a*x.Cols():b*x.Cols()], b-a, x.Cols())
		return c
	}
	tp.Reset()
	alone := tp.Attention(sub(q, 4, 9), sub(k, 4, 9), sub(v, 4, 9), 5, H, KH, D)
	if !slices.Equal(alone.Data, y[4*H*D:]) {
		t.Fatal("the second run differs from the same rows attended alone")
	}
	tp.Reset()
	bad := tp.AttentionSegments(q, k, v, seg[:5], T, H, KH, D)
	if tp.Err() == nil || bad != tp.dead {
		t.Fatal("too few segment ids: no error")
	}
}
