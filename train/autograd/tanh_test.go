// Reference: ggml tests/test-grad0.c (gradients against central differences).

package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// TestTanhGradients: x's gradient through a Linear after the op (so that
// the elements mix) against central differences, with inputs of both
// signs up to where tanh saturates.
func TestTanhGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	x := param(t, rng, "x", 5, 7)
	for i := range x.Data {
		x.Data[i] *= 3
	}
	w := param(t, rng, "w", 3, 7)
	checkTape(t, "tanh", pool, []*Var{x, w}, func(tp *Tape) *Var { return tp.Linear(tp.Tanh(x), w, nil) })
}

// TestTanhValues: the float64 tanh rounded, element for element.
func TestTanhValues(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	tp := NewTape(pool)
	x, err := NewParam("x", []float32{-20, -1, 0, 0.5, 3}, 5)
	if err != nil {
		t.Fatal(err)
	}
	y := tp.Tanh(x)
	for i, v := range x.Data {
		if want := float32(math.Tanh(float64(v))); y.Data[i] != want {
			t.Fatalf("tanh(%v) = %v, want %v", v, y.Data[i], want)
		}
	}
}
