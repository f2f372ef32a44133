//go:build !purego

// Reference: ggml/src/ggml-cpu/vec.h (ggml_v_expf: the AVX2 exp the softmax of llama.cpp uses).

package kernel

import "math"

func init() {
	if !hasAVX2FMA {
		return
	}
	expShift = expShiftAVX2
	useAsm("exp")
}

// expShiftAVX2 runs expShiftAsm over whole groups of 8 and the generic loop
// over the rest.
func expShiftAVX2(dst, x []float32, m float32) float64 {
	dst = dst[:len(x)]
	n := len(x) &^ 7
	var z float64
	if n > 0 {
		z = expShiftAsm(n, &dst[0], &x[0], m)
	}
	for i := n; i < len(x); i++ {
		e := math.Exp(float64(x[i] - m))
		dst[i] = float32(e)
		z += e
	}
	return z
}

// expShiftAsm computes, eight lanes at a time (n a multiple of 8), with
// ggml_v_expf's range reduction and degree-5 polynomial (within ~1.5 ulp of
// e^x; arguments below -87.3 are taken as -87.3, giving about 1e-38 instead
// of a subnormal or zero):
//
//	for i := 0; i < n; i++ {
//		dst[i] = exp(x[i] - m)
//		s += float64(dst[i]) // in four float64 lanes, folded at the end
//	}
//	return s
//
//go:noescape
func expShiftAsm(n int, dst, x *float32, m float32) float64
