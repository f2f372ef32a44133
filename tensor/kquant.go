// Reference: ggml/src/ggml-common.h (block_q2_K … block_q8_K) and ggml/src/ggml-quants.c
// (nearest_int, make_qx_quants, make_q3_quants, make_qkx2_quants, get_scale_min_k4).

package tensor

import (
	"math"
	"unsafe"
)

// The K-quants pack 256 values into one super-block made of 16 or 8
// sub-blocks; each sub-block has a small integer scale (and for the "x·a+b"
// types a min) that is itself quantized against one fp16 super-block scale.
// The quantizers here are llama.cpp's reference ones (what llama-quantize
// runs without an importance matrix) and are bit-exact with it: every float
// operation is float32, in ggml's order, and each product that feeds a sum
// is converted with float32(…) so that the compiler cannot fuse it into an
// FMA (the C reference is built without contraction).

// Block layouts, field by field as ggml's structs; the offsets below are
// taken from these so they cannot drift. All multi-byte fields are
// little-endian; fp16 fields are stored as their bits.

type blockQ2K struct {
	scales [QKK / 16]uint8 // per 16-value sub-block: low nibble scale, high nibble min
	qs     [QKK / 4]uint8  // 2-bit quants; in each 32-byte group byte l holds values l, l+32, l+64, l+96 (bits 0-1, 2-3, 4-5, 6-7)
	d      uint16          // fp16 scale of the scales
	dmin   uint16          // fp16 scale of the mins
}

type blockQ3K struct {
	hmask  [QKK / 8]uint8 // third bit: value j's bit is bit j/32 of byte j%32
	qs     [QKK / 4]uint8 // low 2 bits, packed as Q2_K's
	scales [12]uint8      // sixteen 6-bit scales (biased by 32): low nibbles in bytes 0-7, top 2 bits in 8-11
	d      uint16         // fp16 super-block scale
}

type blockQ4K struct {
	d      uint16         // fp16 scale of the 6-bit scales
	dmin   uint16         // fp16 scale of the 6-bit mins
	scales [12]uint8      // eight scales and eight mins, 6 bits each (packScaleMinK4)
	qs     [QKK / 2]uint8 // 4-bit quants; 32-byte group c: low nibbles are values 64c…64c+31, high nibbles 64c+32…
}

type blockQ5K struct {
	d      uint16
	dmin   uint16
	scales [12]uint8
	qh     [QKK / 8]uint8 // fifth bit: value 32b+l's bit is bit b of byte l
	qs     [QKK / 2]uint8 // low 4 bits, packed as Q4_K's
}

type blockQ6K struct {
	ql     [QKK / 2]uint8 // low 4 bits: in each 64-byte half, byte l holds values l (low) and l+64 (high), byte l+32 values l+32 and l+96
	qh     [QKK / 4]uint8 // high 2 bits: in each 32-byte half, byte l holds values l, l+32, l+64, l+96
	scales [QKK / 16]int8 // signed 8-bit sub-block scales
	d      uint16         // fp16 super-block scale
}

type blockQ8K struct {
	d     float32         // scale (float32, not fp16)
	qs    [QKK]int8       // quants
	bsums [QKK / 16]int16 // sum of each 16 quants
}

const (
	q2KOffScales = int(unsafe.Offsetof(blockQ2K{}.scales))
	q2KOffQs     = int(unsafe.Offsetof(blockQ2K{}.qs))
	q2KOffD      = int(unsafe.Offsetof(blockQ2K{}.d))
	q2KOffDmin   = int(unsafe.Offsetof(blockQ2K{}.dmin))

	q3KOffHmask  = int(unsafe.Offsetof(blockQ3K{}.hmask))
	q3KOffQs     = int(unsafe.Offsetof(blockQ3K{}.qs))
	q3KOffScales = int(unsafe.Offsetof(blockQ3K{}.scales))
	q3KOffD      = int(unsafe.Offsetof(blockQ3K{}.d))

	q4KOffD      = int(unsafe.Offsetof(blockQ4K{}.d))
	q4KOffDmin   = int(unsafe.Offsetof(blockQ4K{}.dmin))
	q4KOffScales = int(unsafe.Offsetof(blockQ4K{}.scales))
	q4KOffQs     = int(unsafe.Offsetof(blockQ4K{}.qs))

	q5KOffD      = int(unsafe.Offsetof(blockQ5K{}.d))
	q5KOffDmin   = int(unsafe.Offsetof(blockQ5K{}.dmin))
	q5KOffScales = int(unsafe.Offsetof(blockQ5K{}.scales))
	q5KOffQh     = int(unsafe.Offsetof(blockQ5K{}.qh))
	q5KOffQs     = int(unsafe.Offsetof(blockQ5K{}.qs))

	q6KOffQl     = int(unsafe.Offsetof(blockQ6K{}.ql))
	q6KOffQh     = int(unsafe.Offsetof(blockQ6K{}.qh))
	q6KOffScales = int(unsafe.Offsetof(blockQ6K{}.scales))
	q6KOffD      = int(unsafe.Offsetof(blockQ6K{}.d))

	q8KOffD     = int(unsafe.Offsetof(blockQ8K{}.d))
	q8KOffQs    = int(unsafe.Offsetof(blockQ8K{}.qs))
	q8KOffBsums = int(unsafe.Offsetof(blockQ8K{}.bsums))
)

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it is treated as all zeros.
const groupMaxEps float32 = 1e-15

// kNearestInt is ggml's nearest_int: adding 1.5×2^23 makes the FPU round to
// an integer (ties to even) and leaves it in the low mantissa bits. Callers
// pass products already rounded, float32(a*b), so no FMA can intervene.
func kNearestInt(f float32) int32 {
	v := f + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func absf(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// sqrtf is correctly rounded: the float64 square root of a float32 rounds
// to the same float32 as a single-precision square root would.
func sqrtf(v float32) float32 { return float32(math.Sqrt(float64(v))) }

func clampI32(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

// makeQxQuants is make_qx_quants with rmse_type 1 and no importance
// weights (the only form the reference quantizers call): it picks the
// symmetric scale for values in [-nmax, nmax-1] that minimises the x²-weighted
// squared error, trying 18 scales around nmax/max. L receives quants biased
// by +nmax; the scale is returned.
func makeQxQuants(nmax int32, x []float32, L []int8) float32 {
	n := len(x)
	L = L[:n]
	var max, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	fnmax := float32(nmax)
	iscale := -fnmax / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampI32(kNearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := float32(v * v)
		fl := float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(float32(0.1)*float32(is))) / max
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := clampI32(kNearestInt(float32(iscale*v)), -nmax, nmax-1)
			w := float32(v * v)
			fl := float32(l)
			sumlx += float32(w * v * fl)
			suml2 += float32(w * fl * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				l := clampI32(kNearestInt(float32(iscale*v)), -nmax, nmax-1)
				L[i] = int8(l + nmax)
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants with do_rmse: start from the max-based
// scale, then up to 5 passes of coordinate descent, each moving one quant
// at a time to its optimum under the current least-squares scale and
// keeping the move only if the x²-weighted fit improves. L receives quants
// biased by +nmax.
func makeQ3Quants(nmax int32, x []float32, L []int8) float32 {
	n := len(x)
	L = L[:n]
	var max, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	iscale := -float32(nmax) / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampI32(kNearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(v * v)
		fl := float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := float32(v * v)
			fL := float32(L[i])
			slx := sumlx - float32(w*v*fL)
			if slx <= 0 {
				continue
			}
			sl2 := suml2 - float32(w*fL*fL)
			newL := clampI32(kNearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
			if newL == int32(L[i]) {
				continue
			}
			fn := float32(newL)
			slx += float32(w * v * fn)
			sl2 += float32(w * fn * fn)
			if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
				L[i] = int8(newL)
				sumlx, suml2 = slx, sl2
				changed++
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	return sumlx / suml2
}

// makeQkx2Quants is make_qkx2_quants: an asymmetric fit x ≈ scale·L − min
// with L in [0, nmax] and min ≥ 0, trying nstep+1 grid offsets around
// nmax/(max−min) and solving each candidate's weighted least-squares
// scale and min in closed form; the candidate with the smallest weighted
// error (absolute if useMad, else squared) wins. Laux is scratch of len(x).
func makeQkx2Quants(nmax int32, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	weights, L, Laux = weights[:n], L[:n], Laux[:n]
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		clear(L)
		return 0, -min
	}
	fnmax := float32(nmax)
	iscale := fnmax / (max - min)
	scale = 1 / iscale
	var bestMad float32
	for i, v := range x {
		l := clampI32(kNearestInt(float32(iscale*(v-min))), 0, nmax)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + min - v
		if useMad {
			diff = absf(diff)
		} else {
			diff = float32(diff * diff)
		}
		bestMad += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -min
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fnmax) / (max - min)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampI32(kNearestInt(float32(iscale*(v-min))), 0, nmax)
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var mad float32
		for i, v := range x {
			diff := float32(thisScale*float32(Laux[i])) + thisMin - v
			if useMad {
				diff = absf(diff)
			} else {
				diff = float32(diff * diff)
			}
			mad += float32(weights[i] * diff)
		}
		if mad < bestMad {
			copy(L, Laux)
			bestMad = mad
			scale, min = thisScale, thisMin
		}
	}
	return scale, -min
}

// scaleMinK4 is get_scale_min_k4: the j-th 6-bit scale and min of a Q4_K or
// Q5_K block. Sub-blocks 0-3 use the low 6 bits of bytes j and j+4; 4-7 keep
// their low nibbles in byte j+4 and their top 2 bits in the spare top bits
// of bytes j-4 (scale) and j (min).
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	q = q[:12]
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// packScaleMinK4 stores scale ls and min lm (each < 64) of sub-block j in
// the layout scaleMinK4 reads; sub-blocks must be stored in order 0…7 into
// zeroed bytes, as the upper ones OR into bytes the lower ones wrote.
func packScaleMinK4(q []byte, j int, ls, lm uint8) {
	q = q[:12]
	if j < 4 {
		q[j] = ls
		q[j+4] = lm
		return
	}
	q[j+4] = ls&0xF | (lm&0xF)<<4
	q[j-4] |= (ls >> 4) << 6
	q[j] |= (lm >> 4) << 6
}

// packQ2Bits stores 256 2-bit values L as Q2_K/Q3_K do: in each half of 128,
// byte l holds values l, l+32, l+64 and l+96 from the low bits up.
func packQ2Bits(qs []byte, L []uint8) {
	qs, L = qs[:QKK/4], L[:QKK]
	for j := 0; j < QKK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}
