// Reference: PyTorch torch.optim.AdamW documentation (the algorithm box), worked by hand below.

package kernel

import (
	"math"
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
