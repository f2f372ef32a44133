// Reference: PyTorch torch.optim.AdamW documentation (the algorithm box), worked by hand below.

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// TestAdamWHand follows three parameters through two steps, the expected
// values worked out in float64 from PyTorch's algorithm:
// lr 0.1, β 0.9/0.999, eps 1e-8, wd 0.01.
func TestAdamWHand(t *testing.T) {
	const lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.01
	p := []float32{1, -2, 0.5}
	m := make([]float32, 3)
	v := make([]float32, 3)
	g1 := []float32{0.5, -1, 0}
	g2 := []float32{0.25, 2, 1}

	// Step 1: m = 0.1g, v = 0.001g²; m̂ = g, v̂ = g², so the Adam term is
	// lr·g/(|g|+eps) = ±0.1 (0 where g = 0); decay multiplies p by 0.999.
	want1 := []float64{
		1*0.999 - 0.1*0.5/(0.5+eps),
		-2*0.999 + 0.1*1/(1+eps),
		0.5 * 0.999,
	}
	AdamW(p, g1, m, v, lr, b1, b2, eps, wd, 1)
	testkit.CheckClose(t, "p after step 1", to64(p), want1, 1e-7, 1e-6)

	// Step 2, from the moments of step 1.
	want2 := make([]float64, 3)
	for i := range p {
		m1 := 0.1 * float64(g1[i])
		v1 := 0.001 * float64(g1[i]) * float64(g1[i])
		m2 := 0.9*m1 + 0.1*float64(g2[i])
		v2 := 0.999*v1 + 0.001*float64(g2[i])*float64(g2[i])
		mh := m2 / (1 - 0.81)
		vh := v2 / (1 - 0.999*0.999)
		want2[i] = want1[i]*0.999 - 0.1*mh/(math.Sqrt(vh)+eps)
	}
	AdamW(p, g2, m, v, lr, b1, b2, eps, wd, 2)
	testkit.CheckClose(t, "p after step 2", to64(p), want2, 1e-6, 1e-6)
	// Hand figure for the first parameter: m₂ = 0.9·0.05 + 0.025 = 0.07,
	// m̂ = 0.07/0.19; v₂ = 0.999·0.00025 + 0.0000625, v̂ = v₂/0.001999.
	if !testkit.Close(float64(m[0]), 0.07, 1e-8, 1e-6) {
		t.Fatalf("m[0] = %v, want 0.07", m[0])
	}
}

// TestAdamWNoDecay: wd = 0 is plain Adam; a zero gradient on fresh moments
// leaves the parameter where it is.
func TestAdamWNoDecay(t *testing.T) {
	p := []float32{3}
	AdamW(p, []float32{0}, []float32{0}, []float32{0}, 0.1, 0.9, 0.999, 1e-8, 0, 1)
	if p[0] != 3 {
		t.Fatalf("p = %v, want 3", p[0])
	}
}

// TestAdamWMatchesGeneric checks the selected AdamW (assembly on AVX2
// machines) against the plain loop bit for bit, over lengths 0…67 and a
// large odd one, at several start offsets, with guard values around every
// buffer and gradients left unchanged. Values span magnitudes (and include
// zero gradients and moments) so that every rounding step is exercised; a
// fused multiply-add or a reordered sum would differ in the last bit.
func TestAdamWMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 1))
	val := func() float32 {
		if rng.IntN(8) == 0 {
			return 0
		}
		return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-4)))
	}
	const margin = 5
	lengths := []int{1001}
	for n := range 68 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, off := range []int{0, 1, 3} {
			var bufs, fulls [4][]float32
			for k := range bufs {
				bufs[k], fulls[k] = testkit.Guarded(n+off, margin)
				bufs[k] = bufs[k][off:]
				for i := range bufs[k] {
					bufs[k][i] = val()
				}
				if k == 3 { // v ≥ 0
					for i := range bufs[k] {
						bufs[k][i] *= bufs[k][i]
					}
				}
			}
			p, g, m, v := bufs[0], bufs[1], bufs[2], bufs[3]
			wp, wm, wv := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
			g0 := append([]float32(nil), g...)
			for step := 1; step <= 3; step++ {
				AdamW(p, g, m, v, 3e-4, 0.9, 0.95, 1e-8, 0.1, step)
				c := newAdamConsts(3e-4, 0.9, 0.95, 1e-8, 0.1, step)
				adamwGeneric(wp, g0, wm, wv, &c)
			}
			for i := range n {
				if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(m[i]) != math.Float32bits(wm[i]) ||
					math.Float32bits(v[i]) != math.Float32bits(wv[i]) || g[i] != g0[i] {
					t.Fatalf("n %d offset %d element %d: p, m, v, g = %v %v %v %v, want %v %v %v %v",
						n, off, i, p[i], m[i], v[i], g[i], wp[i], wm[i], wv[i], g0[i])
				}
			}
			for k := range fulls {
				for i := range off { // the offset's skipped elements are not the kernel's either
					fulls[k][margin+i] = testkit.Guard
				}
				testkit.CheckGuards(t, fulls[k], n+off, margin)
			}
		}
	}
}

// BenchmarkAdamW times one update of 1M parameters (16 MB of float32
// state, beyond L2) with the plain loop and with the selected kernel:
//
//	go test ./kernel -run XXX -bench AdamW
func BenchmarkAdamW(b *testing.B) {
	const n = 1 << 20
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		p[i], g[i] = 0.01*float32(i%97), 1e-3*float32(i%89-44)
	}
	c := newAdamConsts(3e-4, 0.9, 0.95, 1e-8, 0.1, 5)
	for _, k := range []struct {
		name string
		fn   func(p, g, m, v []float32, c *adamConsts)
	}{{"go", adamwGeneric}, {"selected", adamw}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(n * 4 * 7) // four arrays read, three written
			for b.Loop() {
				k.fn(p, g, m, v, &c)
			}
		})
	}
}
