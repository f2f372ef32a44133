//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD); ggml/src/ggml-cpu/ggml-cpu-quants.c (mul_sum_us8_pairs_float:
// _mm256_dpbusd_epi32 where __AVX512VNNI__ && __AVX512VL__, the same sums as the AVX2 pair).

package kernel

// On a CPU with AVX512-VNNI (vnniOK) the Q8_0 dot and tile and the packed
// Q4_0 kernel run their VPDPBUSD forms, which give the AVX2 kernels' bits:
// the integer sums are exact either way and the float operations are the
// same ones in the same order. TestVNNI* check every pair. The dots are
// chosen where their AVX2 forms are (dot_legacy_amd64.go,
// dot_q4_0x8_amd64.go), the tiles here.
func init() {
	if !vnniOK {
		return
	}
	vnniTiles = true
	useAsm("tiles-vnni")
}

// vnniTiles selects the VPDPBUSD tiles in the Tile functions (a branch, not
// a function variable, so that the tiles' result arrays stay on the stack).
var vnniTiles bool

// tileQ8_0VNNIAsm is tileQ8_0Asm with VPDPBUSD, bit for bit:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ8_0Asm(nb, w, x + j*xStride)
//	}
//
//go:noescape
func tileQ8_0VNNIAsm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)

// dotQ8_0VNNIAsm is dotQ8_0Asm with VPDPBUSD, bit for bit (see dotQ8_0Asm
// for the loop it computes).
//
//go:noescape
func dotQ8_0VNNIAsm(nb int, w, x *byte) float32

// dotQ4_0x8VNNIAsm is dotQ4_0x8Asm with VPDPBUSD, bit for bit: the
// unsigned nibbles times x added to −8·Σx, exactly (q−8)·x.
//
//go:noescape
func dotQ4_0x8VNNIAsm(nb int, w, x *byte, out *[Q4_0x8Rows]float32)
