//go:build !purego

// Reference: q8.go (quantizeQ8_0ActGeneric); q8act_amd64.go, the amd64 twin.

package kernel

func init() {
	quantizeQ8_0Act = func(src []float32, dst []byte) {
		if nb := len(src) / QK; nb > 0 {
			_ = dst[nb*q8_0Bytes-1]
			quantizeQ8_0NEON(nb, &src[0], &dst[0])
		}
	}
	useAsm("q8-activations")
	quantizeQ8_1Act = func(src []float32, dst []byte) {
		if nb := len(src) / QK; nb > 0 {
			_ = dst[nb*q8_1Bytes-1]
			quantizeQ8_1NEON(nb, &src[0], &dst[0])
		}
	}
	useAsm("q8_1-activations")
}

// quantizeQ8_0NEON packs the nb blocks of 32 floats at x into the nb Q8_0
// blocks at y with the operations of llama.cpp's AVX2 quantize_row_q8_0,
// as quantizeQ8_0ActGeneric does: the same bytes, but that a NaN scale may
// keep its payload (FCVT) where FP32ToFP16 gives the canonical quiet NaN.
//
//go:noescape
func quantizeQ8_0NEON(nb int, x *float32, y *byte)

// quantizeQ8_1NEON packs the nb blocks of 32 floats at x into the nb Q8_1
// blocks at y as quantizeQ8_1ActGeneric does (llama.cpp's AVX2
// quantize_row_q8_1): the same bytes, but that a NaN d or s may keep its
// payload.
//
//go:noescape
func quantizeQ8_1NEON(nb int, x *float32, y *byte)
