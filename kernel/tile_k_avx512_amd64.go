//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPWSSD); ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2
// ggml_vec_dot_q4_K/q5_K/q6_K_q8_K, whose integer sums these tiles keep).

package kernel

// tileQ4_KVNNIAsm is tileQ4_KAsm with VPDPWSSD, bit for bit:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ4_KAsm(nb, w, x + j*xStride)
//	}
//
//go:noescape
func tileQ4_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ5_KVNNIAsm is tileQ5_KAsm with VPDPWSSD, bit for bit:
// out[j] = dotQ5_KAsm(nb, w, x + j*xStride).
//
//go:noescape
func tileQ5_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ6_KVNNIAsm is tileQ6_KAsm with VPDPWSSD, bit for bit:
// out[j] = dotQ6_KAsm(nb, w, x + j*xStride).
//
//go:noescape
func tileQ6_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
