// Reference: ggml/src/ggml-quants.c (quantize_row_q8_0_ref, quantize_row_q8_1_ref); layouts from
// ggml/src/ggml-common.h (block_q8_0, block_q8_1).

package kernel

import (
	"encoding/binary"
	"math"
)

// QK is the number of elements in one block of the legacy formats (Q4_0 …
// Q8_1, IQ4_NL).
const QK = 32

// Byte layout of the 8-bit activation blocks. All multi-byte fields are
// little-endian; the int8 quants follow the header.
//
//	Q8_0 (34 bytes): d fp16 | qs [32]int8          value[j] = d·qs[j]
//	Q8_1 (36 bytes): d fp16 | s fp16 | qs [32]int8  value[j] = d·qs[j], s = d·Σqs
const (
	q8_0Bytes = 2 + QK // block_q8_0
	q8_0QS    = 2      // offset of qs in block_q8_0
	q8_1Bytes = 4 + QK // block_q8_1
	q8_1S     = 2      // offset of s in block_q8_1
	q8_1QS    = 4      // offset of qs in block_q8_1
)

// QuantizeQ8_0 packs src (a whole number of 32-element blocks) into Q8_0
// blocks in dst (34 bytes each). The generic code is llama.cpp's reference
// quantizer, byte for byte: it writes Q8_0 weights (tensor.Quantize, gptgo
// quantize), so an assembly replacement must produce the very same bytes
// (the tensor package checks them against llama.cpp's files).
//
// llama.cpp's own AVX2 activation quantizer differs slightly: it scales by
// 127/amax instead of 1/(amax/127) and rounds half to even, so a few quants
// per million land one step apart. MatMul therefore quantizes activations
// with QuantizeQ8_0Activations, which does exactly that, on every machine.
func QuantizeQ8_0(src []float32, dst []byte) { quantizeQ8_0(src, dst) }

var quantizeQ8_0 = quantizeQ8_0Generic

// QuantizeQ8_1 packs src into Q8_1 blocks (36 bytes each), storing beside d
// the block's s = d·Σq that the Q4_1/Q5_1 dots use for their offset term. Same
// bit-exactness contract as QuantizeQ8_0.
func QuantizeQ8_1(src []float32, dst []byte) { quantizeQ8_1(src, dst) }

var quantizeQ8_1 = quantizeQ8_1Generic

// q8Scale returns the block's scale d = amax/127 and its inverse (0 for an
// all-zero block), in float32 as the reference computes them.
func q8Scale(x []float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		// MAX(amax, |v|) as the reference writes it, so a NaN propagates.
		if a := float32(math.Abs(float64(v))); !(amax > a) {
			amax = a
		}
	}
	d = amax / 127
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// roundf rounds half away from zero as C's roundf does. The float64 detour is
// exact: every float32 is a float64, and so is its rounded value.
func roundf(v float32) float32 { return float32(math.Round(float64(v))) }

func quantizeQ8_0Generic(src []float32, dst []byte) {
	nb := len(src) / QK
	dst = dst[:nb*q8_0Bytes]
	for i := 0; i < nb; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*q8_0Bytes : i*q8_0Bytes+q8_0Bytes]
		d, id := q8Scale(x)
		binary.LittleEndian.PutUint16(b, FP32ToFP16(d))
		qs := b[q8_0QS : q8_0QS+QK]
		for j, v := range x {
			// float32(v*id) pins the product's rounding before roundf, as in C.
			qs[j] = byte(int8(roundf(float32(v * id))))
		}
	}
}

func quantizeQ8_1Generic(src []float32, dst []byte) {
	nb := len(src) / QK
	dst = dst[:nb*q8_1Bytes]
	for i := 0; i < nb; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*q8_1Bytes : i*q8_1Bytes+q8_1Bytes]
		d, id := q8Scale(x)
		binary.LittleEndian.PutUint16(b, FP32ToFP16(d))
		qs := b[q8_1QS : q8_1QS+QK]
		sum := 0
		for j, v := range x {
			q := int8(roundf(float32(v * id)))
			qs[j] = byte(q)
			sum += int(q)
		}
		// s is d times the sum of the stored quants (not of x), rounded to
		// fp16: exactly the offset the dot needs for Σ m·d_y·q_y.
		binary.LittleEndian.PutUint16(b[q8_1S:], FP32ToFP16(float32(sum)*d))
	}
}

// QuantizeQ8_0Activations packs src into Q8_0 blocks the way llama.cpp's
// AVX2 quantize_row_q8_0 does when it converts activations before a matmul:
// amax is folded in its lane order (max of lanes i and i+8, +16, +24, then
// the 8 lanes pairwise), the inverse scale is 127/amax rather than
// 1/(amax/127), and ties round to even. A few quants per million therefore
// land one step away from QuantizeQ8_0's, which must stay the reference
// algorithm for writing Q8_0 weights. MatMul uses this one (through
// tensor.Format.FromFloat) so that its products are llama.cpp's, bit for bit.
// Out-of-range and NaN quotients saturate as the SIMD conversion and packs
// do (NaN and |q| ≥ 2³¹ become −128).
func QuantizeQ8_0Activations(src []float32, dst []byte) {
	nb := len(src) / QK
	quantizeQ8_0Act(src[:nb*QK], dst[:nb*q8_0Bytes])
}

// quantizeQ8_0Act is QuantizeQ8_0Activations for whole blocks: the AVX2
// assembly where the CPU has it (q8act_amd64.go), else the plain Go below.
var quantizeQ8_0Act = quantizeQ8_0ActGeneric

func quantizeQ8_0ActGeneric(src []float32, dst []byte) {
	nb := len(src) / QK
	for i := 0; i < nb; i++ {
		x := (*[QK]float32)(src[i*QK : i*QK+QK])
		b := dst[i*q8_0Bytes : i*q8_0Bytes+q8_0Bytes]
		d, id := q8ScaleAVX2(x)
		binary.LittleEndian.PutUint16(b, FP32ToFP16(d))
		qs := (*[QK]byte)(b[q8_0QS : q8_0QS+QK])
		for j, v := range x {
			qs[j] = byte(roundEvenSat8(v * id))
		}
	}
}

// maxps is the SIMD max: a if a > b, else b (so a NaN in a yields b).
func maxps(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

// q8ScaleAVX2 returns d = amax/127 and id = 127/amax (0 for amax 0) with
// amax reduced in the AVX2 code's order: lane l (0..7) takes the max of
// |x[l]|, |x[l+8]|, |x[l+16]|, |x[l+24]|, then the upper four lanes fold onto
// the lower, then lanes 2,3 onto 0,1, then lane 1 onto 0.
func q8ScaleAVX2(x *[QK]float32) (d, id float32) {
	var m [8]float32
	for l := range m {
		a := absf(x[l])
		a = maxps(a, absf(x[l+8]))
		a = maxps(a, absf(x[l+16]))
		m[l] = maxps(a, absf(x[l+24]))
	}
	m0, m1 := maxps(m[4], m[0]), maxps(m[5], m[1])
	m2, m3 := maxps(m[6], m[2]), maxps(m[7], m[3])
	amax := maxps(maxps(m0, m2), maxps(m1, m3))
	d = amax / 127
	if amax != 0 {
		id = 127 / amax
	}
	return d, id
}

// absf clears the sign bit, as VANDNPS with −0 does.
func absf(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundEvenSat8 rounds v half to even and converts it to int8 as
// VROUNDPS, VCVTPS2DQ and the two saturating packs do.
func roundEvenSat8(v float32) int8 {
	r := math.RoundToEven(float64(v))
	switch {
	case !(r > -0x1p31 && r < 0x1p31): // NaN or out of int32 range: 0x80000000
		return -128
	case r > 127:
		return 127
	case r < -128:
		return -128
	}
	return int8(r)
}

// Q8_0Scales4 writes the block scales of four Q8_0 rows (nb blocks each,
// xStride bytes apart) to xd as float32, interleaved for TileQ8_0 and
// TileQ4_0: xd[4i+j] = FP16ToFP32(d of block i of row j). Every half
// converts exactly, so the tiles' products are unchanged.
func Q8_0Scales4(nb int, x []byte, xStride int, xd []float32) {
	xd = xd[:4*nb]
	for j := 0; j < 4; j++ {
		row := x[j*xStride : j*xStride+nb*q8_0Bytes]
		for i := 0; i < nb; i++ {
			xd[4*i+j] = FP16ToFP32(uint16(row[i*q8_0Bytes]) | uint16(row[i*q8_0Bytes+1])<<8)
		}
	}
}
