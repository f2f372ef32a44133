// Reference: llm.c test_gpt2.c (gradients checked against a reference); central differences as in
// ggml's test-grad0.c. The float64 forwards here restate ops.go's formulas independently.

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// Each backward kernel is checked the same way: a scalar loss L = Σ r·y(x)
// with fixed random weights r, computed by an independent float64 forward,
// is differentiated numerically by central differences in every input
// element, and the float32 kernel's gradient (called with dy = r) must agree
// within gradTol. The float64 forwards are also checked against ops.go, so
// the gradient is that of the forward inference runs.
//
// Bounds: central differences with step 1e-5 on a float64 loss of order 1
// err by about h²·|third derivative| + ε/h ≈ 1e-10; the float32 kernels err by a few ε
// relative on values of order 1, amplified by at most ~√(terms) in the sums.
// atol 2e-4 plus rtol 2e-3 leaves an order of magnitude between that and
// any real mistake (a wrong sign or a missing term is off by O(1)).
const (
	gradStep = 1e-5
	gradAtol = 2e-4
	gradRtol = 2e-3
)

// gradCheck perturbs each element of x (float64) by ±gradStep, evaluates
// the loss f, and compares (f(x+h) − f(x−h)) / 2h with got[i].
func gradCheck(t *testing.T, name string, f func() float64, x []float64, got []float32) {
	t.Helper()
	if len(got) != len(x) {
		t.Fatalf("%s: gradient has %d elements, input %d", name, len(got), len(x))
	}
	for i := range x {
		old := x[i]
		x[i] = old + gradStep
		fp := f()
		x[i] = old - gradStep
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * gradStep)
		if !testkit.Close(float64(got[i]), num, gradAtol, gradRtol) {
			t.Fatalf("%s: d/dx[%d] = %.7g analytic, %.7g numeric (atol %g, rtol %g)", name, i, got[i], num, gradAtol, gradRtol)
		}
	}
}

func randF32(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(r.NormFloat64())
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func weighted(r []float32, y []float64) float64 {
	var s float64
	for i, v := range y {
		s += float64(r[i]) * v
	}
	return s
}

// zeroGuarded returns a zeroed slice of n floats with guard margins.
func zeroGuarded(n int) (s, full []float32) {
	s, full = testkit.Guarded(n, 8)
	clear(s)
	return s, full
}

func TestLinearBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const N, R, C = 3, 4, 5
	x, w, b := randF32(rng, N*C, 1), randF32(rng, R*C, 1), randF32(rng, R, 1)
	dy := randF32(rng, N*R, 1)
	dy[R+2] = 0 // a zero gradient takes the skip path
	x64, w64, b64 := to64(x), to64(w), to64(b)
	loss := func() float64 {
		y := make([]float64, N*R)
		for n := range N {
			for r := range R {
				s := b64[r]
				for c := range C {
					s += w64[r*C+c] * x64[n*C+c]
				}
				y[n*R+r] = s
			}
		}
		return weighted(dy, y)
	}
	dx, fx := zeroGuarded(N * C)
	dw, fw := zeroGuarded(R * C)
	db, fb := zeroGuarded(R)
	// Split the ranges in two calls each, as workers would.
	LinearBackwardInput(dx, dy, w, R, C, 0, 1)
	LinearBackwardInput(dx, dy, w, R, C, 1, N)
	LinearBackwardWeight(dw, db, dy, x, N, R, C, 0, 2)
	LinearBackwardWeight(dw, db, dy, x, N, R, C, 2, R)
	testkit.CheckGuards(t, fx, N*C, 8)
	testkit.CheckGuards(t, fw, R*C, 8)
	testkit.CheckGuards(t, fb, R, 8)
	gradCheck(t, "dx", loss, x64, dx)
	gradCheck(t, "dw", loss, w64, dw)
	gradCheck(t, "db", loss, b64, db)
}

func TestEmbeddingAndAddBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const V, C, B, T = 5, 3, 2, 3
	table, pos := randF32(rng, V*C, 1), randF32(rng, T*C, 1)
	tokens := []int32{4, 1, 4, 0, 2, 4} // 4 repeats: its gradients must add
	dy := randF32(rng, B*T*C, 1)
	tab64, pos64 := to64(table), to64(pos)
	loss := func() float64 { // y[b,t] = table[token] + pos[t]
		y := make([]float64, B*T*C)
		for n, tok := range tokens {
			for c := range C {
				y[n*C+c] = tab64[int(tok)*C+c] + pos64[(n%T)*C+c]
			}
		}
		return weighted(dy, y)
	}
	dt, ft := zeroGuarded(V * C)
	dp, fp := zeroGuarded(T * C)
	EmbeddingBackward(dt, dy, tokens, C)
	for b := range B {
		AddTo(dp, dy[b*T*C:(b+1)*T*C])
	}
	testkit.CheckGuards(t, ft, V*C, 8)
	testkit.CheckGuards(t, fp, T*C, 8)
	gradCheck(t, "dtable", loss, tab64, dt)
	gradCheck(t, "dpos", loss, pos64, dp)
}

func rms64(x, w []float64, eps float64) []float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	sc := 1 / math.Sqrt(s/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * sc * w[i]
	}
	return y
}

func layer64(x, w, b []float64, eps float64) []float64 {
	n := float64(len(x))
	var m, v float64
	for _, e := range x {
		m += e
	}
	m /= n
	for _, e := range x {
		v += (e - m) * (e - m)
	}
	sc := 1 / math.Sqrt(v/n+eps)
	y := make([]float64, len(x))
	for i, e := range x {
		y[i] = (e-m)*sc*w[i] + b[i]
	}
	return y
}

func TestNormBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const C = 7
	const eps = 1e-5
	x, w, b, dy := randF32(rng, C, 1.5), randF32(rng, C, 1), randF32(rng, C, 1), randF32(rng, C, 1)
	x64, w64, b64 := to64(x), to64(w), to64(b)

	// The float64 forwards are ops.go's norms.
	got := make([]float32, C)
	RMSNorm(got, x, w, eps)
	testkit.CheckClose(t, "RMSNorm vs float64", to64(got), rms64(x64, w64, eps), 1e-5, 1e-5)
	LayerNorm(got, x, w, b, eps)
	testkit.CheckClose(t, "LayerNorm vs float64", to64(got), layer64(x64, w64, b64, eps), 1e-5, 1e-5)

	dx, fx := zeroGuarded(C)
	dw, fw := zeroGuarded(C)
	RMSNormBackward(dx, dw, dy, x, w, eps)
	testkit.CheckGuards(t, fx, C, 8)
	testkit.CheckGuards(t, fw, C, 8)
	rms := func() float64 { return weighted(dy, rms64(x64, w64, eps)) }
	gradCheck(t, "rmsnorm dx", rms, x64, dx)
	gradCheck(t, "rmsnorm dw", rms, w64, dw)

	dx, dw = make([]float32, C), make([]float32, C)
	db, fb := zeroGuarded(C)
	LayerNormBackward(dx, dw, db, dy, x, w, eps)
	testkit.CheckGuards(t, fb, C, 8)
	ln := func() float64 { return weighted(dy, layer64(x64, w64, b64, eps)) }
	gradCheck(t, "layernorm dx", ln, x64, dx)
	gradCheck(t, "layernorm dw", ln, w64, dw)
	gradCheck(t, "layernorm db", ln, b64, db)
	// Without a bias the other gradients are unchanged.
	dx2, dw2 := make([]float32, C), make([]float32, C)
	LayerNormBackward(dx2, dw2, nil, dy, x, w, eps)
	testkit.CheckClose(t, "layernorm dx without bias", dx2, dx, 0, 0)
}

func TestRopeBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const D, nDims = 8, 6 // the last D−nDims elements pass through
	cache := make([]float32, nDims)
	RopeCache(cache, 5, nDims, 10000, 1, nil)
	c64 := to64(cache)
	for _, neox := range []bool{false, true} {
		x, dy := randF32(rng, D, 1), randF32(rng, D, 1)
		x64 := to64(x)
		fwd := func() []float64 { // rotate pairs (i, j) by cache angle k
			y := append([]float64(nil), x64...)
			for i0 := 0; i0 < nDims; i0 += 2 {
				i, j := i0, i0+1
				if neox {
					i, j = i0/2, i0/2+nDims/2
				}
				c, s := c64[i0], c64[i0+1]
				y[i], y[j] = x64[i]*c-x64[j]*s, x64[i]*s+x64[j]*c
			}
			return y
		}
		got := append([]float32(nil), x...)
		rot, back, name := RopeNorm, RopeNormBackward, "rope normal"
		if neox {
			rot, back, name = RopeNeox, RopeNeoxBackward, "rope neox"
		}
		rot(got, cache, nDims)
		testkit.CheckClose(t, name+" vs float64", to64(got), fwd(), 1e-6, 1e-6)
		g := append([]float32(nil), dy...)
		back(g, cache, nDims)
		gradCheck(t, name, func() float64 { return weighted(dy, fwd()) }, x64, g)
	}
}

func silu64(x float64) float64 { return x / (1 + math.Exp(-x)) }

func gelu64(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func TestActivationBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 11
	x, up, dy := randF32(rng, n, 3), randF32(rng, n, 1), randF32(rng, n, 1)
	x[0], x[1] = 12, -12 // tails, where tanh saturates
	x64, up64 := to64(x), to64(up)
	apply := func(f func(float64) float64) func() float64 {
		return func() float64 {
			var s float64
			for i, v := range x64 {
				s += float64(dy[i]) * f(v)
			}
			return s
		}
	}

	got := make([]float32, n)
	SiLU(got, x)
	want := make([]float64, n)
	for i, v := range x64 {
		want[i] = silu64(v)
	}
	testkit.CheckClose(t, "SiLU vs float64", to64(got), want, 1e-6, 1e-6)
	dx, fx := zeroGuarded(n)
	SiLUBackward(dx, dy, x)
	testkit.CheckGuards(t, fx, n, 8)
	gradCheck(t, "silu", apply(silu64), x64, dx)

	GELU(got, x)
	for i, v := range x64 {
		want[i] = gelu64(v)
	}
	testkit.CheckClose(t, "GELU vs float64", to64(got), want, 1e-6, 1e-6)
	dx = make([]float32, n)
	GELUBackward(dx, dy, x)
	gradCheck(t, "gelu", apply(gelu64), x64, dx)

	SwiGLU(got, x, up)
	for i, v := range x64 {
		want[i] = silu64(v) * up64[i]
	}
	testkit.CheckClose(t, "SwiGLU vs float64", to64(got), want, 1e-5, 1e-6)
	dg, fg := zeroGuarded(n)
	du, fu := zeroGuarded(n)
	SwiGLUBackward(dg, du, dy, x, up)
	testkit.CheckGuards(t, fg, n, 8)
	testkit.CheckGuards(t, fu, n, 8)
	swi := func() float64 {
		var s float64
		for i, v := range x64 {
			s += float64(dy[i]) * silu64(v) * up64[i]
		}
		return s
	}
	gradCheck(t, "swiglu dgate", swi, x64, dg)
	gradCheck(t, "swiglu dup", swi, up64, du)
}

// attention64 is causal GQA attention in float64 (layout in backward_attn.go).
func attention64(q, k, v []float64, T, H, KH, D int) []float64 {
	out := make([]float64, T*H*D)
	group := H / KH
	for h := range H {
		g := h / group
		for t := range T {
			sc := make([]float64, t+1)
			m := math.Inf(-1)
			for s := range sc {
				for d := range D {
					sc[s] += q[t*H*D+h*D+d] * k[s*KH*D+g*D+d]
				}
				sc[s] /= math.Sqrt(float64(D))
				m = math.Max(m, sc[s])
			}
			var z float64
			for s := range sc {
				sc[s] = math.Exp(sc[s] - m)
				z += sc[s]
			}
			for s := range sc {
				for d := range D {
					out[t*H*D+h*D+d] += sc[s] / z * v[s*KH*D+g*D+d]
				}
			}
		}
	}
	return out
}

func TestAttentionBackward(t *testing.T) {
	for _, c := range []struct{ T, H, KH, D int }{{4, 4, 2, 3}, {3, 2, 2, 4}, {5, 3, 1, 2}} {
		rng := rand.New(rand.NewPCG(uint64(c.T), uint64(c.H)))
		T, H, KH, D := c.T, c.H, c.KH, c.D
		q, k, v := randF32(rng, T*H*D, 1), randF32(rng, T*KH*D, 1), randF32(rng, T*KH*D, 1)
		dout := randF32(rng, T*H*D, 1)
		q64, k64, v64 := to64(q), to64(k), to64(v)

		out, probs := make([]float32, T*H*D), make([]float32, H*T*T)
		for g := range KH { // one KV head per call, as workers take them
			AttentionForward(out, probs, q, k, v, T, H, KH, D, g, g+1)
		}
		testkit.CheckClose(t, "attention vs float64", to64(out), attention64(q64, k64, v64, T, H, KH, D), 1e-5, 1e-5)

		dq, fq := zeroGuarded(T * H * D)
		dk, fk := zeroGuarded(T * KH * D)
		dv, fv := zeroGuarded(T * KH * D)
		AttentionBackward(dq, dk, dv, dout, q, k, v, probs, make([]float32, T*T), T, H, KH, D, 0, KH)
		testkit.CheckGuards(t, fq, T*H*D, 8)
		testkit.CheckGuards(t, fk, T*KH*D, 8)
		testkit.CheckGuards(t, fv, T*KH*D, 8)
		loss := func() float64 { return weighted(dout, attention64(q64, k64, v64, T, H, KH, D)) }
		gradCheck(t, "attention dq", loss, q64, dq)
		gradCheck(t, "attention dk", loss, k64, dk)
		gradCheck(t, "attention dv", loss, v64, dv)
	}
}

func TestCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const N, V, ignore = 4, 6, -100
	logits := randF32(rng, N*V, 2)
	targets := []int32{3, ignore, 0, 5}
	l64 := to64(logits)
	mean := func() float64 {
		var s float64
		var cnt int
		for n, tg := range targets {
			if tg == ignore {
				continue
			}
			var z float64
			for _, v := range l64[n*V : (n+1)*V] {
				z += math.Exp(v)
			}
			s += math.Log(z) - l64[n*V+int(tg)]
			cnt++
		}
		return s / float64(cnt)
	}
	dl, fl := testkit.Guarded(N*V, 8) // overwritten, so no need to zero
	sum, count := CrossEntropy(dl, logits, targets, V, ignore, 1.0/3)
	testkit.CheckGuards(t, fl, N*V, 8)
	if count != 3 {
		t.Fatalf("count = %d, want 3 (one target ignored)", count)
	}
	if got, want := sum/float64(count), mean(); !testkit.Close(got, want, 1e-6, 1e-6) {
		t.Fatalf("mean loss %v, want %v", got, want)
	}
	for _, g := range dl[V : 2*V] {
		if g != 0 {
			t.Fatalf("ignored row has gradient %v", dl[V:2*V])
		}
	}
	gradCheck(t, "cross-entropy", mean, l64, dl)
}

// TestAxpy compares the selected Axpy (assembly on AVX2+FMA) with the plain
// loop over lengths 0…67 and 1001, at offsets 0…3, with guards around y
// and x checked unchanged. The assembly rounds once per element (fused),
// the loop twice, so they differ by at most 2u·(|a·x| + |y|), u = 2⁻²⁴.
func TestAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	lengths := make([]int, 0, 69)
	for n := range 68 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1001)
	for _, n := range lengths {
		for off := range 4 {
			xs := randF32(rng, n+off, 1)[off:]
			x0 := append([]float32(nil), xs...)
			y0 := randF32(rng, n, 1)
			a := float32(rng.NormFloat64())
			y, full := testkit.Guarded(n, 8+off)
			copy(y, y0)
			Axpy(a, xs, y)
			testkit.CheckGuards(t, full, n, 8+off)
			testkit.CheckClose(t, "x unchanged", xs, x0, 0, 0)
			want := append([]float32(nil), y0...)
			axpyGeneric(a, xs, want)
			for i := range y {
				bound := 2 * 0x1p-24 * (math.Abs(float64(a*xs[i])) + math.Abs(float64(y0[i])))
				if math.Abs(float64(y[i]-want[i])) > bound {
					t.Fatalf("n=%d off=%d: y[%d] = %v, plain loop %v (bound %g)", n, off, i, y[i], want[i], bound)
				}
			}
		}
	}
}

// BenchmarkAttention is one sequence of the ANCHORS.md 0.9M shape's
// attention (T 256, 4 heads of 32), forward and backward, on one thread.
func BenchmarkAttention(b *testing.B) {
	const T, H, KH, D = 256, 4, 4, 32
	rng := rand.New(rand.NewPCG(1, 1))
	q, k, v, dout := randF32(rng, T*H*D, 1), randF32(rng, T*KH*D, 1), randF32(rng, T*KH*D, 1), randF32(rng, T*H*D, 1)
	out, probs, scratch := make([]float32, T*H*D), make([]float32, H*T*T), make([]float32, T*T)
	dq, dk, dv := make([]float32, T*H*D), make([]float32, T*KH*D), make([]float32, T*KH*D)
	for b.Loop() {
		AttentionForward(out, probs, q, k, v, T, H, KH, D, 0, KH)
		AttentionBackward(dq, dk, dv, dout, q, k, v, probs, scratch, T, H, KH, D, 0, KH)
	}
}
