// Reference: ggml/src/ggml.c (ggml_fp16_to_fp32_row, ggml_fp32_to_fp16_row, ggml_bf16_to_fp32_row,
// ggml_fp32_to_bf16_row) and ggml/src/ggml-cpu/ggml-cpu.c (type_traits_cpu for F32, F16, BF16).

package tensor

import (
	"encoding/binary"
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// The float types are stored element by element, little-endian: F32 as IEEE
// binary32, F16 as binary16, BF16 as the top 16 bits of a binary32. Unlike
// llama.cpp, which dots F16 weights against F16 activations, gptgo keeps the
// activations of all three in float32: converting them costs nothing and
// loses nothing.

func init() {
	register(F32, Format{
		Dequantize: dequantizeF32,
		Quantize:   quantizeF32,
		VecDotType: F32,
		VecDot:     kernel.DotF32,
	})
	register(F16, Format{
		Dequantize: dequantizeF16,
		Quantize:   quantizeF16,
		VecDotType: F32,
		VecDot:     kernel.DotF16,
	})
	register(BF16, Format{
		Dequantize: dequantizeBF16,
		Quantize:   quantizeBF16,
		VecDotType: F32,
		VecDot:     kernel.DotBF16,
	})
}

func dequantizeF32(src []byte, dst []float32) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF32(src []float32, dst []byte) {
	dst = dst[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantizeF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = kernel.FP16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// quantizeF16 rounds to nearest even, as F16C hardware and ggml's fallback do.
func quantizeF16(src []float32, dst []byte) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], kernel.FP32ToFP16(v))
	}
}

func dequantizeBF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = kernel.BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// quantizeBF16 rounds to nearest even and keeps NaN a NaN, as
// ggml_compute_fp32_to_bf16 does (not the truncation some converters use).
func quantizeBF16(src []float32, dst []byte) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], kernel.FP32ToBF16(v))
	}
}
