// Reference: ggml/src/ggml-common.h (block_iq2_xxs … block_iq1_m) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (ggml_vec_dot_iq2_xxs_q8_K … ggml_vec_dot_iq1_m_q8_K: the values from the scalar branches, the sum
// order from the __AVX2__ ones).

package kernel

import "encoding/binary"

// Dots of the low-bit i-quants against Q8_K activations. Each 32-value
// group is four (IQ3: eight half-) lookups into a codebook of magnitudes,
// with signs from a bit mask; group sums are exact int32 products weighted
// by the group's odd integer scale 2s+1, and one float multiply per block
// applies d_w·d_x and the format's constant factor (1/8 for IQ2, 1/4 for
// IQ3_XXS). IQ1's codebook holds −1/0/+1 shifted by ±1/8 per group; the
// shift's contribution is ±bsum, so it stays an integer sum as well.
//
// Block layouts (bytes):
//
//	IQ2_XXS 66: d | qs[64]: per group 4 grid indices, then 4×7 sign bits and a 4-bit scale
//	IQ2_XS  74: d | qs[32]uint16 (9-bit index | 7-bit signs) | scales[8] (two 4-bit per group)
//	IQ2_S   82: d | qs[32] index low bytes | signs[32] | qh[8] index bits 8-9 | scales[8]
//	IQ3_XXS 98: d | qs[64] indices (4 values each) | per group 4×7 sign bits and a 4-bit scale
//	IQ3_S  110: d | qs[64] | qh[8] ninth index bits | signs[32] | scales[4]
//	IQ1_S   50: d | qs[32] | qh[8]uint16: 4×3 index bits, 3-bit scale, shift sign
//	IQ1_M   56: qs[32] | qh[16] | scales[4]uint16 (3-bit scales; fp16 d in the top nibbles)
const (
	blockIQ2XXSBytes = 66
	blockIQ2XSBytes  = 74
	blockIQ2SBytes   = 82
	blockIQ3XXSBytes = 98
	blockIQ3SBytes   = 110
	blockIQ1SBytes   = 50
	blockIQ1MBytes   = 56
)

// DotIQ2_XXS is DotQ2_K for IQ2_XXS weights.
func DotIQ2_XXS(n int, w, x []byte) float32 { return dotIQ2_XXS(n, w, x) }

// DotIQ2_XS is DotQ2_K for IQ2_XS weights.
func DotIQ2_XS(n int, w, x []byte) float32 { return dotIQ2_XS(n, w, x) }

// DotIQ2_S is DotQ2_K for IQ2_S weights.
func DotIQ2_S(n int, w, x []byte) float32 { return dotIQ2_S(n, w, x) }

// DotIQ3_XXS is DotQ2_K for IQ3_XXS weights.
func DotIQ3_XXS(n int, w, x []byte) float32 { return dotIQ3_XXS(n, w, x) }

// DotIQ3_S is DotQ2_K for IQ3_S weights.
func DotIQ3_S(n int, w, x []byte) float32 { return dotIQ3_S(n, w, x) }

// DotIQ1_S is DotQ2_K for IQ1_S weights.
func DotIQ1_S(n int, w, x []byte) float32 { return dotIQ1_S(n, w, x) }

// DotIQ1_M is DotQ2_K for IQ1_M weights.
func DotIQ1_M(n int, w, x []byte) float32 { return dotIQ1_M(n, w, x) }

var (
	dotIQ2_XXS = dotIQ2_XXSGeneric
	dotIQ2_XS  = dotIQ2_XSGeneric
	dotIQ2_S   = dotIQ2_SGeneric
	dotIQ3_XXS = dotIQ3_XXSGeneric
	dotIQ3_S   = dotIQ3_SGeneric
	dotIQ1_S   = dotIQ1_SGeneric
	dotIQ1_M   = dotIQ1_MGeneric
)

// signedLanes adds grid[j]·a[j]·(−1 if bit j of signs) to lane (off+j)/4
// of p, for j < len(grid): the int32 lanes llama.cpp's AVX2 dots build with
// VPMADDUBSW and VPMADDWD, where lane m of a 32-element run holds its
// elements 4m…4m+3 (off is the grid's first element within the run).
func signedLanes(p *[8]int32, off int, grid []uint8, a []byte, signs uint8) {
	a = a[:len(grid)]
	for j, g := range grid {
		v := int32(g) * int32(int8(a[j]))
		if signs>>uint(j)&1 != 0 {
			v = -v
		}
		p[(off+j)/4] += v
	}
}

// scaleLanes adds the run's lanes p to s, lanes 0…3 (the run's first 16
// elements) times lo, lanes 4…7 times hi, and clears p.
func scaleLanes(s, p *[8]int32, lo, hi int32) {
	for m := range 4 {
		s[m] += lo * p[m]
		s[m+4] += hi * p[m+4]
	}
	*p = [8]int32{}
}

// The IQ2/IQ3 dots below sum as llama.cpp's AVX2 ggml_vec_dot_iq*_q8_K do:
// eight int32 lanes per super-block (signedLanes, scaleLanes), added to
// eight float32 accumulators by one FMA with d = fp16(w.d)·y.d, folded by
// hsum8 and scaled by the format's constant (exact: a power of two).

func dotIQ2_XXSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2XXSBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s, p [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2XXSBytes]byte)(w[i*blockIQ2XXSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		for ib := 0; ib < 8; ib++ {
			g := b[2+8*ib : 2+8*ib+8]
			aux := binary.LittleEndian.Uint32(g[4:])
			for l := 0; l < 4; l++ {
				signedLanes(&p, 8*l, IQ2XXSGrid[g[l]][:], q8[32*ib+8*l:], IQSigns(aux>>(7*uint(l))))
			}
			ls := int32(2*(aux>>28) + 1)
			scaleLanes(&s, &p, ls, ls)
		}
		fmaLanes(&acc, kHalf(b[:])*kF32(y[q8KOffD:]), &s)
	}
	return 0.125 * hsum8(&acc)
}

func dotIQ2_XSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2XSBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s, p [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2XSBytes]byte)(w[i*blockIQ2XSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		for ib := 0; ib < 8; ib++ {
			sc := b[66+ib]
			for l := 0; l < 4; l++ {
				q := uint32(binary.LittleEndian.Uint16(b[2+2*(4*ib+l):]))
				signedLanes(&p, 8*l, IQ2XSGrid[q&511][:], q8[32*ib+8*l:], IQSigns(q>>9))
			}
			scaleLanes(&s, &p, int32(2*(sc&0xF)+1), int32(2*(sc>>4)+1))
		}
		fmaLanes(&acc, kHalf(b[:])*kF32(y[q8KOffD:]), &s)
	}
	return 0.125 * hsum8(&acc)
}

func dotIQ2_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2SBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s, p [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2SBytes]byte)(w[i*blockIQ2SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		for ib := 0; ib < 8; ib++ {
			sc := b[74+ib]
			qh := uint32(b[66+ib])
			for l := 0; l < 4; l++ {
				idx := uint32(b[2+4*ib+l]) | (qh<<(8-2*uint(l)))&0x300
				signedLanes(&p, 8*l, IQ2SGrid[idx][:], q8[32*ib+8*l:], b[34+4*ib+l])
			}
			scaleLanes(&s, &p, int32(2*(sc&0xF)+1), int32(2*(sc>>4)+1))
		}
		fmaLanes(&acc, kHalf(b[:])*kF32(y[q8KOffD:]), &s)
	}
	return 0.125 * hsum8(&acc)
}

func dotIQ3_XXSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ3XXSBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s, p [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ3XXSBytes]byte)(w[i*blockIQ3XXSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		for ib := 0; ib < 8; ib++ {
			aux := binary.LittleEndian.Uint32(b[66+4*ib:])
			for l := 0; l < 4; l++ {
				signs := IQSigns(aux >> (7 * uint(l)))
				a := q8[32*ib+8*l:]
				signedLanes(&p, 8*l, IQ3XXSGrid[b[2+8*ib+2*l]][:], a, signs)
				signedLanes(&p, 8*l+4, IQ3XXSGrid[b[2+8*ib+2*l+1]][:], a[4:], signs>>4)
			}
			ls := int32(2*(aux>>28) + 1)
			scaleLanes(&s, &p, ls, ls)
		}
		fmaLanes(&acc, kHalf(b[:])*kF32(y[q8KOffD:]), &s)
	}
	return 0.25 * hsum8(&acc)
}

func dotIQ3_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ3SBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s, p [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ3SBytes]byte)(w[i*blockIQ3SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		for ib := 0; ib < 8; ib++ {
			ls := int32(2*(b[106+ib/2]>>(4*uint(ib%2))&0xF) + 1)
			qh := uint32(b[66+ib])
			for l := 0; l < 4; l++ {
				signs := b[74+4*ib+l]
				a := q8[32*ib+8*l:]
				i1 := uint32(b[2+8*ib+2*l]) | (qh<<(8-2*uint(l)))&256
				i2 := uint32(b[2+8*ib+2*l+1]) | (qh<<(7-2*uint(l)))&256
				signedLanes(&p, 8*l, IQ3SGrid[i1][:], a, signs)
				signedLanes(&p, 8*l+4, IQ3SGrid[i2][:], a[4:], signs>>4)
			}
			scaleLanes(&s, &p, ls, ls)
		}
		fmaLanes(&acc, kHalf(b[:])*kF32(y[q8KOffD:]), &s)
	}
	return hsum8(&acc)
}

// iq1Lanes adds grid[j]·a[j] to lane (off+j)/4 of p and delta·a[j] to the
// same lane of q, for the 8 values of one IQ1 grid (delta is ±1).
func iq1Lanes(p, q *[8]int32, off int, grid *[8]int8, a []byte, delta int32) {
	a = a[:8]
	for j, g := range grid {
		v := int32(int8(a[j]))
		p[(off+j)/4] += int32(g) * v
		q[(off+j)/4] += delta * v
	}
}

// dotIQ1_SGeneric: the grid products in eight lanes by one FMA per
// super-block with d = y.d·fp16(w.d); the ±1 deltas, Σ ls·delta·(bsum pair)
// per super-block as one integer, in a float32 sum by one FMA with the same
// d; hsum8 + 0.125·that sum, as llama.cpp's AVX2 ggml_vec_dot_iq1_s_q8_K.
func dotIQ1_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ1SBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var acc1 float32
	var s, p, q [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ1SBytes]byte)(w[i*blockIQ1SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		s = [8]int32{}
		var sumi1 int32
		for ib := 0; ib < 8; ib++ {
			qh := uint32(binary.LittleEndian.Uint16(b[34+2*ib:]))
			ls := int32(2*(qh>>12&7) + 1)
			delta := int32(1)
			if qh&0x8000 != 0 {
				delta = -1
			}
			for l := 0; l < 4; l++ {
				iq1Lanes(&p, &q, 8*l, &IQ1SGrid[uint32(b[2+4*ib+l])|(qh>>(3*uint(l))&7)<<8], q8[32*ib+8*l:], 0)
			}
			scaleLanes(&s, &p, ls, ls)
			sumi1 += ls * delta * (q8KBsum(y, 2*ib) + q8KBsum(y, 2*ib+1))
		}
		d := kF32(y[q8KOffD:]) * kHalf(b[:])
		fmaLanes(&acc, d, &s)
		acc1 = fma32x(d, float32(sumi1), acc1)
	}
	return hsum8(&acc) + 0.125*acc1
}

// dotIQ1_MGeneric: the grid products and the ±1 deltas in two sets of eight
// lanes, each by one FMA per super-block with d = y.d·fp16(scale), folded by
// hsum8: hsum8(grid) + 0.125·hsum8(deltas), as llama.cpp's AVX2
// ggml_vec_dot_iq1_m_q8_K.
func dotIQ1_MGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ1MBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc1, acc2 [8]float32
	var s1, s2, p, q [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ1MBytes]byte)(w[i*blockIQ1MBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var sc [4]uint32
		for k := range sc {
			sc[k] = uint32(binary.LittleEndian.Uint16(b[48+2*k:]))
		}
		d := FP16ToFP32(uint16(sc[0]>>12 | sc[1]>>8&0x00F0 | sc[2]>>4&0x0F00 | sc[3]&0xF000))
		s1, s2 = [8]int32{}, [8]int32{}
		for ib := 0; ib < 8; ib++ {
			sv := sc[ib/2] >> (6 * uint(ib%2))
			lo, hi := int32(2*(sv&7)+1), int32(2*(sv>>3&7)+1)
			for l := 0; l < 4; l++ {
				h := uint32(b[32+2*ib+l/2]) >> (4 * uint(l%2)) // index bits 0-2, shift sign bit 3
				delta := int32(1)
				if h&8 != 0 {
					delta = -1
				}
				iq1Lanes(&p, &q, 8*l, &IQ1SGrid[uint32(b[4*ib+l])|(h&7)<<8], q8[32*ib+8*l:], delta)
			}
			scaleLanes(&s1, &p, lo, hi)
			scaleLanes(&s2, &q, lo, hi)
		}
		dd := kF32(y[q8KOffD:]) * d
		fmaLanes(&acc1, dd, &s1)
		fmaLanes(&acc2, dd, &s2)
	}
	return hsum8(&acc1) + 0.125*hsum8(&acc2)
}
