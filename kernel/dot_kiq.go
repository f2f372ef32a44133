// Reference: ggml/src/ggml-common.h (block_iq2_xxs … block_iq1_m) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (scalar branches of ggml_vec_dot_iq2_xxs_q8_K … ggml_vec_dot_iq1_m_q8_K).

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

// signedDot8 returns Σ grid[j]·a[j]·(−1 if bit j of signs), j < len(grid).
func signedDot8(grid []uint8, a []byte, signs uint8) int32 {
	a = a[:len(grid)]
	var s int32
	for j, g := range grid {
		p := int32(g) * int32(int8(a[j]))
		if signs>>uint(j)&1 != 0 {
			p = -p
		}
		s += p
	}
	return s
}

func dotIQ2_XXSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2XXSBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2XXSBytes]byte)(w[i*blockIQ2XXSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			g := b[2+8*ib : 2+8*ib+8]
			aux := binary.LittleEndian.Uint32(g[4:])
			var s int32
			for l := 0; l < 4; l++ {
				s += signedDot8(IQ2XXSGrid[g[l]][:], q8[32*ib+8*l:], IQSigns(aux>>(7*uint(l))))
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * float32(bsum))
	}
	return 0.125 * sum
}

func dotIQ2_XSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2XSBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2XSBytes]byte)(w[i*blockIQ2XSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			sc := b[66+ib]
			var s [2]int32
			for l := 0; l < 4; l++ {
				q := uint32(binary.LittleEndian.Uint16(b[2+2*(4*ib+l):]))
				s[l/2] += signedDot8(IQ2XSGrid[q&511][:], q8[32*ib+8*l:], IQSigns(q>>9))
			}
			bsum += s[0]*int32(2*(sc&0xF)+1) + s[1]*int32(2*(sc>>4)+1)
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * float32(bsum))
	}
	return 0.125 * sum
}

func dotIQ2_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ2SBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ2SBytes]byte)(w[i*blockIQ2SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			sc := b[74+ib]
			qh := uint32(b[66+ib])
			var s [2]int32
			for l := 0; l < 4; l++ {
				idx := uint32(b[2+4*ib+l]) | (qh<<(8-2*uint(l)))&0x300
				s[l/2] += signedDot8(IQ2SGrid[idx][:], q8[32*ib+8*l:], b[34+4*ib+l])
			}
			bsum += s[0]*int32(2*(sc&0xF)+1) + s[1]*int32(2*(sc>>4)+1)
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * float32(bsum))
	}
	return 0.125 * sum
}

func dotIQ3_XXSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ3XXSBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ3XXSBytes]byte)(w[i*blockIQ3XXSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			aux := binary.LittleEndian.Uint32(b[66+4*ib:])
			var s int32
			for l := 0; l < 4; l++ {
				signs := IQSigns(aux >> (7 * uint(l)))
				a := q8[32*ib+8*l:]
				s += signedDot8(IQ3XXSGrid[b[2+8*ib+2*l]][:], a, signs)
				s += signedDot8(IQ3XXSGrid[b[2+8*ib+2*l+1]][:], a[4:], signs>>4)
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * float32(bsum))
	}
	return 0.25 * sum
}

func dotIQ3_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ3SBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ3SBytes]byte)(w[i*blockIQ3SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			ls := int32(2*(b[106+ib/2]>>(4*uint(ib%2))&0xF) + 1)
			qh := uint32(b[66+ib])
			var s int32
			for l := 0; l < 4; l++ {
				signs := b[74+4*ib+l]
				a := q8[32*ib+8*l:]
				i1 := uint32(b[2+8*ib+2*l]) | (qh<<(8-2*uint(l)))&256
				i2 := uint32(b[2+8*ib+2*l+1]) | (qh<<(7-2*uint(l)))&256
				s += signedDot8(IQ3SGrid[i1][:], a, signs)
				s += signedDot8(IQ3SGrid[i2][:], a[4:], signs>>4)
			}
			bsum += s * ls
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * float32(bsum))
	}
	return sum
}

// iq1Dot8 returns Σ grid[j]·a[j] and Σ a[j] over 8 values.
func iq1Dot8(grid *[8]int8, a []byte) (dot, sum int32) {
	a = a[:8]
	for j, g := range grid {
		v := int32(int8(a[j]))
		dot += int32(g) * v
		sum += v
	}
	return dot, sum
}

func dotIQ1_SGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ1SBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ1SBytes]byte)(w[i*blockIQ1SBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var sumi, sumi1 int32
		for ib := 0; ib < 8; ib++ {
			qh := uint32(binary.LittleEndian.Uint16(b[34+2*ib:]))
			ls := int32(2*(qh>>12&7) + 1)
			delta := int32(1)
			if qh&0x8000 != 0 {
				delta = -1
			}
			var lsum int32
			for l := 0; l < 4; l++ {
				d, _ := iq1Dot8(&IQ1SGrid[uint32(b[2+4*ib+l])|(qh>>(3*uint(l))&7)<<8], q8[32*ib+8*l:])
				lsum += d
			}
			sumi += ls * lsum
			sumi1 += ls * delta * (q8KBsum(y, 2*ib) + q8KBsum(y, 2*ib+1))
		}
		sum += float32(kHalf(b[:]) * kF32(y[q8KOffD:]) * (float32(sumi) + 0.125*float32(sumi1)))
	}
	return sum
}

func dotIQ1_MGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ1MBytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockIQ1MBytes]byte)(w[i*blockIQ1MBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := y[q8KOffQs : q8KOffQs+QKK]
		var sc [4]uint32
		for k := range sc {
			sc[k] = uint32(binary.LittleEndian.Uint16(b[48+2*k:]))
		}
		d := FP16ToFP32(uint16(sc[0]>>12 | sc[1]>>8&0x00F0 | sc[2]>>4&0x0F00 | sc[3]&0xF000))
		var sumi1, sumi2 int32
		for ib := 0; ib < 8; ib++ {
			s := sc[ib/2] >> (6 * uint(ib%2))
			ls := [2]int32{int32(2*(s&7) + 1), int32(2*(s>>3&7) + 1)}
			for l := 0; l < 4; l++ {
				h := uint32(b[32+2*ib+l/2]) >> (4 * uint(l%2)) // index bits 0-2, shift sign bit 3
				dot, asum := iq1Dot8(&IQ1SGrid[uint32(b[4*ib+l])|(h&7)<<8], q8[32*ib+8*l:])
				if h&8 != 0 {
					asum = -asum
				}
				sumi1 += ls[l/2] * dot
				sumi2 += ls[l/2] * asum
			}
		}
		sum += float32(d * kF32(y[q8KOffD:]) * (float32(sumi1) + 0.125*float32(sumi2)))
	}
	return sum
}
