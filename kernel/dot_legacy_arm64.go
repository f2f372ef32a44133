//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, FEAT_DotProd); dot_legacy.go and dot_q4_0x8.go (the plain Go these
// kernels give bit for bit).

package kernel

func init() {
	q8, q4, q4x8 := dotQ8_0MULL, dotQ4_0MULL, dotQ4_0x8MULL
	if dotprodOK {
		q8, q4, q4x8 = dotQ8_0SDOT, dotQ4_0SDOT, dotQ4_0x8SDOT
	}
	dotQ8_0 = asmDot(q8, QK, q8_0Bytes, q8_0Bytes)
	dotQ8_0Rows = asmRows(q8, QK, q8_0Bytes, q8_0Bytes)
	useAsm("q8_0")
	dotQ4_0 = asmDot(q4, QK, q4_0Bytes, q8_0Bytes)
	dotQ4_0Rows = asmRows(q4, QK, q4_0Bytes, q8_0Bytes)
	useAsm("q4_0")
	dotQ4_0x8 = func(nb int, w, x []byte, out *[Q4_0x8Rows]float32) {
		_, _ = w[:nb*q4_0x8Bytes], x[:nb*q8_0Bytes]
		q4x8(nb, &w[0], &x[0], out)
	}
	useAsm("q4_0x8")
}

// dotQ8_0SDOT computes dotQ8_0Generic over nb > 0 blocks of 32 (both
// 34-byte Q8_0), bit for bit, with SDOT (FEAT_DotProd):
//
//	var acc [8]float32
//	for i := 0; i < nb; i++ {
//		d := FP16ToFP32(w.d) * FP16ToFP32(x.d)
//		for m := 0; m < 8; m++ { // lane m: elements 4m..4m+3
//			sumi := Σ_{j=4m}^{4m+3} int32(w.qs[j]) * int32(x.qs[j])
//			acc[m] = fma(d, float32(sumi), acc[m]) // rounded once
//		}
//	}
//	return ((acc[0]+acc[4]) + (acc[2]+acc[6])) + ((acc[1]+acc[5]) + (acc[3]+acc[7]))
//
//go:noescape
func dotQ8_0SDOT(nb int, w, x *byte) float32

// dotQ8_0MULL is dotQ8_0SDOT for CPUs without FEAT_DotProd (the same sums
// from SMULL and pairwise adds).
//
//go:noescape
func dotQ8_0MULL(nb int, w, x *byte) float32

// dotQ4_0SDOT computes dotQ4_0Generic over nb > 0 blocks of 32 (w: 18-byte
// Q4_0, x: 34-byte Q8_0), bit for bit:
//
//	for i := 0; i < nb; i++ {
//		var sumi int32
//		for j := 0; j < 16; j++ {
//			sumi += (int32(w.qs[j]&15)-8)*int32(x.qs[j]) + (int32(w.qs[j]>>4)-8)*int32(x.qs[j+16])
//		}
//		s = fma(float32(sumi), FP16ToFP32(w.d)*FP16ToFP32(x.d), s) // rounded once
//	}
//	return s
//
//go:noescape
func dotQ4_0SDOT(nb int, w, x *byte) float32

// dotQ4_0MULL is dotQ4_0SDOT without FEAT_DotProd.
//
//go:noescape
func dotQ4_0MULL(nb int, w, x *byte) float32

// dotQ4_0x8SDOT computes dotQ4_0x8Generic over nb > 0 packed blocks of
// eight Q4_0 rows (w, 144 bytes each) and nb Q8_0 blocks (x), bit for bit:
// each row as dotQ4_0SDOT.
//
//go:noescape
func dotQ4_0x8SDOT(nb int, w, x *byte, out *[Q4_0x8Rows]float32)

// dotQ4_0x8MULL is dotQ4_0x8SDOT without FEAT_DotProd.
//
//go:noescape
func dotQ4_0x8MULL(nb int, w, x *byte, out *[Q4_0x8Rows]float32)
