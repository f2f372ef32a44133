// Reference: ggml/src/ggml-cpu/vec.cpp (ggml_vec_dot_f16: both operands F16, since F16's vec_dot_type is
// F16; GGML_F16_STEP 32, four GGML_F32Cx8 accumulators, GGML_F32x8_REDUCE, a float64 tail).

package kernel

// DotF16HalfX is DotF16GGML with the activations given as halves too (xh,
// 2n bytes), as llama.cpp holds them for F16 weights: ggml converts the
// activation row to F16 once per matmul and widens both operands in the
// dot. For activations that F16 represents, it returns DotF16GGML's bits
// (the same operations on the same values); reading two bytes of x per
// weight instead of four halves the activation traffic of a decode step,
// whose x row is re-read from cache for every weight row.
func DotF16HalfX(n int, w, xh []byte) float32 {
	w, xh = w[:2*n], xh[:2*n]
	np := n &^ 31
	s := float64(dotF16HalfXVec(np, w, xh))
	for i := np; i < n; i++ {
		s += float64(half(w[2*i:]) * half(xh[2*i:]))
	}
	return float32(s)
}

// DotF16HalfXRows is DotF16HalfX over rows (DotRows, with x in halves).
func DotF16HalfXRows(n int, w []byte, rb int, xh []byte, out []float32) {
	for r := range out {
		out[r] = DotF16HalfX(n, w[r*rb:], xh)
	}
}

// F16HalfXFast reports whether DotF16HalfXRows runs in assembly here, so
// that a decode step is better off converting its activations to halves
// first (tensor.MatMul); where it does not, DotF16GGMLRows on float32
// activations is the faster form, with the same bits.
func F16HalfXFast() bool { return f16HalfXAsm }

var f16HalfXAsm bool

// dotF16HalfXVec returns the float32 that DotF16HalfX's vector part (its
// first np values, np a multiple of 32) folds to.
var dotF16HalfXVec = dotF16HalfXVecGeneric

func dotF16HalfXVecGeneric(np int, w, xh []byte) float32 {
	var acc [4][8]float32
	for i := 0; i < np; i += 32 {
		for j := range 4 {
			for m := range 8 {
				e := i + 8*j + m
				acc[j][m] = fma32x(half(w[2*e:]), half(xh[2*e:]), acc[j][m])
			}
		}
	}
	var l [8]float32
	for m := range 8 {
		l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
	}
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}
