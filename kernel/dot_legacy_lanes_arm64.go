//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, TBL, CMTST); dot_legacy_lanes.go (the plain Go these kernels give
// bit for bit, which is llama.cpp's AVX2 order).

package kernel

func init() {
	q41, q50, q51, iq4, iq4tb := dotQ4_1MULL, dotQ5_0MULL, dotQ5_1MULL, dotIQ4_NLMULL, dotIQ4_NLTBMULL
	if dotprodOK {
		q41, q50, q51, iq4, iq4tb = dotQ4_1SDOT, dotQ5_0SDOT, dotQ5_1SDOT, dotIQ4_NLSDOT, dotIQ4_NLTBSDOT
	}
	dotQ4_1 = asmDot(q41, QK, q4_1Bytes, q8_1Bytes)
	dotQ4_1Rows = asmRows(q41, QK, q4_1Bytes, q8_1Bytes)
	useAsm("q4_1")
	dotQ5_0 = asmDot(q50, QK, q5_0Bytes, q8_0Bytes)
	dotQ5_0Rows = asmRows(q50, QK, q5_0Bytes, q8_0Bytes)
	useAsm("q5_0")
	dotQ5_1 = asmDot(q51, QK, q5_1Bytes, q8_1Bytes)
	dotQ5_1Rows = asmRows(q51, QK, q5_1Bytes, q8_1Bytes)
	useAsm("q5_1")
	dotIQ4_NL = asmDot(iq4, QK, iq4nlBytes, q8_0Bytes)
	dotIQ4_NLRows = asmRows(iq4, QK, iq4nlBytes, q8_0Bytes)
	dotIQ4_NLTinyBLAS = asmDot(iq4tb, QK, iq4nlBytes, q8_0Bytes)
	useAsm("iq4_nl")
}

// dotQ4_1SDOT computes dotQ4_1Generic over nb > 0 blocks of 32 (w: 20-byte
// Q4_1, x: 36-byte Q8_1), bit for bit, with SDOT (FEAT_DotProd):
//
//	var acc [8]float32
//	var summs float32
//	for i := 0; i < nb; i++ {
//		summs = fma(FP16ToFP32(w.m), FP16ToFP32(x.s), summs) // rounded once
//		d := FP16ToFP32(w.d) * FP16ToFP32(x.d)
//		for m := 0; m < 8; m++ { // lane m: elements 4m..4m+3 (low nibbles, then high)
//			acc[m] = fma(d, float32(Σ_{j=4m}^{4m+3} q[j]*int32(x.qs[j])), acc[m])
//		}
//	}
//	return hsum8(acc) + summs
//
//go:noescape
func dotQ4_1SDOT(nb int, w, x *byte) float32

// dotQ5_1SDOT is dotQ4_1SDOT for 24-byte Q5_1 blocks (q = nibble | fifth
// bit << 4), as dotQ5_1Generic, bit for bit.
//
//go:noescape
func dotQ5_1SDOT(nb int, w, x *byte) float32

// dotQ5_0SDOT computes dotQ5_0Generic over nb > 0 blocks (w: 22-byte
// Q5_0, q = (nibble | fifth bit << 4) − 16; x: 34-byte Q8_0), bit for bit:
// the lanes of dotQ4_1SDOT without the min, then hsum8.
//
//go:noescape
func dotQ5_0SDOT(nb int, w, x *byte) float32

// dotIQ4_NLSDOT computes dotIQ4_NLGeneric over nb > 0 blocks (w: 18-byte
// IQ4_NL, each nibble an index into IQ4NLValues; x: Q8_0), bit for bit:
// even and odd blocks in two sets of lanes, added before hsum8, and a last
// odd block added alone as float32(d·float32(Σ lanes)).
//
//go:noescape
func dotIQ4_NLSDOT(nb int, w, x *byte) float32

// dotIQ4_NLTBSDOT computes dotIQ4_NLTinyBLASGeneric (one set of lanes for
// every block), bit for bit.
//
//go:noescape
func dotIQ4_NLTBSDOT(nb int, w, x *byte) float32

// The same five without FEAT_DotProd (SMULL and pairwise adds).
//
//go:noescape
func dotQ4_1MULL(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1MULL(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0MULL(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_NLMULL(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_NLTBMULL(nb int, w, x *byte) float32
