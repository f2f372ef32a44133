// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS<8, __m256, __m256, float, float, float>: madd,
// hsum(__m256)) and ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_f32, GGML_F32x8_FMA, GGML_F32x8_REDUCE), AVX2+FMA.

package kernel

import "math"

// fma32x returns a·b+c rounded once to float32, as VFMADD231PS does; unlike
// fma32 it also settles the rare double-rounding tie. a·b is exact in
// float64, so only the float64 sum and its rounding to float32 round; where
// the second rounding would meet an exact float32 tie, the float64 sum is
// first moved one step toward its exact error (fmaLanes' argument).
// Subnormal results are not corrected.
func fma32x(a, b, c float32) float32 {
	p, q := float64(a)*float64(b), float64(c)
	r := p + q
	if u := math.Float64bits(r); u&(1<<29-1) == 1<<28 {
		bv := r - p
		if e := (p - (r - bv)) + (q - bv); e*r > 0 {
			r = math.Float64frombits(u + 1)
		} else if e*r < 0 {
			r = math.Float64frombits(u - 1)
		}
	}
	return float32(r)
}

// DotF32TinyBLAS returns Σ w[i]·x[i] in the order of llama.cpp's AVX2 tinyBLAS
// for F32 weights, which it uses for a batch of two or more tokens: lane m
// (of 8) accumulates the products m, m+8, m+16, … by one FMA each, and the
// lanes are folded ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). len(w) must be a
// multiple of 8 (tinyBLAS declines other lengths; use DotF32GGML there) and
// len(x) ≥ len(w).
func DotF32TinyBLAS(w, x []float32) float32 { return dotF32TinyBLAS(w, x[:len(w)]) }

// TileF32TinyBLAS computes out[j] = DotF32TinyBLAS(w, x[j·xStride:]) for
// j < 4, bit for bit, loading each weight vector once for the four (the
// assembly's 1×4 tile). x must hold 3·xStride + len(w) values.
func TileF32TinyBLAS(w, x []float32, xStride int, out *[4]float32) {
	tileF32TinyBLAS(w, x[:3*xStride+len(w)], xStride, out)
}

var (
	dotF32TinyBLAS  = dotF32TinyBLASGeneric
	tileF32TinyBLAS = func(w, x []float32, xStride int, out *[4]float32) {
		for j := range out {
			out[j] = dotF32TinyBLASGeneric(w, x[j*xStride:j*xStride+len(w)])
		}
	}
	// dotF32GGMLVec returns the float32 that DotF32GGML's vector part
	// (its first np values, np a multiple of 32) folds to.
	dotF32GGMLVec = dotF32GGMLVecGeneric
)

func dotF32TinyBLASGeneric(w, x []float32) float32 {
	x = x[:len(w)]
	var l0, l1, l2, l3, l4, l5, l6, l7 float32
	for i := 0; i+8 <= len(w); i += 8 {
		wb, xb := w[i:i+8:i+8], x[i:i+8:i+8]
		l0 = fma32x(wb[0], xb[0], l0)
		l1 = fma32x(wb[1], xb[1], l1)
		l2 = fma32x(wb[2], xb[2], l2)
		l3 = fma32x(wb[3], xb[3], l3)
		l4 = fma32x(wb[4], xb[4], l4)
		l5 = fma32x(wb[5], xb[5], l5)
		l6 = fma32x(wb[6], xb[6], l6)
		l7 = fma32x(wb[7], xb[7], l7)
	}
	return ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
}

// DotF32GGML returns Σ w[i]·x[i] in the order of llama.cpp's AVX2
// ggml_vec_dot_f32, which it uses for a single token: four 8-lane
// accumulators take 32 elements a step (accumulator j the elements 8j…8j+7,
// one FMA each); they are added (a0+a2)+(a1+a3) lane by lane, the lanes
// folded ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), and the last len(w) mod 32
// products, each rounded to float32, are added to that in float64.
func DotF32GGML(w, x []float32) float32 {
	n := len(w)
	x = x[:n]
	np := n &^ 31
	s := float64(dotF32GGMLVec(w, x, np))
	for i := np; i < n; i++ {
		s += float64(w[i] * x[i])
	}
	return float32(s)
}

func dotF32GGMLVecGeneric(w, x []float32, np int) float32 {
	var acc [4][8]float32
	for i := 0; i < np; i += 32 {
		for j := range 4 {
			a, wb, xb := &acc[j], w[i+8*j:i+8*j+8:i+8*j+8], x[i+8*j:i+8*j+8:i+8*j+8]
			for m := range 8 {
				a[m] = fma32x(wb[m], xb[m], a[m])
			}
		}
	}
	var l [8]float32
	for m := range 8 {
		l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
	}
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}
