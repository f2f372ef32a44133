// Reference: ggml/src/ggml-quants.c (quantize_row_q4_K_ref, dequantize_row_q4_K,
// quantize_row_q5_K_ref, dequantize_row_q5_K).

package tensor

import "github.com/gptgo/gptgo/kernel"

func init() {
	register(Q4_K, Format{
		Dequantize: dequantizeQ4_K,
		Quantize:   quantizeQ4_K,
		VecDotType: Q8_K,
		VecDot:     kernel.DotQ4_K,
	})
	register(Q5_K, Format{
		Dequantize: dequantizeQ5_K,
		Quantize:   quantizeQ5_K,
		VecDotType: Q8_K,
		VecDot:     kernel.DotQ5_K,
	})
}

// quantizeQ45K is the shared body of quantize_row_q4_K_ref and
// quantize_row_q5_K_ref, which differ only in nmax (15 or 31) and the grid
// searched by make_qkx2_quants. Each 32-value sub-block gets an asymmetric
// fit weighted by rms(x)+|x|; the eight scales and mins are quantized to 6
// bits against their maxima and packed, then the values are re-quantized
// with the stored scales. It fills the d, dmin and scales fields of block b
// and returns the quants in L.
func quantizeQ45K(x []float32, b []byte, L *[QKK]uint8, nmax int32, rmin, rdelta float32, nstep int) {
	var (
		Laux    [32]uint8
		weights [32]float32
		mins    [QKK / 32]float32
		scales  [QKK / 32]float32
	)
	// Q4_K and Q5_K put d, dmin and scales at the same offsets.
	const offD, offDmin, offScales = q4KOffD, q4KOffDmin, q4KOffScales
	var maxScale, maxMin float32
	for j := 0; j < QKK/32; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrtf(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + absf(v)
		}
		scales[j], mins[j] = makeQkx2Quants(nmax, xs, weights[:], L[32*j:32*j+32], Laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sm := b[offScales : offScales+12]
	clear(sm)
	for j := 0; j < QKK/32; j++ {
		// ggml narrows to uint8 before taking the min with 63 (a negative
		// scale wraps to a large value and so becomes 63); keep that order.
		ls := min(63, uint8(kNearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(kNearestInt(float32(invMin*mins[j]))))
		packScaleMinK4(sm, j, ls, lm)
	}
	kPutF16(b[offD:], maxScale/63)
	kPutF16(b[offDmin:], maxMin/63)
	dAll, dMin := kF16At(b[offD:]), kF16At(b[offDmin:])
	for j := 0; j < QKK/32; j++ {
		sc, m := scaleMinK4(j, sm)
		d := dAll * float32(sc)
		if d == 0 {
			continue // keep the sub-block fit's own quants, as ggml does
		}
		dm := float32(dMin * float32(m)) // exact (a half times a small integer); float32() only keeps arm64 from fusing it
		for ii, v := range x[32*j : 32*j+32] {
			L[32*j+ii] = uint8(clampI32(kNearestInt((v+dm)/d), 0, nmax))
		}
	}
}

func quantizeQ4_K(src []float32, dst []byte) {
	const size = 144
	nb := len(src) / QKK
	var L [QKK]uint8
	for i := 0; i < nb; i++ {
		b := dst[i*size : (i+1)*size]
		quantizeQ45K(src[i*QKK:(i+1)*QKK], b, &L, 15, -1, 0.1, 20)
		qs := b[q4KOffQs : q4KOffQs+128]
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				qs[32*c+l] = L[64*c+l] | L[64*c+l+32]<<4
			}
		}
	}
}

func quantizeQ5_K(src []float32, dst []byte) {
	const size = 176
	nb := len(src) / QKK
	var L [QKK]uint8
	for i := 0; i < nb; i++ {
		b := dst[i*size : (i+1)*size]
		quantizeQ45K(src[i*QKK:(i+1)*QKK], b, &L, 31, -0.5, 0.1, 15)
		qs := b[q5KOffQs : q5KOffQs+128]
		qh := b[q5KOffQh : q5KOffQh+32]
		clear(qh)
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				l1, l2 := L[64*c+l], L[64*c+l+32]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= 1 << uint(2*c)
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= 1 << uint(2*c+1)
				}
				qs[32*c+l] = l1 | l2<<4
			}
		}
	}
}

func dequantizeQ4_K(src []byte, dst []float32) {
	const size = 144
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		y := dst[i*QKK : (i+1)*QKK]
		d, dmin := kF16At(b[q4KOffD:]), kF16At(b[q4KOffDmin:])
		sm := b[q4KOffScales : q4KOffScales+12]
		qs := b[q4KOffQs : q4KOffQs+128]
		for c := 0; c < 4; c++ {
			sc1, m1 := scaleMinK4(2*c, sm)
			sc2, m2 := scaleMinK4(2*c+1, sm)
			d1, mm1 := d*float32(sc1), float32(dmin*float32(m1))
			d2, mm2 := d*float32(sc2), float32(dmin*float32(m2))
			q := qs[32*c : 32*c+32]
			for l := 0; l < 32; l++ {
				y[64*c+l] = float32(d1*float32(q[l]&0xF)) - mm1
				y[64*c+32+l] = float32(d2*float32(q[l]>>4)) - mm2
			}
		}
	}
}

func dequantizeQ5_K(src []byte, dst []float32) {
	const size = 176
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*size : (i+1)*size]
		y := dst[i*QKK : (i+1)*QKK]
		d, dmin := kF16At(b[q5KOffD:]), kF16At(b[q5KOffDmin:])
		sm := b[q5KOffScales : q5KOffScales+12]
		qs := b[q5KOffQs : q5KOffQs+128]
		qh := b[q5KOffQh : q5KOffQh+32]
		for c := 0; c < 4; c++ {
			sc1, m1 := scaleMinK4(2*c, sm)
			sc2, m2 := scaleMinK4(2*c+1, sm)
			d1, mm1 := d*float32(sc1), float32(dmin*float32(m1))
			d2, mm2 := d*float32(sc2), float32(dmin*float32(m2))
			q := qs[32*c : 32*c+32]
			u1, u2 := uint(2*c), uint(2*c+1)
			for l := 0; l < 32; l++ {
				v1 := q[l]&0xF | ((qh[l]>>u1)&1)<<4
				v2 := q[l]>>4 | ((qh[l]>>u2)&1)<<4
				y[64*c+l] = float32(d1*float32(v1)) - mm1
				y[64*c+32+l] = float32(d2*float32(v2)) - mm2
			}
		}
	}
}
