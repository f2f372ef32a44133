//go:build !purego

// Reference: Intel SDM vol. 2 (VCVTPH2PS, VFMADD231PS, VHADDPS); ggml/src/ggml-cpu/simd-mappings.h (AVX2 F16 vectors).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	dotHalvesLanes8 = dotHalvesLanes8AVX2
	dotHalvesLanes8Rows = dotHalvesLanes8RowsAVX2
	dotHalvesVec = dotHalvesVecAVX2
	useAsm("f16-attention")
}

// dotHalvesLanes8AVX2 checks the lengths, then runs the assembly.
func dotHalvesLanes8AVX2(w []byte, x []float32) float32 {
	n := len(x)
	w = w[:2*n]
	if n == 0 {
		return 0
	}
	return dotHalvesLanes8Asm(n, &w[0], &x[0])
}

func dotHalvesVecAVX2(w []byte, x []float32) float32 {
	n := len(x)
	w = w[:2*n]
	if n == 0 {
		return 0
	}
	return dotHalvesVecAsm(n, &w[0], &x[0])
}

// dotHalvesLanes8Asm computes, with one 8-lane accumulator of fused
// multiply-adds (exact products, so the same bits as dotHalvesLanes8Generic):
//
//	for i := 0; i < n; i++ {
//		l[i%8] += FP16ToFP32(w[i]) * x[i] // w half at byte 2i
//	}
//	// a tail of n%8 elements is added as a group of 8 padded with +0 products
//	a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
//	return (a + c) + (b + d)
//
//go:noescape
func dotHalvesLanes8Asm(n int, w *byte, x *float32) float32

// dotHalvesVecAsm computes, with four 8-lane accumulators (the same bits as
// dotHalvesVecGeneric):
//
//	for i := 0; i < n; i++ {
//		s[(i%32)/8][i%8] += FP16ToFP32(w[i]) * x[i] // w half at byte 2i
//	}
//	// the last n%32 elements go in as a step of 32 padded with −0 products,
//	// which leave every accumulator as it is (−0 is the additive identity)
//	for m := 0; m < 8; m++ {
//		v[m] = (s[0][m] + s[2][m]) + (s[1][m] + s[3][m])
//	}
//	a, b, c, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
//	return (a + b) + (c + d)
//
//go:noescape
func dotHalvesVecAsm(n int, w *byte, x *float32) float32

// dotHalvesLanes8RowsAVX2 runs dotHalvesLanes8x4Asm over the whole groups
// of four rows and dotHalvesLanes8AVX2 over the rest.
func dotHalvesLanes8RowsAVX2(dst []float32, w []byte, stride int, x []float32) {
	n, rows := len(x), len(dst)
	if rows == 0 {
		return
	}
	var t [4]float32
	r := 0
	if n > 0 {
		_ = w[(rows-1)*stride+2*n-1] // the last row's end, before the assembly reads it
		for ; r+4 <= rows; r += 4 {
			dotHalvesLanes8x4Asm(n, &w[r*stride], stride, &x[0], &t)
			dst[r], dst[r+1], dst[r+2], dst[r+3] = t[0], t[1], t[2], t[3]
		}
	}
	for ; r < rows; r++ {
		dst[r] = dotHalvesLanes8AVX2(w[r*stride:], x)
	}
}

// dotHalvesLanes8x4Asm computes, for j < 4, out[j] =
// dotHalvesLanes8Asm(n, w + j·stride, x), bit for bit.
//
//go:noescape
func dotHalvesLanes8x4Asm(n int, w *byte, stride int, x *float32, out *[4]float32)
