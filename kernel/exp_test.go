package kernel

import (
	"math"
	"math/rand"
	"testing"
)

// expShift (AVX2 where the CPU allows) against math.Exp in float64: each
// value within 4 ulps (ggml_v_expf is within ~1.5) plus 2e-38 absolute for
// arguments below the -87.3 clamp; the sum within 1e-6 relative. Lengths
// 0…67 exercise the groups of 8 and the tail; guards after dst stay put.
func TestExpShift(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for n := 0; n < 68; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.Float64()*120 - 110) // e^-110 … e^10 after the shift
		}
		m := float32(r.Float64()*4 - 2)
		dst := make([]float32, n+4)
		for i := range dst {
			dst[i] = -1
		}
		z := expShift(dst[:n], x, m)
		var want float64
		for i, v := range x {
			e := math.Exp(float64(v - m))
			want += e
			if tol := 4*math.Abs(e)*0x1p-23 + 2e-38; math.Abs(float64(dst[i])-e) > tol {
				t.Fatalf("n %d: exp(%v - %v) = %v, want %v ± %g", n, v, m, dst[i], e, tol)
			}
		}
		for i := n; i < len(dst); i++ {
			if dst[i] != -1 {
				t.Fatalf("n %d: guard %d overwritten", n, i-n)
			}
		}
		if math.Abs(z-want) > 1e-6*want {
			t.Fatalf("n %d: sum %v, want %v", n, z, want)
		}
	}
}
