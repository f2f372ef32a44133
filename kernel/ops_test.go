// Reference: naive float64 formulas of RMSNorm, LayerNorm, softmax, RoPE (Su et al. 2021, RoFormer §3.4), SiLU and GELU.

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func opsRandVec(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// Lengths cover the empty-ish, odd and typical head/embedding sizes.
var opLengths = []int{1, 2, 3, 7, 8, 31, 64, 67, 256, 1001}

// The float32 kernels against float64 formulas: errors of a few ulps of the
// result's magnitude, so atol 1e-5 and rtol 1e-5 bound them with margin.
const opAtol, opRtol = 1e-5, 1e-5

func TestRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range opLengths {
		x, w := opsRandVec(r, n, 2), opsRandVec(r, n, 1)
		want := make([]float64, n)
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(n)+1e-5)
		for i := range x {
			want[i] = float64(x[i]) * s * float64(w[i])
		}
		dst, full := testkit.Guarded(n, 4)
		xc := append([]float32(nil), x...)
		RMSNorm(dst, x, w, 1e-5)
		testkit.CheckGuards(t, full, n, 4)
		testkit.CheckClose(t, "x unchanged", x, xc, 0, 0)
		testkit.CheckClose(t, "rmsnorm", opsF64(dst), want, opAtol, opRtol)
		RMSNorm(x, x, w, 1e-5) // in place
		testkit.CheckClose(t, "rmsnorm in place", x, dst, 0, 0)
	}
}

func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range opLengths[1:] {
		x, w, b := opsRandVec(r, n, 3), opsRandVec(r, n, 1), opsRandVec(r, n, 1)
		for i := range x {
			x[i] += 5 // a mean far from zero checks the centring
		}
		var mean, vr float64
		for _, v := range x {
			mean += float64(v)
		}
		mean /= float64(n)
		for _, v := range x {
			vr += (float64(v) - mean) * (float64(v) - mean)
		}
		s := 1 / math.Sqrt(vr/float64(n)+1e-5)
		want, wantNoBias := make([]float64, n), make([]float64, n)
		for i := range x {
			wantNoBias[i] = (float64(x[i]) - mean) * s * float64(w[i])
			want[i] = wantNoBias[i] + float64(b[i])
		}
		dst, full := testkit.Guarded(n, 4)
		LayerNorm(dst, x, w, b, 1e-5)
		testkit.CheckGuards(t, full, n, 4)
		testkit.CheckClose(t, "layernorm", opsF64(dst), want, 1e-4, 1e-4)
		LayerNorm(dst, x, w, nil, 1e-5)
		testkit.CheckClose(t, "layernorm no bias", opsF64(dst), wantNoBias, 1e-4, 1e-4)
	}
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range opLengths {
		x := opsRandVec(r, n, 5)
		if n > 2 {
			x[1] = float32(math.Inf(-1)) // a masked position
		}
		m := math.Inf(-1)
		for _, v := range x {
			m = math.Max(m, float64(v))
		}
		want := make([]float64, n)
		var sum float64
		for i, v := range x {
			want[i] = math.Exp(float64(v) - m)
			sum += want[i]
		}
		for i := range want {
			want[i] /= sum
		}
		Softmax(x)
		testkit.CheckClose(t, "softmax", opsF64(x), want, 1e-6, 1e-5)
		if n > 2 && x[1] != 0 {
			t.Fatalf("masked entry = %v, want 0", x[1])
		}
	}
}

func TestRope(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, nDims := range []int{2, 8, 32, 64, 128} {
		for _, pos := range []int{0, 1, 17, 255, 4000} {
			factors := make([]float32, nDims/2)
			for i := range factors {
				factors[i] = 1 + float32(i%3)
			}
			for _, ff := range [][]float32{nil, factors} {
				const base, scale = 10000.0, 0.5
				// Want: float64 angles, compared with a bound that grows with
				// the angle since float32 θ carries a relative error of ~nDims ulps.
				angle := func(i int) float64 {
					a := scale * float64(pos) * math.Pow(base, -2*float64(i)/float64(nDims))
					if ff != nil {
						a /= float64(ff[i])
					}
					return a
				}
				x := opsRandVec(r, nDims+3, 1) // elements past nDims stay put
				norm, neox := append([]float32(nil), x...), append([]float32(nil), x...)
				cache := make([]float32, nDims)
				RopeCache(cache, pos, nDims, base, scale, ff)
				RopeNorm(norm, cache, nDims)
				RopeNeox(neox, cache, nDims)
				wantNorm, wantNeox := opsF64(x), opsF64(x)
				for i := 0; i < nDims/2; i++ {
					c, s := math.Cos(angle(i)), math.Sin(angle(i))
					a, b := float64(x[2*i]), float64(x[2*i+1])
					wantNorm[2*i], wantNorm[2*i+1] = a*c-b*s, a*s+b*c
					a, b = float64(x[i]), float64(x[i+nDims/2])
					wantNeox[i], wantNeox[i+nDims/2] = a*c-b*s, a*s+b*c
				}
				tol := 1e-5 + 2e-7*float64(nDims)*float64(pos)*scale
				testkit.CheckClose(t, "rope norm", opsF64(norm), wantNorm, tol, 0)
				testkit.CheckClose(t, "rope neox", opsF64(neox), wantNeox, tol, 0)
			}
		}
	}
}

func TestActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range opLengths {
		x, up := opsRandVec(r, n, 4), opsRandVec(r, n, 1)
		silu, gelu, glu := make([]float64, n), make([]float64, n), make([]float64, n)
		for i, v := range x {
			a := float64(v)
			silu[i] = a / (1 + math.Exp(-a))
			gelu[i] = 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
			glu[i] = silu[i] * float64(up[i])
		}
		dst := make([]float32, n)
		SiLU(dst, x)
		testkit.CheckClose(t, "silu", opsF64(dst), silu, opAtol, opRtol)
		GELU(dst, x)
		testkit.CheckClose(t, "gelu", opsF64(dst), gelu, opAtol, opRtol)
		// Half precision in and out: relative error ≤ 2⁻¹¹ each way, plus the
		// slope of GELU (≤ 1.13) times the input rounding.
		GELUF16(dst, x)
		testkit.CheckClose(t, "gelu f16", opsF64(dst), gelu, 1e-4, 3e-3)
		SwiGLU(dst, x, up)
		testkit.CheckClose(t, "swiglu", opsF64(dst), glu, opAtol, opRtol)
	}
	big := []float32{-11, 12}
	GELUF16(big, big)
	if big[0] != 0 || big[1] != 12 {
		t.Fatalf("GELUF16 clamps: got %v", big)
	}
}

func TestVectorArithmetic(t *testing.T) {
	a, b := []float32{1, 2, 3}, []float32{4, 5, 6}
	d := make([]float32, 3)
	Add(d, a, b)
	testkit.CheckClose(t, "add", d, []float32{5, 7, 9}, 0, 0)
	Mul(d, a, b)
	testkit.CheckClose(t, "mul", d, []float32{4, 10, 18}, 0, 0)
	Scale(d, 0.5)
	testkit.CheckClose(t, "scale", d, []float32{2, 5, 9}, 0, 0)
	h := []float32{1.0001, 65504, 1e-8}
	RoundF16(h)
	testkit.CheckClose(t, "roundf16", h, []float32{1, 65504, 0}, 0, 0)
}

func opsF64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// ExpGGML is a polynomial approximation: within 2 ulps (relative 2.4e-7) of
// e^x over the whole float32 range where e^x is a normal number, and it
// saturates as expf does beyond.
func TestExpGGML(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.0137 {
		got, want := float64(ExpGGML(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 2.4e-7*want {
			t.Fatalf("ExpGGML(%v) = %v, want %v", x, got, want)
		}
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-200, 0}, {200, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := ExpGGML(c.x); got != c.want {
			t.Errorf("ExpGGML(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
