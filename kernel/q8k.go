// Reference: ggml/src/ggml-common.h (block_q8_K) and ggml/src/ggml-quants.c (quantize_row_q8_K_ref).

package kernel

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// QKK is the number of elements in one K-quant super-block.
const QKK = 256

// blockQ8K is the layout of one Q8_K super-block, the activation format the
// K-quant dot products read. It never appears in files; it exists so that a
// whole row of activations is quantized once and reused for every weight row.
type blockQ8K struct {
	d     float32         // scale: value = d × qs
	qs    [QKK]int8       // quants in [-127, 127]
	bsums [QKK / 16]int16 // sum of each run of 16 quants, for the min/offset terms
}

// Byte offsets of the Q8_K fields (little-endian on disk and in memory).
const (
	BlockQ8KBytes = int(unsafe.Sizeof(blockQ8K{}))
	q8KOffD       = int(unsafe.Offsetof(blockQ8K{}.d))
	q8KOffQs      = int(unsafe.Offsetof(blockQ8K{}.qs))
	q8KOffBsums   = int(unsafe.Offsetof(blockQ8K{}.bsums))
)

// QuantizeQ8_K quantizes src (a multiple of 256 values) into Q8_K blocks in
// dst (len(src)/256 × 292 bytes), exactly as quantize_row_q8_K_ref does.
func QuantizeQ8_K(src []float32, dst []byte) { quantizeQ8_K(src, dst) }

var quantizeQ8_K = quantizeQ8_KGeneric

// kNearestInt rounds to the nearest integer, ties to even, the way ggml's
// nearest_int does: adding 1.5×2^23 leaves the rounded integer in the low
// mantissa bits. Callers pass a product already rounded to float32
// (float32(a*b)) so that no fused multiply-add changes the result.
func kNearestInt(f float32) int32 {
	v := f + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func quantizeQ8_KGeneric(src []float32, dst []byte) {
	nb := len(src) / QKK
	dst = dst[:nb*BlockQ8KBytes]
	for i := 0; i < nb; i++ {
		x := src[i*QKK : i*QKK+QKK]
		b := dst[i*BlockQ8KBytes : i*BlockQ8KBytes+BlockQ8KBytes]
		amax, max := q8KMax(x)
		if amax == 0 {
			// d = 0 and all quants 0; ggml leaves bsums as they were, we
			// clear them so the block is fully defined.
			clear(b)
			continue
		}
		iscale := -127 / max
		qs := b[q8KOffQs : q8KOffQs+QKK]
		for j, v := range x {
			q := kNearestInt(float32(iscale * v))
			if q > 127 {
				q = 127
			}
			qs[j] = byte(int8(q))
		}
		for j := 0; j < QKK/16; j++ {
			var s int32
			for _, q := range qs[j*16 : j*16+16] {
				s += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[q8KOffBsums+2*j:], uint16(int16(s)))
		}
		binary.LittleEndian.PutUint32(b[q8KOffD:], math.Float32bits(1/iscale))
	}
}

// q8KMax returns the largest magnitude in x and the signed value that has
// it: that value maps to -127, so that the scale carries its sign; ties
// keep the first one, as in ggml, and NaNs are passed over.
func q8KMax(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, max = a, v
		}
	}
	return amax, max
}

// kHalf reads a little-endian half-precision value as float32.
func kHalf(b []byte) float32 { return FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// kF32 reads a little-endian float32.
func kF32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
