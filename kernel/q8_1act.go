// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branch of quantize_row_q8_1, hsum_i32_8).

package kernel

import (
	"encoding/binary"
	"math"
)

// QuantizeQ8_1Activations is QuantizeQ8_0Activations for Q8_1 blocks, as
// llama.cpp's AVX2 quantize_row_q8_1 converts the activations of Q4_1 and
// Q5_1 matmuls: the same d and quants, and s = fp16(d·float32(Σ)), where Σ
// is the int32 sum of the converted values before the saturating packs (so
// a NaN or infinite block adds −2³¹ per value, wrapping, as VCVTPS2DQ and
// VPADDD do; for finite input Σ is the sum of the stored quants).
func QuantizeQ8_1Activations(src []float32, dst []byte) {
	nb := len(src) / QK
	quantizeQ8_1Act(src[:nb*QK], dst[:nb*q8_1Bytes])
}

// quantizeQ8_1Act is QuantizeQ8_1Activations for whole blocks: NEON on
// arm64 (q8act_arm64.go), else the plain Go below.
var quantizeQ8_1Act = quantizeQ8_1ActGeneric

func quantizeQ8_1ActGeneric(src []float32, dst []byte) {
	nb := len(src) / QK
	dst = dst[:nb*q8_1Bytes]
	for i := 0; i < nb; i++ {
		x := (*[QK]float32)(src[i*QK : i*QK+QK])
		b := dst[i*q8_1Bytes : i*q8_1Bytes+q8_1Bytes]
		d, id := q8ScaleAVX2(x)
		binary.LittleEndian.PutUint16(b, FP32ToFP16(d))
		qs := (*[QK]byte)(b[q8_1QS : q8_1QS+QK])
		var sum int32
		for j, v := range x {
			q := cvtps2dq(v * id)
			qs[j] = byte(sat8(q))
			sum += q
		}
		binary.LittleEndian.PutUint16(b[q8_1S:], FP32ToFP16(d*float32(sum)))
	}
}

// cvtps2dq rounds v half to even to an int32 as VROUNDPS then VCVTPS2DQ do:
// NaN and values out of int32's range become −2³¹.
func cvtps2dq(v float32) int32 {
	r := math.RoundToEven(float64(v))
	if !(r > -0x1p31 && r < 0x1p31) {
		return math.MinInt32
	}
	return int32(r)
}

// sat8 saturates an int32 to int8 as the two packs (VPACKSSDW, VPACKSSWB) do.
func sat8(v int32) int8 {
	return int8(min(max(v, -128), 127))
}
