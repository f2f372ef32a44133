// Reference: ggml/src/ggml-cpu/vec.cpp (ggml_vec_dot_f16: GGML_F16_STEP 32, four GGML_F32Cx8
// accumulators, GGML_F32Cx8_REDUCE = GGML_F32x8_REDUCE, a float64 tail) and simd-mappings.h.

package kernel

import (
	"encoding/binary"
	"math"
)

// DotF16GGML returns Σ w[i]·x[i] for n half-precision weights (w, 2n bytes)
// and n float32 activations (x, 4n bytes) in the order of llama.cpp's AVX2
// ggml_vec_dot_f16, which it uses for F16 weights and a single token, with
// the activations converted to F16 (so x should hold values that F16
// represents, as model.State's RoundF16Into makes them): DotF32GGML's order
// with the weights widened. It differs from DotF16 (two accumulators, the
// order of the F16 tiles) by float32 rounding; decode takes this one to be
// closer to llama.cpp, and its four accumulators keep more loads in flight.
func DotF16GGML(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:4*n]
	np := n &^ 31
	s := float64(dotF16GGMLVec(np, w, x))
	for i := np; i < n; i++ {
		s += float64(half(w[2*i:]) * f32At(x, i))
	}
	return float32(s)
}

// DotF16GGMLRows is DotF16GGML over rows (DotRows).
func DotF16GGMLRows(n int, w []byte, rb int, x []byte, out []float32) {
	for r := range out {
		out[r] = DotF16GGML(n, w[r*rb:], x)
	}
}

// dotF16GGMLVec returns the float32 that DotF16GGML's vector part (its
// first np values, np a multiple of 32) folds to.
var dotF16GGMLVec = dotF16GGMLVecGeneric

func dotF16GGMLVecGeneric(np int, w, x []byte) float32 {
	var acc [4][8]float32
	for i := 0; i < np; i += 32 {
		for j := range 4 {
			for m := range 8 {
				e := i + 8*j + m
				acc[j][m] = fma32x(half(w[2*e:]), f32At(x, e), acc[j][m])
			}
		}
	}
	var l [8]float32
	for m := range 8 {
		l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
	}
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

// f32At is the i-th float32 of x, read at any alignment.
func f32At(x []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:])) }
