// Reference: ggml tests/test-grad0.c (gradients against central differences); Hu et al., LoRA §4.1.

package autograd

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

func frozenTensor(t *testing.T, dt tensor.DType, w *Var) *tensor.Tensor {
	t.Helper()
	R, C := w.Rows(), w.Cols()
	size, err := dt.RowSize(int64(R * C))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	if err := tensor.Quantize(dt, w.Data, buf); err != nil {
		t.Fatal(err)
	}
	ft, err := tensor.New(w.Name, dt, buf, C, R)
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

func TestLoRAGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const N, C, R, r = 6, 4, 5, 3
	x := param(t, rng, "x", N, C)
	a, b := param(t, rng, "lora_a", r, C), param(t, rng, "lora_b", R, r)
	w := param(t, rng, "w", R, C)
	// Added in place into a trained Linear's output: the base's gradients
	// must come through unchanged beside the adapter's.
	checkTape(t, "lora", pool, []*Var{x, a, b, w}, func(tp *Tape) *Var { return tp.AddLoRA(tp.Linear(x, w, nil), x, a, b, 0.75, 0, 0) })

	// The frozen base: its weight gets nothing, the input and bias do.
	bias := param(t, rng, "bias", R)
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.Q8_0} {
		wc := param(t, rng, "w", R, 32) // Q8_0 needs whole blocks of 32
		xc, ac := param(t, rng, "xc", N, 32), param(t, rng, "a", r, 32)
		ft := frozenTensor(t, dt, wc)
		checkTape(t, "frozen linear "+dt.String(), pool, []*Var{xc, bias, ac, b}, func(tp *Tape) *Var {
			return tp.AddLoRA(tp.FrozenLinear(xc, ft, bias), xc, ac, b, 1, 0, 0)
		})
	}
}

// TestLoRADropout: with dropout the op equals the plain op on x⊙mask (the
// same products, so bit for bit), x's gradient is the masked one, the
// mask drops about p of the elements and is the same for the same seed, and
// NoGrad turns it off.
func TestLoRADropout(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	const N, C, R, r, p = 50, 40, 6, 3, 0.3
	x := param(t, rng, "x", N, C)
	a, b := param(t, rng, "lora_a", r, C), param(t, rng, "lora_b", R, r)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(i % R)
	}
	tp := NewTape(pool)
	mask := make([]float32, N*C)
	for i := range mask {
		mask[i] = 1
	}
	tp.dropout(mask, mask, p, 42)
	dropped := 0
	for _, m := range mask {
		switch m {
		case 0:
			dropped++
		case float32(1 / (1 - p)):
		default:
			t.Fatalf("mask value %g", m)
		}
	}
	if f := float64(dropped) / float64(len(mask)); f < p-0.05 || f > p+0.05 {
		t.Fatalf("dropout %.2f dropped %.3f of the elements", p, f)
	}
	zero, _ := Const("zero", make([]float32, R*C), R, C) // a base that adds nothing
	y := tp.AddLoRA(tp.Linear(x, zero, nil), x, a, b, 1.5, p, 42)
	if err := tp.Backward(tp.CrossEntropy(y, targets, -1), 1); err != nil {
		t.Fatal(err)
	}
	gx, ga, gb := append([]float32(nil), x.Grad...), append([]float32(nil), a.Grad...), append([]float32(nil), b.Grad...)
	yd := append([]float32(nil), y.Data...)

	xm := make([]float32, N*C)
	for i := range xm {
		xm[i] = x.Data[i] * mask[i]
	}
	xv, _ := NewParam("xm", xm, N, C)
	a.ZeroGrad()
	b.ZeroGrad()
	tp2 := NewTape(pool)
	y2 := tp2.AddLoRA(tp2.Linear(xv, zero, nil), xv, a, b, 1.5, 0, 0)
	if err := tp2.Backward(tp2.CrossEntropy(y2, targets, -1), 1); err != nil {
		t.Fatal(err)
	}
	testkit.CheckClose(t, "y", yd, y2.Data, 0, 0)
	testkit.CheckClose(t, "dL/da", ga, a.Grad, 0, 0)
	testkit.CheckClose(t, "dL/db", gb, b.Grad, 0, 0)
	want := make([]float32, N*C)
	for i := range want {
		want[i] = xv.Grad[i] * mask[i]
	}
	testkit.CheckClose(t, "dL/dx", gx, want, 0, 0)

	tp3 := NewTape(pool)
	tp3.NoGrad(true)
	y3 := append([]float32(nil), tp3.AddLoRA(tp3.Linear(x, zero, nil), x, a, b, 1.5, p, 42).Data...)
	testkit.CheckClose(t, "y under NoGrad", y3, tp3.AddLoRA(tp3.Linear(x, zero, nil), x, a, b, 1.5, 0, 0).Data, 0, 0)
}

// TestLoRAGradientIsProjectedWeightGradient checks the identity LoRA's
// update rests on: with W = s·b·a, dL/db = s·(dL/dW)·aᵀ and
// dL/da = s·bᵀ·(dL/dW), where dL/dW is the gradient of the same loss
// through a full Linear with weight W.
func TestLoRAGradientIsProjectedWeightGradient(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	const N, C, R, r, s = 7, 6, 5, 2, 1.5
	x := param(t, rng, "x", N, C)
	a, b := param(t, rng, "lora_a", r, C), param(t, rng, "lora_b", R, r)
	targets := []int32{0, 4, 1, 1, 3, 2, 0}

	tp := NewTape(pool)
	zero, _ := Const("zero", make([]float32, R*C), R, C)
	if err := tp.Backward(tp.CrossEntropy(tp.AddLoRA(tp.Linear(x, zero, nil), x, a, b, s, 0, 0), targets, -1), 1); err != nil {
		t.Fatal(err)
	}
	wd := make([]float32, R*C) // W = s·b·a in float64
	for i := range R {
		for j := range C {
			var v float64
			for k := range r {
				v += float64(b.Data[i*r+k]) * float64(a.Data[k*C+j])
			}
			wd[i*C+j] = float32(s * v)
		}
	}
	w, err := NewParam("w", wd, R, C)
	if err != nil {
		t.Fatal(err)
	}
	tp2 := NewTape(pool)
	if err := tp2.Backward(tp2.CrossEntropy(tp2.Linear(x, w, nil), targets, -1), 1); err != nil {
		t.Fatal(err)
	}
	gw := w.Grad
	for i := range R {
		for k := range r {
			var want float64
			for j := range C {
				want += s * float64(gw[i*C+j]) * float64(a.Data[k*C+j])
			}
			if got := float64(b.Grad[i*r+k]); !testkit.Close(got, want, 1e-6, 1e-4) {
				t.Fatalf("dL/db[%d,%d] = %g, projected dL/dW gives %g", i, k, got, want)
			}
		}
	}
	for k := range r {
		for j := range C {
			var want float64
			for i := range R {
				want += s * float64(b.Data[i*r+k]) * float64(gw[i*C+j])
			}
			if got := float64(a.Grad[k*C+j]); !testkit.Close(got, want, 1e-6, 1e-4) {
				t.Fatalf("dL/da[%d,%d] = %g, projected dL/dW gives %g", k, j, got, want)
			}
		}
	}
}

// TestFrozenLinearMatchesLinear: an F32 frozen weight gives Linear's bits,
// forward and input gradient; a quantized one gives Linear's on its
// dequantized values, here over two tiles (the backward sums the tiles in
// order, so within float rounding).
func TestFrozenLinearMatchesLinear(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		dt   tensor.DType
		R, C int
	}{{tensor.F32, 7, 32}, {tensor.Q8_0, 7, 64}, {tensor.Q4_K, frozenTileFloats/256 + 5, 256}} {
		N := 3
		w := param(t, rng, "w", tc.R, tc.C)
		ft := frozenTensor(t, tc.dt, w)
		deq, err := ft.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		wv, err := NewParam("w", deq, tc.R, tc.C)
		if err != nil {
			t.Fatal(err)
		}
		x1, x2 := param(t, rng, "x", N, tc.C), (*Var)(nil)
		x2, _ = NewParam("x", append([]float32(nil), x1.Data...), N, tc.C)
		targets := []int32{1, 0, 2}

		tp1, tp2 := NewTape(pool), NewTape(pool)
		y1 := tp1.FrozenLinear(x1, ft, nil)
		y2 := tp2.Linear(x2, wv, nil)
		exact := tc.dt == tensor.F32 || tc.R*tc.C <= frozenTileFloats
		for i := range y1.Data {
			if exact && y1.Data[i] != y2.Data[i] || !testkit.Close(float64(y1.Data[i]), float64(y2.Data[i]), 1e-5, 1e-5) {
				t.Fatalf("%v: y[%d] = %g, Linear %g", tc.dt, i, y1.Data[i], y2.Data[i])
			}
		}
		if err := tp1.Backward(tp1.CrossEntropy(y1, targets, -1), 1); err != nil {
			t.Fatal(err)
		}
		if err := tp2.Backward(tp2.CrossEntropy(y2, targets, -1), 1); err != nil {
			t.Fatal(err)
		}
		for i := range x1.Grad {
			if exact && x1.Grad[i] != x2.Grad[i] || !testkit.Close(float64(x1.Grad[i]), float64(x2.Grad[i]), 1e-6, 1e-4) {
				t.Fatalf("%v: dx[%d] = %g, Linear %g", tc.dt, i, x1.Grad[i], x2.Grad[i])
			}
		}
	}
}

func TestFrozenErrors(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	x := param(t, rng, "x", 2, 32)
	w := frozenTensor(t, tensor.F32, param(t, rng, "w", 3, 16))
	tp := NewTape(pool)
	tp.FrozenLinear(x, w, nil)
	if tp.Err() == nil {
		t.Fatal("frozen linear with mismatched shapes: no error")
	}
	tp.Reset()
	tp.FrozenEmbedding(w, []int32{3})
	if tp.Err() == nil {
		t.Fatal("frozen embedding of token 3 in a table of 3: no error")
	}
	tp.Reset()
	y := param(t, rng, "y", 2, 4)
	tp.AddLoRA(y, x, param(t, rng, "a", 2, 31), param(t, rng, "b", 4, 2), 1, 0, 0)
	if tp.Err() == nil {
		t.Fatal("lora with mismatched a: no error")
	}
	tp.Reset()
	tp.AddLoRA(y, x, param(t, rng, "a", 2, 32), param(t, rng, "b", 4, 2), 1, 0, 0)
	if err := tp.Err(); err == nil || !strings.Contains(err.Error(), "parameter") {
		t.Fatalf("lora added into a parameter: %v", err)
	}
}
