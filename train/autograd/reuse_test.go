// Reference: llm.c train_gpt2.c (one set of activation-gradient buffers for a step); the tape's gradBuf/release.

package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// TestGradientBuffersReused runs a residual stack of 8 layers for three
// steps on one tape and checks that an activation's gradient buffer is
// taken back once its maker's backward has run (the tape then holds the
// forward's buffers and a few gradients, not one gradient per
// activation), that a recycled buffer is cleared (every step's parameter
// gradients are the first step's, bit for bit, and a smaller stack's
// match central differences), and that a released gradient reads nil
// rather than another activation's values.
func TestGradientBuffersReused(t *testing.T) {
	const N, C, L = 32, 24, 8
	rng := rand.New(rand.NewPCG(30, 2))
	x := param(t, rng, "x", N, C)
	var ws []*Var
	for range L {
		ws = append(ws, param(t, rng, "w", C, C))
	}
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(rng.IntN(C))
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := NewTape(pool)
	var first [][]float32
	var mid *Var
	for step := range 3 {
		for _, w := range ws {
			w.ZeroGrad()
		}
		tp.Reset()
		h := x
		for l, w := range ws {
			h = tp.Add(h, tp.SwiGLU(tp.Linear(h, w, nil), h))
			if l == L/2 {
				mid = h
			}
		}
		if err := tp.Backward(tp.CrossEntropy(h, targets, -1), 1); err != nil {
			t.Fatal(err)
		}
		if mid.Grad != nil {
			t.Fatalf("step %d: a middle activation still holds its gradient after the backward", step)
		}
		for i, w := range ws {
			if step == 0 {
				first = append(first, append([]float32(nil), w.Grad...))
				continue
			}
			for j := range w.Grad {
				if math.Float32bits(w.Grad[j]) != math.Float32bits(first[i][j]) {
					t.Fatalf("step %d: w%d[%d] = %v, first step %v", step, i, j, w.Grad[j], first[i][j])
				}
			}
		}
	}
	// A recycled buffer holds another activation's gradient until it is
	// cleared; every step above would repeat the same mistake, so the
	// stack's gradients are also checked against central differences.
	small := []*Var{}
	for range 4 {
		w := param(t, rng, "w", 6, 6)
		for i := range w.Data {
			w.Data[i] *= 0.3 // keeps the stack's values near 1
		}
		small = append(small, w)
	}
	xs := param(t, rng, "x", 4, 6)
	checkTape(t, "residual stack", pool, append(small, xs), func(tp *Tape) *Var {
		h := xs
		for _, w := range small {
			h = tp.Add(h, tp.SwiGLU(tp.Linear(h, w, nil), h))
		}
		return h
	})
	// The forward keeps 3 N×C buffers a layer (Linear, SwiGLU, Add) and
	// the cross-entropy's; without reuse the backward added 3 gradients a
	// layer more. With it, a handful of gradients is in flight at a time.
	forward := (3*L + 1) * N * C * 4
	if got := tp.ActivationBytes(); got > forward+6*N*C*4 {
		t.Fatalf("the tape holds %d bytes; the forward alone needs %d", got, forward)
	}
}
