// Reference: ggml/src/ggml-quants.c (quantize_row_q6_K_ref, dequantize_row_q6_K,
// quantize_row_q8_K_ref, dequantize_row_q8_K).

package tensor

import (
	"encoding/binary"
	"math"

	"github.com/gptgo/gptgo/kernel"
)

func init() {
	register(Q6_K, Format{
		Dequantize: dequantizeQ6_K,
		Quantize:   quantizeQ6_K,
		VecDotType: Q8_K,
		VecDot:     kernel.DotQ6_K,
	})
	// Q8_K is the activation format of the K-quant dots, never a weight
	// type, so it has no VecDot of its own.
	register(Q8_K, Format{
		Dequantize: dequantizeQ8_K,
		Quantize:   kernel.QuantizeQ8_K,
	})
}

// quantizeQ6_K: each 16-value sub-block gets a symmetric 6-bit fit
// (make_qx_quants, rmse_type 1); the signed scales are quantized to int8
// against the one of largest magnitude (mapped to -128, clamped to 127),
// and the values re-quantized with the stored scales.
func quantizeQ6_K(src []float32, dst []byte) {
	const size = 210
	nb := len(src) / QKK
	var (
		L      [QKK]int8
		scales [QKK / 16]float32
	)
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*size : (i+1)*size]
		var maxScale, maxAbs float32
		for ib := 0; ib < QKK/16; ib++ {
			scales[ib] = makeQxQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			if a := absf(scales[ib]); a > maxAbs {
				maxAbs, maxScale = a, scales[ib]
			}
		}
		if maxAbs < groupMaxEps {
			clear(b)
			continue
		}
		iscale := -128 / maxScale
		kPutF16(b[q6KOffD:], 1/iscale)
		sc := b[q6KOffScales : q6KOffScales+16]
		for ib := range sc {
			sc[ib] = uint8(int8(min(127, kNearestInt(float32(iscale*scales[ib])))))
		}
		dAll := kF16At(b[q6KOffD:])
		for j := 0; j < QKK/16; j++ {
			d := dAll * float32(int8(sc[j]))
			if d == 0 {
				continue // keep the sub-block fit's own quants, as ggml does
			}
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = int8(clampI32(kNearestInt(v/d), -32, 31) + 32)
			}
		}
		for c := 0; c < 2; c++ {
			ql := b[q6KOffQl+64*c : q6KOffQl+64*c+64]
			qh := b[q6KOffQh+32*c : q6KOffQh+32*c+32]
			Lc := L[128*c : 128*c+128]
			for l := 0; l < 32; l++ {
				q1, q2, q3, q4 := uint8(Lc[l]), uint8(Lc[l+32]), uint8(Lc[l+64]), uint8(Lc[l+96])
				ql[l] = q1&0xF | (q3&0xF)<<4
				ql[l+32] = q2&0xF | (q4&0xF)<<4
				qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}

func dequantizeQ6_K(src []byte, dst []float32) {
	const size = 210
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b[q6KOffD:])
		sc := b[q6KOffScales : q6KOffScales+16]
		for c := 0; c < 2; c++ {
			ql := b[q6KOffQl+64*c : q6KOffQl+64*c+64]
			qh := b[q6KOffQh+32*c : q6KOffQh+32*c+32]
			yc := y[128*c : 128*c+128]
			s := sc[8*c : 8*c+8]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0xF|(qh[l]&3)<<4) - 32
				q2 := int32(ql[l+32]&0xF|((qh[l]>>2)&3)<<4) - 32
				q3 := int32(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				yc[l] = d * float32(int8(s[is])) * float32(q1)
				yc[l+32] = d * float32(int8(s[is+2])) * float32(q2)
				yc[l+64] = d * float32(int8(s[is+4])) * float32(q3)
				yc[l+96] = d * float32(int8(s[is+6])) * float32(q4)
			}
		}
	}
}

func dequantizeQ8_K(src []byte, dst []float32) {
	const size = 292
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b[q8KOffD:]))
		for j, q := range b[q8KOffQs : q8KOffQs+QKK] {
			dst[i*QKK+j] = d * float32(int8(q))
		}
	}
}
