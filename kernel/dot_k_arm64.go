//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, FEAT_DotProd); dot_k_lanes.go (the plain Go these kernels give
// bit for bit, which is llama.cpp's AVX2 order).

package kernel

func init() {
	q4, q5, q6 := dotQ4_KMULL, dotQ5_KMULL, dotQ6_KMULL
	if dotprodOK {
		q4, q5, q6 = dotQ4_KSDOT, dotQ5_KSDOT, dotQ6_KSDOT
	}
	dotQ4_K = asmDot(q4, QKK, blockQ4KBytes, BlockQ8KBytes)
	dotQ4_KRows = asmRows(q4, QKK, blockQ4KBytes, BlockQ8KBytes)
	useAsm("q4_K")
	dotQ5_K = asmDot(q5, QKK, blockQ5KBytes, BlockQ8KBytes)
	dotQ5_KRows = asmRows(q5, QKK, blockQ5KBytes, BlockQ8KBytes)
	useAsm("q5_K")
	dotQ6_K = asmDot(q6, QKK, blockQ6KBytes, BlockQ8KBytes)
	dotQ6_KRows = asmRows(q6, QKK, blockQ6KBytes, BlockQ8KBytes)
	useAsm("q6_K")
}

// dotQ4_KSDOT computes dotQ4_KGeneric over nb > 0 super-blocks (w: 144-byte
// Q4_K, x: 292-byte Q8_K), bit for bit, with SDOT (FEAT_DotProd): per
// block, the eight lane sums of qK45LaneSums and the four of qK45Mins,
// exact, then
//
//	fmaLanes(&accm, -y.d*FP16ToFP32(w.dmin), &mins)
//	fmaLanes(&acc, y.d*FP16ToFP32(w.d), &s)
//
// and at the end hsum8(&acc) + ((accm[0]+accm[2]) + (accm[1]+accm[3])).
//
//go:noescape
func dotQ4_KSDOT(nb int, w, x *byte) float32

// dotQ4_KMULL is dotQ4_KSDOT without FEAT_DotProd (SMULL and pairwise adds).
//
//go:noescape
func dotQ4_KMULL(nb int, w, x *byte) float32

// dotQ5_KSDOT computes dotQ5_KGeneric over nb > 0 super-blocks (w: 176-byte
// Q5_K), bit for bit: Q4_K's lane sums with the fifth bits, and the mins as
// summs += float32(-y.d*FP16ToFP32(w.dmin) * float32(Σ mins)), rounded
// twice, added to hsum8(&acc) at the end.
//
//go:noescape
func dotQ5_KSDOT(nb int, w, x *byte) float32

// dotQ5_KMULL is dotQ5_KSDOT without FEAT_DotProd.
//
//go:noescape
func dotQ5_KMULL(nb int, w, x *byte) float32

// dotQ6_KSDOT computes dotQ6_KGeneric over nb > 0 super-blocks (w: 210-byte
// Q6_K), bit for bit: the eight exact lane sums, then
// fmaLanes(&acc, y.d*FP16ToFP32(w.d), &s) per block and hsum8(&acc).
//
//go:noescape
func dotQ6_KSDOT(nb int, w, x *byte) float32

// dotQ6_KMULL is dotQ6_KSDOT without FEAT_DotProd.
//
//go:noescape
func dotQ6_KMULL(nb int, w, x *byte) float32
