// Reference: ggml tests/test-grad0.c (every op's gradient against central differences through the graph).

package autograd

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// The kernels' derivatives are checked in float64 in package kernel; these
// tests check the wiring of each op on the tape (which buffer feeds which
// gradient, accumulation into shared inputs, skipped constants) by central
// differences through the float32 forward. The loss Σ r·y is summed in
// float64; each output carries rounding of ~6e-8 relative, so with step
// h = 3e-3 the numeric gradient is good to ~1e-4, and atol 2e-3 + rtol 1e-2
// still catches any missing, doubled or misplaced contribution (O(1) off).
const (
	step = 3e-3
	atol = 2e-3
	rtol = 1e-2
)

// weighted records L = Σ r·y as a scalar op whose float64 value is kept.
func (t *Tape) weighted(y *Var, r []float32) (*Var, *float64) {
	l := t.out("weighted", []int{1}, y)
	var s float64
	for i, v := range y.Data {
		s += float64(r[i]) * float64(v)
	}
	l.Data[0] = float32(s)
	t.record(l, func() {
		if gy := t.grad(y); gy != nil {
			for i := range gy {
				gy[i] += l.Grad[0] * r[i]
			}
		}
	})
	return l, &s
}

func param(t *testing.T, rng *rand.Rand, name string, shape ...int) *Var {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	p, err := NewParam(name, x, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkTape runs build once with gradients, then compares every parameter
// element's gradient with central differences of the float64 loss.
func checkTape(t *testing.T, name string, pool *tensor.Pool, params []*Var, build func(tp *Tape) *Var) {
	t.Helper()
	tp := NewTape(pool)
	var r []float32
	loss := func(grad bool) float64 {
		tp.Reset()
		tp.NoGrad(!grad)
		y := build(tp)
		if r == nil {
			rng := rand.New(rand.NewPCG(99, uint64(len(y.Data))))
			r = make([]float32, len(y.Data))
			for i := range r {
				r[i] = float32(rng.NormFloat64())
			}
		}
		l, s := tp.weighted(y, r)
		if err := tp.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if grad {
			if err := tp.Backward(l, 1); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		return *s
	}
	for _, p := range params {
		p.ZeroGrad()
	}
	loss(true)
	got := make([][]float32, len(params))
	for i, p := range params {
		got[i] = append([]float32(nil), p.Grad...)
	}
	for i, p := range params {
		for j := range p.Data {
			old := p.Data[j]
			p.Data[j] = old + step
			fp := loss(false)
			p.Data[j] = old - step
			fm := loss(false)
			p.Data[j] = old
			num := (fp - fm) / float64(float32(old+step)-float32(old-step))
			if !testkit.Close(float64(got[i][j]), num, atol, rtol) {
				t.Fatalf("%s: d/d%s[%d] = %.6g analytic, %.6g numeric", name, p.Name, j, got[i][j], num)
			}
		}
	}
}

func TestOpGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const B, T, C, R = 2, 3, 4, 5

	x := param(t, rng, "x", B*T, C)
	w := param(t, rng, "w", R, C)
	b := param(t, rng, "b", R)
	checkTape(t, "linear", pool, []*Var{x, w, b}, func(tp *Tape) *Var { return tp.Linear(x, w, b) })

	nw, nb := param(t, rng, "norm_w", C), param(t, rng, "norm_b", C)
	checkTape(t, "rms_norm", pool, []*Var{x, nw}, func(tp *Tape) *Var { return tp.RMSNorm(x, nw, 1e-5) })
	checkTape(t, "layer_norm", pool, []*Var{x, nw, nb}, func(tp *Tape) *Var { return tp.LayerNorm(x, nw, nb, 1e-5) })

	// x used twice: both contributions must add.
	checkTape(t, "add", pool, []*Var{x}, func(tp *Tape) *Var { return tp.Add(x, tp.GELU(x)) })
	g, u := param(t, rng, "gate", B*T, C), param(t, rng, "up", B*T, C)
	checkTape(t, "swiglu", pool, []*Var{g, u}, func(tp *Tape) *Var { return tp.SwiGLU(g, u) })

	emb, pos := param(t, rng, "token_embd", 7, C), param(t, rng, "position_embd", T+1, C)
	tokens := []int32{3, 3, 0, 6, 1, 3}
	checkTape(t, "embedding+positions", pool, []*Var{emb, pos}, func(tp *Tape) *Var {
		return tp.AddPositions(tp.Embedding(emb, tokens), pos, T)
	})

	const H, KH, D = 4, 2, 4
	q, k, v := param(t, rng, "q", B*T, H*D), param(t, rng, "k", B*T, KH*D), param(t, rng, "v", B*T, KH*D)
	for _, neox := range []bool{false, true} {
		rope := Rope{D: D, Dims: D, Base: 10000, FreqScale: 1, NEOX: neox}
		checkTape(t, "rope+attention", pool, []*Var{q, k, v}, func(tp *Tape) *Var {
			return tp.Attention(tp.RoPE(q, T, rope), tp.RoPE(k, T, rope), v, T, H, KH, D)
		})
	}

	qkv := param(t, rng, "qkv", B*T, 3*C)
	checkTape(t, "split", pool, []*Var{qkv}, func(tp *Tape) *Var {
		p := tp.Split(qkv, C, 2*C-3, 3) // the middle part is used twice, the last not at all
		return tp.Add(tp.Add(p[0], p[0]), tp.Split(p[1], C, C-3)[0])
	})
	factors := []float32{1, 4, 16}
	q6 := param(t, rng, "q6", B*T, 2*6)
	checkTape(t, "rope with factors", pool, []*Var{q6}, func(tp *Tape) *Var {
		return tp.RoPE(q6, T, Rope{D: 6, Dims: 6, Base: 500, FreqScale: 0.5, Factors: factors})
	})

	targets := []int32{1, -1, 4, 0, -1, 2}
	checkTape(t, "cross_entropy", pool, []*Var{x, w}, func(tp *Tape) *Var {
		return tp.CrossEntropy(tp.Linear(x, w, nil), targets, -1)
	})
}

func TestConstantGetsNoGradient(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	w := param(t, rng, "w", 3, 2)
	x, err := Const("x", []float32{1, 2, 3, 4}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	tp := NewTape(pool)
	l := tp.CrossEntropy(tp.Linear(x, w, nil), []int32{0, 2}, -1)
	if err := tp.Backward(l, 1); err != nil {
		t.Fatal(err)
	}
	if x.Grad != nil {
		t.Fatalf("constant got a gradient %v", x.Grad)
	}
	if err := tp.Backward(l, 1); err == nil || !strings.Contains(err.Error(), "already ran") {
		t.Fatalf("second backward: %v", err)
	}
	if math.IsNaN(float64(l.Data[0])) || w.Grad[0] == 0 {
		t.Fatalf("loss %v, weight gradient %v", l.Data[0], w.Grad)
	}
}

func TestTapeErrors(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	emb := param(t, rng, "token_embd", 4, 3)
	w := param(t, rng, "w", 2, 5)
	tp := NewTape(pool)
	for _, c := range []struct {
		name string
		run  func() *Var
		want string
	}{
		{"token out of range", func() *Var { return tp.Embedding(emb, []int32{1, 4}) }, "token 4 at index 1"},
		{"linear shape", func() *Var { return tp.Linear(tp.Embedding(emb, []int32{1}), w, nil) }, "shapes do not fit"},
		{"target out of range", func() *Var { return tp.CrossEntropy(tp.Embedding(emb, []int32{1}), []int32{3}, -1) }, "target 3"},
		{"all ignored", func() *Var { return tp.CrossEntropy(tp.Embedding(emb, []int32{1}), []int32{-1}, -1) }, "all 1 targets are ignored"},
		{"split widths", func() *Var { return tp.Split(tp.Embedding(emb, []int32{1}), 2, 2)[1] }, "do not add up to 3"},
		{"attention heads", func() *Var {
			x := tp.Embedding(emb, []int32{1, 2})
			return tp.Attention(x, x, x, 2, 3, 2, 1)
		}, "attention"},
	} {
		tp.Reset()
		y := c.run()
		_ = tp.RMSNorm(y, emb, 1e-5) // ops after an error do nothing
		err := tp.Backward(y, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	tp.Reset()
	if err := tp.Backward(tp.Embedding(emb, []int32{1}), 1); err == nil || !strings.Contains(err.Error(), "scalar") {
		t.Errorf("non-scalar loss: %v", err)
	}
	w16, err := tensor.New("w16", tensor.F16, make([]byte, 12), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParamFromTensor(w16); err == nil || !strings.Contains(err.Error(), "dequantized") {
		t.Errorf("F16 tensor as a parameter: %v", err)
	}
	w32, _ := tensor.FromFloat32("w32", []float32{1, 2, 3, 4, 5, 6}, 3, 2) // ne = [3, 2]: 2 rows of 3
	p, err := ParamFromTensor(w32)
	if err != nil || p.Rows() != 2 || p.Cols() != 3 || p.Data[3] != 4 {
		t.Fatalf("F32 tensor as a parameter: %v %v", p, err)
	}
	p.Data[3] = 40 // shared, not copied
	if v, _ := w32.Float32s(); v[3] != 40 {
		t.Errorf("parameter does not share the tensor's values: %v", v)
	}
	if _, err := NewParam("p", make([]float32, 5), 2, 3); err == nil {
		t.Error("NewParam accepted 5 values for shape [2 3]")
	}
	if p, _ := NewParam("blk.0.attn_norm.weight", make([]float32, 3), 3); !p.NoDecay {
		t.Error("a 1-D parameter should default to no weight decay")
	}
	if p, _ := NewParam("token_embd.weight", make([]float32, 6), 2, 3); !p.NoDecay {
		t.Error("an embedding table should default to no weight decay")
	}
	if p, _ := NewParam("blk.0.attn_q.weight", make([]float32, 6), 2, 3); p.NoDecay {
		t.Error("a matrix should default to weight decay")
	}
}
