// Reference: the summation orders of llama.cpp's tinyBLAS (sgemm.cpp) and ggml_vec_dot_f16 (AVX2), written
// as plain index arithmetic.

package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// The unrolled dots must give exactly the sums of these direct statements
// of the two orders, for every length (full steps, tails, empty).
func refLanes(t *[1 << 16]float32, w []byte, x []float32, lanes int) []float32 {
	acc := make([]float32, lanes)
	for i := range x {
		acc[i%lanes] += t[uint16(w[2*i])|uint16(w[2*i+1])<<8] * x[i]
	}
	return acc
}

func TestDotHalvesOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	tb := f16Table()
	for n := 0; n < 200; n++ {
		w := make([]byte, 2*n)
		x := make([]float32, n)
		var exact float64
		for i := range x {
			h := kernel.FP32ToFP16(float32(r.NormFloat64()))
			w[2*i], w[2*i+1] = byte(h), byte(h>>8)
			x[i] = kernel.FP16ToFP32(kernel.FP32ToFP16(float32(r.NormFloat64())))
			exact += float64(kernel.FP16ToFP32(h)) * float64(x[i])
		}
		l := refLanes(tb, w, x, 8)
		a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
		if got, want := dotHalvesLanes8(tb, w, x), (a+c)+(b+d); got != want {
			t.Fatalf("lanes8, n %d: %v, want %v", n, got, want)
		}
		acc := refLanes(tb, w, x, 32)
		var v [8]float32
		for m := range 8 {
			v[m] = (acc[m] + acc[16+m]) + (acc[8+m] + acc[24+m])
		}
		a, b, c, d = v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		got := dotHalvesVec(tb, w, x)
		if want := (a + b) + (c + d); got != want {
			t.Fatalf("vec, n %d: %v, want %v", n, got, want)
		}
		// Both are the dot product, to float32 rounding of n terms.
		if math.Abs(float64(got)-exact) > 1e-6*float64(n+1)*math.Max(1, math.Abs(exact)) {
			t.Fatalf("n %d: %v, exact %v", n, got, exact)
		}
	}
}
