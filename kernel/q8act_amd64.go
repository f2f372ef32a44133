//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 quantize_row_q8_0); ggml/src/ggml-quants.c
// (quantize_row_q8_K_ref).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	quantizeQ8_0Act = quantizeQ8_0ActAVX2
	quantizeQ8_K = quantizeQ8_KAVX2
	useAsm("q8-activations")
}

// quantizeQ8_0ActAVX2 is quantizeQ8_0ActGeneric in assembly, for len(src)
// a multiple of QK and dst holding the blocks.
func quantizeQ8_0ActAVX2(src []float32, dst []byte) {
	if nb := len(src) / QK; nb > 0 {
		_ = dst[nb*q8_0Bytes-1]
		quantizeQ8_0Asm(nb, &src[0], &dst[0])
	}
}

// quantizeQ8_0Asm packs the nb blocks of 32 floats at x into the nb Q8_0
// blocks at y with the operations of llama.cpp's AVX2 quantize_row_q8_0;
// the same bytes as quantizeQ8_0ActGeneric, but that a NaN scale may keep
// its payload (VCVTPS2PH) where FP32ToFP16 gives the canonical quiet NaN.
//
//go:noescape
func quantizeQ8_0Asm(nb int, x *float32, y *byte)

// quantizeQ8_KAVX2 is quantizeQ8_KGeneric in assembly.
func quantizeQ8_KAVX2(src []float32, dst []byte) {
	if nb := len(src) / QKK; nb > 0 {
		_ = dst[nb*BlockQ8KBytes-1]
		quantizeQ8_KAsm(nb, &src[0], &dst[0])
	}
}

// quantizeQ8_KAsm packs the nb super-blocks of 256 floats at x into the nb
// Q8_K blocks at y, with the operations of quantizeQ8_KGeneric and its
// bytes.
//
//go:noescape
func quantizeQ8_KAsm(nb int, x *float32, y *byte)
