// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branches of ggml_vec_dot_q4_K_q8_K,
// _q5_K_q8_K, _q6_K_q8_K: which products each of the eight int32 lanes sums, and the float order after).

package kernel

// The Q4_K, Q5_K and Q6_K dots in llama.cpp's AVX2 float order, so that the
// plain Go, the assembly and llama.cpp give the same bits. Per super-block,
// lane m (0…7) of an int32 vector sums, over every 32-element run of the
// block, the scale-weighted products of the run's elements 4m…4m+3 (the
// layout VPMADDUBSW then VPMADDWD leave); the lanes are rounded to float32
// and added by one FMA with d = y.d·w.d into eight float32 accumulators,
// which hsum8 folds at the end. The mins of Q4_K/Q5_K (Σ min·bsums) follow
// their own, different orders, spelled out below.

// q4KLaneSums returns the eight lane sums of a Q4_K or Q5_K super-block (for
// Q5_K, qh supplies the fifth bits; nil for Q4_K).
func qK45LaneSums(sm *[12]byte, qs *[128]byte, qh *[32]byte, q8 *[QKK]byte) (s [8]int32) {
	for j := 0; j < 4; j++ { // 64 elements: low nibbles, then high nibbles
		sc1, _ := scaleMinK4(2*j, sm)
		sc2, _ := scaleMinK4(2*j+1, sm)
		q := (*[32]byte)(qs[32*j:])
		a := (*[64]byte)(q8[64*j:])
		for m := 0; m < 8; m++ {
			var s1, s2 int32
			for b := 4 * m; b < 4*m+4; b++ {
				v1, v2 := int32(q[b]&0xF), int32(q[b]>>4)
				if qh != nil {
					v1 |= int32(qh[b]>>(2*j)&1) << 4
					v2 |= int32(qh[b]>>(2*j+1)&1) << 4
				}
				s1 += v1 * int32(int8(a[b]))
				s2 += v2 * int32(int8(a[b+32]))
			}
			s[m] += sc1*s1 + sc2*s2
		}
	}
	return s
}

// qK45Mins returns llama.cpp's four int32 lanes of Σ min·bsum: lane k pairs
// the 32-element runs 2k and 2k+1 (each run's bsum is two Q8_K bsums).
func qK45Mins(sm *[12]byte, y *blockBytesQ8K) (p [8]int32) {
	for k := 0; k < 4; k++ {
		_, m1 := scaleMinK4(2*k, sm)
		_, m2 := scaleMinK4(2*k+1, sm)
		p[k] = m1*(q8KBsum(y, 4*k)+q8KBsum(y, 4*k+1)) + m2*(q8KBsum(y, 4*k+2)+q8KBsum(y, 4*k+3))
	}
	return p
}

// dotQ4_KGeneric: the mins go to four float32 lanes by FMA with
// dmin = −y.d·w.dmin, folded (m0+m2)+(m1+m3) and added to hsum8 at the end.
func dotQ4_KGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockQ4KBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc, accm [8]float32
	for i := 0; i < nb; i++ {
		b := (*blockBytesQ4K)(w[i*blockQ4KBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		sm := (*[12]byte)(b[q4KOffScales:])
		dy := kF32(y[q8KOffD:])
		mins := qK45Mins(sm, y)
		fmaLanes(&accm, -dy*kHalf(b[q4KOffDmin:]), &mins)
		s := qK45LaneSums(sm, (*[128]byte)(b[q4KOffQs:]), nil, (*[QKK]byte)(y[q8KOffQs:]))
		fmaLanes(&acc, dy*kHalf(b[q4KOffD:]), &s)
	}
	return hsum8(&acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// dotQ5_KGeneric: the mins are summed to one integer per super-block and
// kept in a float32 sum, summs += dmin·float32(Σ) by one fused multiply-add:
// gcc contracts that C statement under -mfma (a vfmadd231ss in the AVX2
// build's ggml_vec_dot_q5_K_q8_K; rounding the product first gave other bits
// on rows of two or more super-blocks). It is added to hsum8 at the end.
func dotQ5_KGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockQ5KBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var summs float32
	for i := 0; i < nb; i++ {
		b := (*blockBytesQ5K)(w[i*blockQ5KBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		sm := (*[12]byte)(b[q5KOffScales:])
		dy := kF32(y[q8KOffD:])
		mins := qK45Mins(sm, y)
		dmin := -dy * kHalf(b[q5KOffDmin:])
		summs = fma32x(dmin, float32((mins[0]+mins[1])+(mins[2]+mins[3])), summs)
		s := qK45LaneSums(sm, (*[128]byte)(b[q5KOffQs:]), (*[32]byte)(b[q5KOffQh:]), (*[QKK]byte)(y[q8KOffQs:]))
		fmaLanes(&acc, dy*kHalf(b[q5KOffD:]), &s)
	}
	return hsum8(&acc) + summs
}

func dotQ6_KGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockQ6KBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		b := (*blockBytesQ6K)(w[i*blockQ6KBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		sc := (*[16]byte)(b[q6KOffScales:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		var s [8]int32
		for c := 0; c < 2; c++ { // 128 elements from 64 ql bytes and 32 qh bytes
			ql := (*[64]byte)(b[q6KOffQl+64*c:])
			qh := (*[32]byte)(b[q6KOffQh+32*c:])
			a := (*[128]byte)(q8[128*c:])
			// Runs r = 0…3 are elements 32r+l; lanes 0…3 cover the run's
			// first 16-element sub-block (scale 8c+2r), lanes 4…7 its second.
			for m := 0; m < 8; m++ {
				var s0, s1, s2, s3 int32
				for l := 4 * m; l < 4*m+4; l++ {
					h6 := qh[l]
					v0 := int32(ql[l]&0xF|(h6&3)<<4) - 32
					v1 := int32(ql[l+32]&0xF|((h6>>2)&3)<<4) - 32
					v2 := int32(ql[l]>>4|((h6>>4)&3)<<4) - 32
					v3 := int32(ql[l+32]>>4|((h6>>6)&3)<<4) - 32
					s0 += int32(int8(a[l])) * v0
					s1 += int32(int8(a[l+32])) * v1
					s2 += int32(int8(a[l+64])) * v2
					s3 += int32(int8(a[l+96])) * v3
				}
				h := m / 4
				s[m] += int32(int8(sc[8*c+h]))*s0 + int32(int8(sc[8*c+2+h]))*s1 +
					int32(int8(sc[8*c+4+h]))*s2 + int32(int8(sc[8*c+6+h]))*s3
			}
		}
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[q6KOffD:]), &s)
	}
	return hsum8(&acc)
}
