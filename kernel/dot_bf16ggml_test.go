// Reference: dot_bf16ggml.go (ggml_vec_dot_bf16's AVX2 order).

package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotBF16GGML: the selected vector part (AVX2 assembly where the CPU
// has it) gives dotBF16GGMLVecGeneric's bits, and DotBF16GGML stays within
// float32 rounding of the float64 dot, for lengths with and without a tail
// and for activations that bfloat16 represents (as llama.cpp converts them).
// A fold in another order (the F16 dot's VHADDPS one) or a lost accumulator
// changes the bits of most of these products.
func TestDotBF16GGML(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 7, 32, 64, 96, 100, 1031} {
		for range 20 {
			w := make([]byte, 2*n)
			x := make([]byte, 4*n)
			var want, mag float64
			for i := range n {
				wb := FP32ToBF16(float32(r.NormFloat64() * math.Exp(r.NormFloat64())))
				binary.LittleEndian.PutUint16(w[2*i:], wb)
				xv := BF16ToFP32(FP32ToBF16(float32(r.NormFloat64())))
				binary.LittleEndian.PutUint32(x[4*i:], math.Float32bits(xv))
				p := float64(BF16ToFP32(wb)) * float64(xv)
				want += p
				mag += math.Abs(p)
			}
			np := n &^ 31
			if g, a := dotBF16GGMLVecGeneric(np, w, x), dotBF16GGMLVec(np, w, x); math.Float32bits(g) != math.Float32bits(a) {
				t.Fatalf("n %d: vector part %v (%08x), plain Go %v (%08x)", n, a, math.Float32bits(a), g, math.Float32bits(g))
			}
			got := float64(DotBF16GGML(n, w, x))
			if math.Abs(got-want) > 1e-6*mag+1e-30 {
				t.Fatalf("n %d: got %v, want %v", n, got, want)
			}
			out := make([]float32, 3)
			DotBF16GGMLRows(n, append(append(append([]byte(nil), w...), w...), w...), len(w), x, out)
			for i, v := range out {
				if v != float32(got) {
					t.Fatalf("n %d: rows[%d] = %v, want %v", n, i, v, got)
				}
			}
		}
	}
}
