// Reference: ggml/src/ggml-quants.c (quantize_row_q2_K_ref, dequantize_row_q2_K,
// quantize_row_q3_K_ref, dequantize_row_q3_K).

package tensor

import (
	"encoding/binary"

	"github.com/gptgo/gptgo/kernel"
)

func init() {
	register(Q2_K, Format{
		Dequantize: dequantizeQ2_K,
		Quantize:   quantizeQ2_K,
		VecDotType: Q8_K,
		VecDot:     kernel.DotQ2_K,
	})
	register(Q3_K, Format{
		Dequantize: dequantizeQ3_K,
		Quantize:   quantizeQ3_K,
		VecDotType: Q8_K,
		VecDot:     kernel.DotQ3_K,
	})
}

func kF16At(b []byte) float32 { return kernel.FP16ToFP32(binary.LittleEndian.Uint16(b)) }

func kPutF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, kernel.FP32ToFP16(f)) }

// quantizeQ2_K: each 16-value sub-block gets an asymmetric 2-bit fit
// (make_qkx2_quants, weights |x|, absolute error); the 16 scales and 16 mins
// are then quantized to 4 bits against the largest of each, and the values
// re-quantized with the scales as stored.
func quantizeQ2_K(src []float32, dst []byte) {
	const size = 84
	nb := len(src) / QKK
	var (
		L       [QKK]uint8
		Laux    [16]uint8
		weights [16]float32
		mins    [QKK / 16]float32
		scales  [QKK / 16]float32
	)
	const q4scale = float32(15)
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*size : (i+1)*size]
		sc := b[q2KOffScales : q2KOffScales+16]
		var maxScale, maxMin float32 // scales are positive since the min is taken out
		for j := 0; j < QKK/16; j++ {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = absf(v)
			}
			scales[j], mins[j] = makeQkx2Quants(3, xs, weights[:], L[16*j:16*j+16], Laux[:], -0.5, 0.1, 15, true)
			// Plain comparisons, not max(): a NaN must not win, as in ggml.
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = uint8(kNearestInt(float32(iscale * scales[j])))
			}
			kPutF16(b[q2KOffD:], maxScale/q4scale)
		} else {
			clear(sc)
			kPutF16(b[q2KOffD:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				sc[j] |= uint8(kNearestInt(float32(iscale*mins[j])) << 4)
			}
			kPutF16(b[q2KOffDmin:], maxMin/q4scale)
		} else {
			kPutF16(b[q2KOffDmin:], 0)
		}
		dAll, dMin := kF16At(b[q2KOffD:]), kF16At(b[q2KOffDmin:])
		for j := 0; j < QKK/16; j++ {
			d := dAll * float32(sc[j]&0xF)
			if d == 0 {
				continue // keep the sub-block fit's own quants, as ggml does
			}
			dm := float32(dMin * float32(sc[j]>>4)) // exact (a half times a small integer); float32() only keeps arm64 from fusing it
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = uint8(clampI32(kNearestInt((v+dm)/d), 0, 3))
			}
		}
		packQ2Bits(b[q2KOffQs:], L[:])
	}
}

func dequantizeQ2_K(src []byte, dst []float32) {
	const size = 84
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		y := dst[i*QKK : (i+1)*QKK]
		d, dmin := kF16At(b[q2KOffD:]), kF16At(b[q2KOffDmin:])
		sc := b[q2KOffScales : q2KOffScales+16]
		qs := b[q2KOffQs : q2KOffQs+64]
		// Value 128k+32j+l is bits 2j of byte 32k+l, in sub-block 8k+2j+l/16.
		for k := 0; k < 2; k++ {
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				for h := 0; h < 2; h++ {
					s := sc[8*k+2*j+h]
					dl, ml := d*float32(s&0xF), float32(dmin*float32(s>>4))
					for l := 16 * h; l < 16*h+16; l++ {
						q := float32((qs[32*k+l] >> shift) & 3)
						y[128*k+32*j+l] = float32(dl*q) - ml
					}
				}
			}
		}
	}
}

// q3KScale returns the j-th 6-bit scale of a Q3_K block, unbiased.
func q3KScale(s []byte, j int) int8 {
	s = s[:12]
	var lo uint8
	if j < 8 {
		lo = s[j] & 0xF
	} else {
		lo = s[j-8] >> 4
	}
	hi := (s[8+j%4] >> (2 * (j / 4))) & 3
	return int8(lo|hi<<4) - 32
}

// quantizeQ3_K: each 16-value sub-block gets a symmetric 3-bit fit
// (make_q3_quants, x²-weighted); the signed scales are quantized to 6 bits
// against the one of largest magnitude, and the values re-quantized.
func quantizeQ3_K(src []float32, dst []byte) {
	const size = 110
	nb := len(src) / QKK
	var (
		L      [QKK]int8
		scales [QKK / 16]float32
	)
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*size : (i+1)*size]
		var maxScale, amax float32
		for j := 0; j < QKK/16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := absf(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sc := b[q3KOffScales : q3KOffScales+12]
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < QKK/16; j++ {
				// ggml narrows to int8 before clamping; keep that order.
				l := int8(kNearestInt(float32(iscale * scales[j])))
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					sc[j] = uint8(l) & 0xF
				} else {
					sc[j-8] |= (uint8(l) & 0xF) << 4
				}
				sc[j%4+8] |= uint8(l>>4) << (2 * (j / 4))
			}
			kPutF16(b[q3KOffD:], 1/iscale)
		} else {
			kPutF16(b[q3KOffD:], 0)
		}
		dAll := kF16At(b[q3KOffD:])
		for j := 0; j < QKK/16; j++ {
			d := dAll * float32(q3KScale(sc, j))
			if d == 0 {
				continue
			}
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = int8(clampI32(kNearestInt(v/d), -4, 3) + 4)
			}
		}
		hm := b[q3KOffHmask : q3KOffHmask+32]
		clear(hm)
		var low [QKK]uint8
		for j, l := range L {
			if l > 3 {
				hm[j%32] |= 1 << uint(j/32)
				l -= 4
			}
			low[j] = uint8(l)
		}
		packQ2Bits(b[q3KOffQs:], low[:])
	}
}

func dequantizeQ3_K(src []byte, dst []float32) {
	const size = 110
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		y := dst[i*QKK : (i+1)*QKK]
		dAll := kF16At(b[q3KOffD:])
		sc := b[q3KOffScales : q3KOffScales+12]
		qs := b[q3KOffQs : q3KOffQs+64]
		hm := b[q3KOffHmask : q3KOffHmask+32]
		for k := 0; k < 2; k++ {
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				m := uint8(1) << uint(4*k+j)
				for h := 0; h < 2; h++ {
					dl := dAll * float32(q3KScale(sc, 8*k+2*j+h))
					for l := 16 * h; l < 16*h+16; l++ {
						q := int32((qs[32*k+l] >> shift) & 3)
						if hm[l]&m == 0 {
							q -= 4
						}
						y[128*k+32*j+l] = dl * float32(q)
					}
				}
			}
		}
	}
}
