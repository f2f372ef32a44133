// Reference: ggml/src/ggml-common.h (block_q4_0 … block_q8_1) and ggml/src/ggml-quants.c
// (quantize_row_q4_0_ref … quantize_row_q8_1_ref, dequantize_row_q4_0 … dequantize_row_q8_0).

package tensor

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
)

// The legacy formats cut a row into blocks of QK = 32 values that share an
// fp16 scale d (and, for the _1 types, an fp16 offset m). The quants of a
// block are split in halves: element j (j < 16) sits in the low nibble of
// qs[j], element j+16 in its high nibble; the 5-bit types keep the fifth bit
// of element k in bit k of the little-endian uint32 qh. The structs below are
// the on-disk layouts; the code reads the bytes at these fields' offsets,
// which works at any alignment (Go would pad nothing here: all fields are
// 2-byte aligned, so unsafe.Sizeof equals the GGML block size).

// blockQ4_0 (18 bytes): value[k] = d·(q[k] - 8), q in 0…15.
type blockQ4_0 struct {
	d  uint16        // fp16 scale
	qs [QK / 2]uint8 // nibbles
}

// blockQ4_1 (20 bytes): value[k] = d·q[k] + m, q in 0…15.
type blockQ4_1 struct {
	d, m uint16        // fp16 scale and minimum
	qs   [QK / 2]uint8 // nibbles
}

// blockQ5_0 (22 bytes): value[k] = d·(q[k] - 16), q in 0…31.
type blockQ5_0 struct {
	d  uint16        // fp16 scale
	qh [4]uint8      // fifth bits, little-endian uint32
	qs [QK / 2]uint8 // low four bits
}

// blockQ5_1 (24 bytes): value[k] = d·q[k] + m, q in 0…31.
type blockQ5_1 struct {
	d, m uint16        // fp16 scale and minimum
	qh   [4]uint8      // fifth bits, little-endian uint32
	qs   [QK / 2]uint8 // low four bits
}

// blockQ8_0 (34 bytes): value[k] = d·q[k].
type blockQ8_0 struct {
	d  uint16   // fp16 scale
	qs [QK]int8 // quants
}

// blockQ8_1 (36 bytes): value[k] = d·q[k]; s = d·Σq, kept for the offset term
// of the Q4_1/Q5_1 dots.
type blockQ8_1 struct {
	d, s uint16   // fp16 scale and fp16 d·Σq
	qs   [QK]int8 // quants
}

func init() {
	register(Q4_0, Format{Dequantize: dequantizeQ4_0, Quantize: quantizeQ4_0, VecDotType: Q8_0, VecDot: kernel.DotQ4_0})
	register(Q4_1, Format{Dequantize: dequantizeQ4_1, Quantize: quantizeQ4_1, VecDotType: Q8_1, VecDot: kernel.DotQ4_1})
	register(Q5_0, Format{Dequantize: dequantizeQ5_0, Quantize: quantizeQ5_0, VecDotType: Q8_0, VecDot: kernel.DotQ5_0})
	register(Q5_1, Format{Dequantize: dequantizeQ5_1, Quantize: quantizeQ5_1, VecDotType: Q8_1, VecDot: kernel.DotQ5_1})
	// Q8_0 and Q8_1 quantize through the kernel: the same code makes Q8_0
	// weight files and the 8-bit activations of every matmul, and it is
	// llama.cpp's reference quantizer byte for byte.
	register(Q8_0, Format{Dequantize: dequantizeQ8_0, Quantize: kernel.QuantizeQ8_0, VecDotType: Q8_0, VecDot: kernel.DotQ8_0})
	// Q8_1 exists only as the activation type of Q4_1 and Q5_1: no dot of its own.
	register(Q8_1, Format{Dequantize: dequantizeQ8_1, Quantize: kernel.QuantizeQ8_1, VecDotType: Q8_1})
}

// Block sizes in bytes, taken from the structs so that layout and code
// cannot drift apart; TestLegacyBlockSizes ties them to the DType table.
const (
	sizeQ4_0 = int(unsafe.Sizeof(blockQ4_0{}))
	sizeQ4_1 = int(unsafe.Sizeof(blockQ4_1{}))
	sizeQ5_0 = int(unsafe.Sizeof(blockQ5_0{}))
	sizeQ5_1 = int(unsafe.Sizeof(blockQ5_1{}))
	sizeQ8_0 = int(unsafe.Sizeof(blockQ8_0{}))
	sizeQ8_1 = int(unsafe.Sizeof(blockQ8_1{}))
)

func halfLE(b []byte) float32 { return kernel.FP16ToFP32(binary.LittleEndian.Uint16(b)) }

func putHalfLE(b []byte, f float32) { binary.LittleEndian.PutUint16(b, kernel.FP32ToFP16(f)) }

// legacyAbsMax returns the largest |v| of x and the v that has it (the first
// one on a tie), as the reference's strict `amax < fabsf(v)` scan does.
func legacyAbsMax(x []float32) (amax, signed float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); amax < a {
			amax, signed = a, v
		}
	}
	return amax, signed
}

// legacyMinMax returns the smallest and largest value of x, starting from ±FLT_MAX
// as the reference does.
func legacyMinMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// legacyInverse is the reference's `d ? 1.0f/d : 0.0f`.
func legacyInverse(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// Bit-exactness notes for the quantizers. Each product x·id is wrapped in
// float32() so that Go cannot fuse it with the following addition into an FMA
// (the spec allows that on arm64, ppc64, s390x), and the C casts (int8_t)(v)
// truncate toward zero exactly like Go's int8(v) for the in-range values that
// occur. The divisions by -8, 15, -16 and 31 are float32 divisions, as in C.

func quantizeQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*sizeQ4_0 : i*sizeQ4_0+sizeQ4_0]
		// The value of largest magnitude maps to -8 exactly, using the one
		// extra negative level of a 4-bit two's-complement range.
		_, vmax := legacyAbsMax(x)
		d := vmax / -8
		id := legacyInverse(d)
		putHalfLE(b, d)
		qs := b[2 : 2+QK/2]
		for j := range qs {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+QK/2] * id)
			q0 := min(15, int8(x0+8.5))
			q1 := min(15, int8(x1+8.5))
			qs[j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*sizeQ4_1 : i*sizeQ4_1+sizeQ4_1]
		lo, hi := legacyMinMax(x)
		d := (hi - lo) / 15
		id := legacyInverse(d)
		putHalfLE(b, d)
		putHalfLE(b[2:], lo)
		qs := b[4 : 4+QK/2]
		for j := range qs {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+QK/2] - lo) * id)
			q0 := min(15, int8(x0+0.5))
			q1 := min(15, int8(x1+0.5))
			qs[j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*sizeQ5_0 : i*sizeQ5_0+sizeQ5_0]
		_, vmax := legacyAbsMax(x)
		d := vmax / -16
		id := legacyInverse(d)
		putHalfLE(b, d)
		var qh uint32
		qs := b[6 : 6+QK/2]
		for j := range qs {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+QK/2] * id)
			q0 := uint8(min(31, int8(x0+16.5)))
			q1 := uint8(min(31, int8(x1+16.5)))
			qs[j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+QK/2)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

func quantizeQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*sizeQ5_1 : i*sizeQ5_1+sizeQ5_1]
		lo, hi := legacyMinMax(x)
		d := (hi - lo) / 31
		id := legacyInverse(d)
		putHalfLE(b, d)
		putHalfLE(b[2:], lo)
		var qh uint32
		qs := b[8 : 8+QK/2]
		for j := range qs {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+QK/2] - lo) * id)
			// No clamp here in the reference: x0+0.5 < 32 always holds.
			q0 := uint8(x0 + 0.5)
			q1 := uint8(x1 + 0.5)
			qs[j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+QK/2)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

func dequantizeQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ4_0 : i*sizeQ4_0+sizeQ4_0]
		y := dst[i*QK : i*QK+QK]
		d := halfLE(b)
		for j, q := range b[2 : 2+QK/2] {
			y[j] = float32(int(q&15)-8) * d
			y[j+QK/2] = float32(int(q>>4)-8) * d
		}
	}
}

func dequantizeQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ4_1 : i*sizeQ4_1+sizeQ4_1]
		y := dst[i*QK : i*QK+QK]
		d, m := halfLE(b), halfLE(b[2:])
		for j, q := range b[4 : 4+QK/2] {
			y[j] = float32(float32(q&15)*d) + m
			y[j+QK/2] = float32(float32(q>>4)*d) + m
		}
	}
}

func dequantizeQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ5_0 : i*sizeQ5_0+sizeQ5_0]
		y := dst[i*QK : i*QK+QK]
		d := halfLE(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j, q := range b[6 : 6+QK/2] {
			q0 := int(q&15) | int(qh>>j&1)<<4
			q1 := int(q>>4) | int(qh>>(j+QK/2)&1)<<4
			y[j] = float32(q0-16) * d
			y[j+QK/2] = float32(q1-16) * d
		}
	}
}

func dequantizeQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ5_1 : i*sizeQ5_1+sizeQ5_1]
		y := dst[i*QK : i*QK+QK]
		d, m := halfLE(b), halfLE(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j, q := range b[8 : 8+QK/2] {
			q0 := int(q&15) | int(qh>>j&1)<<4
			q1 := int(q>>4) | int(qh>>(j+QK/2)&1)<<4
			y[j] = float32(float32(q0)*d) + m
			y[j+QK/2] = float32(float32(q1)*d) + m
		}
	}
}

func dequantizeQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ8_0 : i*sizeQ8_0+sizeQ8_0]
		y := dst[i*QK : i*QK+QK]
		d := halfLE(b)
		for j, q := range b[2 : 2+QK] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// dequantizeQ8_1 ignores s: it is derived from d and the quants.
func dequantizeQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeQ8_1 : i*sizeQ8_1+sizeQ8_1]
		y := dst[i*QK : i*QK+QK]
		d := halfLE(b)
		for j, q := range b[4 : 4+QK] {
			y[j] = float32(int8(q)) * d
		}
	}
}
