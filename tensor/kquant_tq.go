// Reference: ggml/src/ggml-common.h (block_tq1_0, block_tq2_0) and ggml/src/ggml-quants.c
// (quantize_row_tq1_0_ref, quantize_row_tq2_0_ref, dequantize_row_tq1_0, dequantize_row_tq2_0).

package tensor

import (
	"math"
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
)

// The ternary types store each value as −1, 0 or +1 times one fp16 scale
// per 256 values (the absolute maximum), for BitNet-style models.

// blockTQ1_0 (54 bytes, 1.69 bits per value) packs five trits per byte as a
// base-3 number scaled to a fraction of 256, so that trit n is recovered as
// the top bits of (byte·3^n mod 256)·3.
type blockTQ1_0 struct {
	qs [(QKK - 4*QKK/64) / 5]byte // 240 values: bytes 0-31 hold values 32n+m (n = 0…4), bytes 32-47 values 160+16n+m
	qh [QKK / 64]byte             // last 16 values, four trits per byte: value 240+4n+j in byte j
	d  uint16                     // fp16 scale
}

// blockTQ2_0 (66 bytes): 2 bits per value, code 0…2 for −1…+1.
type blockTQ2_0 struct {
	qs [QKK / 4]byte // in each 32-byte group, byte m holds values m, m+32, m+64, m+96 from the low bits up
	d  uint16        // fp16 scale
}

const (
	sizeTQ1_0  = int(unsafe.Sizeof(blockTQ1_0{}))
	tq1OffQs   = int(unsafe.Offsetof(blockTQ1_0{}.qs))
	tq1OffQh   = int(unsafe.Offsetof(blockTQ1_0{}.qh))
	tq1OffD    = int(unsafe.Offsetof(blockTQ1_0{}.d))
	sizeTQ2_0  = int(unsafe.Sizeof(blockTQ2_0{}))
	tq2OffQs   = int(unsafe.Offsetof(blockTQ2_0{}.qs))
	tq2OffD    = int(unsafe.Offsetof(blockTQ2_0{}.d))
	tq1QsWhole = 32 // qs bytes that hold values in runs of 32 (the rest in runs of 16)
)

func init() {
	register(TQ1_0, Format{
		Dequantize: dequantizeTQ1_0,
		Quantize:   quantizeTQ1_0,
		VecDotType: Q8_K,
		VecDot:     kernel.DotTQ1_0,
	})
	register(TQ2_0, Format{
		Dequantize: dequantizeTQ2_0,
		Quantize:   quantizeTQ2_0,
		VecDotType: Q8_K,
		VecDot:     kernel.DotTQ2_0,
	})
}

// ternaryScale returns the block scale (its absolute maximum) and its
// inverse, 0 for an all-zero block.
func ternaryScale(x []float32) (d, id float32) {
	for _, v := range x {
		if a := absf(v); a > d {
			d = a
		}
	}
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// trit rounds v·id half away from zero (lroundf) and maps −1, 0, 1 to 0, 1, 2.
func trit(v, id float32) uint8 { return uint8(int32(math.Round(float64(float32(v*id)))) + 1) }

// packTrits turns a base-3 number of five trits (first trit most
// significant) into the byte whose multiples by 3^n expose each trit:
// ceil(q·256/243).
func packTrits(q uint8) byte { return byte((uint16(q)*256 + 242) / 243) }

// unpackTrit returns trit n (0 = most significant) of a packed byte, as −1…1.
func unpackTrit(b byte, pow3 uint8) int32 { return int32((uint16(b*pow3)*3)>>8) - 1 }

var tqPow3 = [5]uint8{1, 3, 9, 27, 81}

func quantizeTQ1_0(src []float32, dst []byte) {
	nb := len(src) / QKK
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*sizeTQ1_0 : (i+1)*sizeTQ1_0]
		d, id := ternaryScale(x)
		kPutF16(b[tq1OffD:], d)
		qs := b[tq1OffQs : tq1OffQs+48]
		for m := 0; m < 32; m++ {
			var q uint8
			for n := 0; n < 5; n++ {
				q = q*3 + trit(x[m+32*n], id)
			}
			qs[m] = packTrits(q)
		}
		for m := 0; m < 16; m++ {
			var q uint8
			for n := 0; n < 5; n++ {
				q = q*3 + trit(x[160+m+16*n], id)
			}
			qs[32+m] = packTrits(q)
		}
		qh := b[tq1OffQh : tq1OffQh+4]
		for j := 0; j < 4; j++ {
			var q uint8
			for n := 0; n < 4; n++ {
				q = q*3 + trit(x[240+j+4*n], id)
			}
			qh[j] = packTrits(q * 3) // four trits, moved up to the top positions
		}
	}
}

func dequantizeTQ1_0(src []byte, dst []float32) {
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*sizeTQ1_0 : (i+1)*sizeTQ1_0]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b[tq1OffD:])
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				y[32*n+m] = float32(unpackTrit(b[tq1OffQs+m], tqPow3[n])) * d
			}
			for m := 0; m < 16; m++ {
				y[160+16*n+m] = float32(unpackTrit(b[tq1OffQs+tq1QsWhole+m], tqPow3[n])) * d
			}
		}
		for n := 0; n < 4; n++ {
			for j := 0; j < 4; j++ {
				y[240+4*n+j] = float32(unpackTrit(b[tq1OffQh+j], tqPow3[n])) * d
			}
		}
	}
}

func quantizeTQ2_0(src []float32, dst []byte) {
	nb := len(src) / QKK
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*sizeTQ2_0 : (i+1)*sizeTQ2_0]
		d, id := ternaryScale(x)
		kPutF16(b[tq2OffD:], d)
		for j := 0; j < 2; j++ {
			for m := 0; m < 32; m++ {
				var q uint8
				for n := 0; n < 4; n++ {
					q |= (trit(x[128*j+32*n+m], id) & 3) << (2 * uint(n))
				}
				b[tq2OffQs+32*j+m] = q
			}
		}
	}
}

func dequantizeTQ2_0(src []byte, dst []float32) {
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*sizeTQ2_0 : (i+1)*sizeTQ2_0]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b[tq2OffD:])
		for j := 0; j < 2; j++ {
			for n := 0; n < 4; n++ {
				for m := 0; m < 32; m++ {
					q := int32(b[tq2OffQs+32*j+m]>>(2*uint(n))) & 3
					y[128*j+32*n+m] = float32(q-1) * d
				}
			}
		}
	}
}
