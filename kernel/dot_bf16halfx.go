// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch: both operands BF16,
// since BF16's vec_dot_type is BF16; four 8-lane accumulators, hsum8, a float64 tail).

package kernel

import "encoding/binary"

// DotBF16HalfX is DotBF16GGML with the activations given as bfloat16 too
// (xh, 2n bytes), as llama.cpp holds them for BF16 weights. For activations
// that BF16 represents, it returns DotBF16GGML's bits; a decode step's x
// row, re-read for every weight row, is half as large (DotF16HalfX).
func DotBF16HalfX(n int, w, xh []byte) float32 {
	w, xh = w[:2*n], xh[:2*n]
	np := n &^ 31
	s := float64(dotBF16HalfXVec(np, w, xh))
	for i := np; i < n; i++ {
		s += float64(bf16at(w, 2*i) * bf16at(xh, 2*i))
	}
	return float32(s)
}

// DotBF16HalfXRows is DotBF16HalfX over rows (DotRows, with x in bfloat16).
func DotBF16HalfXRows(n int, w []byte, rb int, xh []byte, out []float32) {
	for r := range out {
		out[r] = DotBF16HalfX(n, w[r*rb:], xh)
	}
}

// BF16HalfXFast reports whether DotBF16HalfXRows runs in assembly here
// (F16HalfXFast for bfloat16).
func BF16HalfXFast() bool { return bf16HalfXAsm }

var bf16HalfXAsm bool

// FP32ToBF16Bytes stores src as little-endian bfloat16 values in dst
// (2·len(src) bytes), FP32ToBF16 of each.
func FP32ToBF16Bytes(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
	}
}

// dotBF16HalfXVec returns the float32 that DotBF16HalfX's vector part (its
// first np values, np a multiple of 32) folds to.
var dotBF16HalfXVec = dotBF16HalfXVecGeneric

func dotBF16HalfXVecGeneric(np int, w, xh []byte) float32 {
	var acc [4][8]float32
	for i := 0; i < np; i += 32 {
		for j := range 4 {
			for m := range 8 {
				e := i + 8*j + m
				acc[j][m] = fma32x(bf16at(w, 2*e), bf16at(xh, 2*e), acc[j][m])
			}
		}
	}
	var l [8]float32
	for m := range 8 {
		l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
	}
	return hsum8(&l)
}
