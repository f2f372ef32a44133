package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// expGGMLInputs is a row of n values that reaches every branch of
// ExpGGML: ordinary arguments, the |n| > 126 and |n| > 192 ranges of both
// signs, the edges between them, ±Inf, NaN and zeros.
func expGGMLInputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 87.3, -87.3, 87.4, -87.4, 88.72, -88.72, 89, -89,
		133, -133, 134, -134, 200, -200, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30}
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(4) {
		case 0:
			x[i] = special[rng.IntN(len(special))]
		case 1:
			x[i] = float32(rng.NormFloat64() * 100) // the slow lanes, often
		default:
			x[i] = float32(rng.NormFloat64() * 8)
		}
	}
	return x
}

// skipUnlessAsm skips a test that compares the assembly kernel name with
// its plain-Go original when this build or CPU runs no such assembly.
func skipUnlessAsm(t *testing.T, name string) {
	t.Helper()
	if !slices.Contains(accelerated, name) {
		t.Skipf("kernel %q runs in plain Go here (%s): nothing to compare", name, Features())
	}
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestSoftmaxExpMatchesGeneric: the selected softmaxExp (AVX2 assembly
// where the CPU allows) gives the plain-Go loop's values and sum bit for
// bit, for rows of every length up to 70 with every branch of ExpGGML in
// them, and for the shift softmax applies (x − max ≤ 0).
func TestSoftmaxExpMatchesGeneric(t *testing.T) {
	skipUnlessAsm(t, "softmax-silu")
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 400 {
		n := trial % 71
		x := expGGMLInputs(rng, n)
		m := float32(rng.NormFloat64() * 50)
		if trial%2 == 0 { // as Softmax calls it: the row's maximum, no NaN
			m = float32(math.Inf(-1))
			for i, v := range x {
				if v != v || math.IsInf(float64(v), 1) {
					x[i] = -3
				}
				m = max(m, x[i])
			}
		}
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		gs := softmaxExp(got, m)
		ws := softmaxExpTail(want, m, 0)
		for i := range got {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("trial %d, n %d: exp(%g − %g) = %g (%#x), plain Go %g (%#x)", trial, n, x[i], m, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
		if gs != ws && !(gs != gs && ws != ws) {
			t.Fatalf("trial %d, n %d: sum %v, plain Go %v", trial, n, gs, ws)
		}
	}
}

// TestSiLUMatchesGeneric: the selected siluGated gives the plain-Go
// values bit for bit, gated and not, in place and not.
func TestSiLUMatchesGeneric(t *testing.T) {
	skipUnlessAsm(t, "softmax-silu")
	rng := rand.New(rand.NewPCG(5, 6))
	ref := func(dst, x, up []float32) { siluTail(dst, x, up, 0) }
	for trial := range 300 {
		n := trial % 67
		x, up := expGGMLInputs(rng, n), expGGMLInputs(rng, n)
		for _, gated := range []bool{false, true} {
			u := up
			if !gated {
				u = nil
			}
			want := make([]float32, n)
			ref(want, x, u)
			got := make([]float32, n)
			siluGated(got, x, u)
			inPlace := append([]float32(nil), x...)
			siluGated(inPlace, inPlace, u)
			for i := range want {
				if !sameBits(got[i], want[i]) || !sameBits(inPlace[i], want[i]) {
					t.Fatalf("trial %d, gated %v: silu(%g)·%v = %g, in place %g, plain Go %g", trial, gated, x[i], u, got[i], inPlace[i], want[i])
				}
			}
		}
	}
}

// TestExpGGMLBranches checks the plain-Go ExpGGML, which the assembly is
// held to, against e^x: within 2 ulp where the result is normal, 0 far
// below, +Inf far above, and NaN for NaN.
func TestExpGGMLBranches(t *testing.T) {
	for x := float32(-87); x <= 88.5; x += 0.0137 {
		got, want := float64(ExpGGML(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 2*ulp32(want) {
			t.Fatalf("ExpGGML(%g) = %g, e^x = %g", x, got, want)
		}
	}
	if v := ExpGGML(-200); v != 0 {
		t.Errorf("ExpGGML(-200) = %g, want 0", v)
	}
	if v := ExpGGML(float32(math.Inf(-1))); v != 0 {
		t.Errorf("ExpGGML(-Inf) = %g, want 0", v)
	}
	if v := ExpGGML(200); !math.IsInf(float64(v), 1) {
		t.Errorf("ExpGGML(200) = %g, want +Inf", v)
	}
	if v := ExpGGML(float32(math.NaN())); v == v {
		t.Errorf("ExpGGML(NaN) = %g, want NaN", v)
	}
}

func ulp32(v float64) float64 {
	f := float32(v)
	return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
}

// BenchmarkSoftmaxSiLU: a 512-entry attention row's softmax and a
// 2048-wide SwiGLU, in the selected kernels and in plain Go.
func BenchmarkSoftmaxSiLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	row, gate, up := make([]float32, 512), make([]float32, 2048), make([]float32, 2048)
	for i := range row {
		row[i] = float32(rng.NormFloat64() * 4)
	}
	for i := range gate {
		gate[i], up[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	dst, work := make([]float32, 2048), make([]float32, 512)
	for _, impl := range []struct {
		name    string
		softmax func([]float32, float32) float64
		silu    func(dst, x, up []float32)
	}{
		{"selected", softmaxExp, siluGated},
		{"go", func(x []float32, m float32) float64 { return softmaxExpTail(x, m, 0) }, func(dst, x, up []float32) { siluTail(dst, x, up, 0) }},
	} {
		b.Run("softmax512/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				copy(work, row)
				impl.softmax(work, 12)
			}
		})
		b.Run("swiglu2048/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.silu(dst, gate, up)
			}
		})
	}
}
