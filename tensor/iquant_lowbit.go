// Reference: ggml/src/ggml-common.h (block_iq2_xxs … block_iq1_m) and ggml/src/ggml-quants.c
// (dequantize_row_iq2_xxs, _iq2_xs, _iq2_s, _iq3_xxs, _iq3_s, _iq1_s, _iq1_m).

package tensor

import (
	"encoding/binary"
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
)

// The low-bit i-quants (1.56 to 3.44 bits per value) are read-only here:
// gptgo dequantizes them and takes their dots against Q8_K activations
// (kernel/dot_kiq.go), so models stored in them run, but cannot write them
// (their quantizers need an importance matrix and large search tables). Every block covers 256 values in eight groups of 32,
// each group with its own small scale and four 8-value codebook lookups.
// Products are written in ggml's order so the results are bit-identical.

type blockIQ2XXS struct {
	d  uint16          // fp16 scale
	qs [QKK / 8]uint16 // per group: 4 grid indices (bytes 0-3), then 4×7 sign bits and a 4-bit scale (bytes 4-7)
}

type blockIQ2XS struct {
	d      uint16          // fp16 scale
	qs     [QKK / 8]uint16 // 9-bit grid index | 7-bit sign index << 9
	scales [QKK / 32]uint8 // two 4-bit scales per group (first and second 16 values)
}

type blockIQ2S struct {
	d      uint16
	qs     [QKK / 4]uint8  // 32 low bytes of the 10-bit grid indices, then 32 bytes of explicit signs
	qh     [QKK / 32]uint8 // top 2 bits of the four indices of each group
	scales [QKK / 32]uint8 // two 4-bit scales per group
}

type blockIQ3XXS struct {
	d  uint16
	qs [3 * QKK / 8]uint8 // 64 grid indices (4 values each), then per group 4×7 sign bits and a 4-bit scale
}

type blockIQ3S struct {
	d      uint16
	qs     [QKK / 4]uint8  // low bytes of the 9-bit grid indices (4 values each)
	qh     [QKK / 32]uint8 // ninth bits, one byte per group
	signs  [QKK / 8]uint8  // one sign bit per value
	scales [QKK / 64]uint8 // 4-bit scales, two groups per byte
}

type blockIQ1S struct {
	d  uint16
	qs [QKK / 8]uint8   // low bytes of the 11-bit grid indices
	qh [QKK / 32]uint16 // per group: 4×3 index bits, a 3-bit scale, the sign of the shift
}

type blockIQ1M struct {
	qs     [QKK / 8]uint8  // low bytes of the 11-bit grid indices
	qh     [QKK / 16]uint8 // per 16 values: 2×(3 index bits and the shift's sign bit)
	scales [QKK / 32]uint8 // four uint16: 3-bit scales, and the fp16 block scale in their top nibbles
}

const (
	sizeIQ2XXS  = int(unsafe.Sizeof(blockIQ2XXS{}))
	sizeIQ2XS   = int(unsafe.Sizeof(blockIQ2XS{}))
	sizeIQ2S    = int(unsafe.Sizeof(blockIQ2S{}))
	sizeIQ3XXS  = int(unsafe.Sizeof(blockIQ3XXS{}))
	sizeIQ3S    = int(unsafe.Sizeof(blockIQ3S{}))
	sizeIQ1S    = int(unsafe.Sizeof(blockIQ1S{}))
	sizeIQ1M    = int(unsafe.Sizeof(blockIQ1M{}))
	iq2xsOffSc  = int(unsafe.Offsetof(blockIQ2XS{}.scales))
	iq2sOffQh   = int(unsafe.Offsetof(blockIQ2S{}.qh))
	iq2sOffSc   = int(unsafe.Offsetof(blockIQ2S{}.scales))
	iq3sOffQh   = int(unsafe.Offsetof(blockIQ3S{}.qh))
	iq3sOffSg   = int(unsafe.Offsetof(blockIQ3S{}.signs))
	iq3sOffSc   = int(unsafe.Offsetof(blockIQ3S{}.scales))
	iq1sOffQh   = int(unsafe.Offsetof(blockIQ1S{}.qh))
	iq1mOffQh   = int(unsafe.Offsetof(blockIQ1M{}.qh))
	iq1mOffSc   = int(unsafe.Offsetof(blockIQ1M{}.scales))
	iq1Delta    = float32(0.125) // IQ1S_DELTA: the grid is shifted by ±1/8 per group
	iqGroupSize = 32
)

func init() {
	register(IQ2_XXS, Format{Dequantize: dequantizeIQ2_XXS, VecDotType: Q8_K, VecDot: kernel.DotIQ2_XXS})
	register(IQ2_XS, Format{Dequantize: dequantizeIQ2_XS, VecDotType: Q8_K, VecDot: kernel.DotIQ2_XS})
	register(IQ2_S, Format{Dequantize: dequantizeIQ2_S, VecDotType: Q8_K, VecDot: kernel.DotIQ2_S})
	register(IQ3_XXS, Format{Dequantize: dequantizeIQ3_XXS, VecDotType: Q8_K, VecDot: kernel.DotIQ3_XXS})
	register(IQ3_S, Format{Dequantize: dequantizeIQ3_S, VecDotType: Q8_K, VecDot: kernel.DotIQ3_S})
	register(IQ1_S, Format{Dequantize: dequantizeIQ1_S, VecDotType: Q8_K, VecDot: kernel.DotIQ1_S})
	register(IQ1_M, Format{Dequantize: dequantizeIQ1_M, VecDotType: Q8_K, VecDot: kernel.DotIQ1_M})
}

// signed returns v, negated when bit j of signs is set.
func signed(v float32, signs uint8, j int) float32 {
	if signs>>uint(j)&1 != 0 {
		return -v
	}
	return v
}

func dequantizeIQ2_XXS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ2XXS : (i+1)*sizeIQ2XXS]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			g := b[2+8*ib : 2+8*ib+8]
			aux := binary.LittleEndian.Uint32(g[4:])
			db := d * (0.5 + float32(aux>>28)) * 0.25
			for l := 0; l < 4; l++ {
				grid := &kernel.IQ2XXSGrid[g[l]]
				signs := kernel.IQSigns(aux >> (7 * uint(l)))
				for j := 0; j < 8; j++ {
					y[32*ib+8*l+j] = signed(db*float32(grid[j]), signs, j)
				}
			}
		}
	}
}

func dequantizeIQ2_XS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ2XS : (i+1)*sizeIQ2XS]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			sc := b[iq2xsOffSc+ib]
			db := [2]float32{d * (0.5 + float32(sc&0xF)) * 0.25, d * (0.5 + float32(sc>>4)) * 0.25}
			for l := 0; l < 4; l++ {
				q := uint32(binary.LittleEndian.Uint16(b[2+2*(4*ib+l):]))
				grid := &kernel.IQ2XSGrid[q&511]
				signs := kernel.IQSigns(q >> 9)
				for j := 0; j < 8; j++ {
					y[32*ib+8*l+j] = signed(db[l/2]*float32(grid[j]), signs, j)
				}
			}
		}
	}
}

func dequantizeIQ2_S(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ2S : (i+1)*sizeIQ2S]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		qs := b[2 : 2+QKK/8]
		sg := b[2+QKK/8 : 2+QKK/4]
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			sc := b[iq2sOffSc+ib]
			qh := uint32(b[iq2sOffQh+ib])
			db := [2]float32{d * (0.5 + float32(sc&0xF)) * 0.25, d * (0.5 + float32(sc>>4)) * 0.25}
			for l := 0; l < 4; l++ {
				grid := &kernel.IQ2SGrid[uint32(qs[4*ib+l])|(qh<<(8-2*uint(l)))&0x300]
				signs := sg[4*ib+l]
				for j := 0; j < 8; j++ {
					y[32*ib+8*l+j] = signed(db[l/2]*float32(grid[j]), signs, j)
				}
			}
		}
	}
}

func dequantizeIQ3_XXS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ3XXS : (i+1)*sizeIQ3XXS]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		qs := b[2 : 2+QKK/4]
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			aux := binary.LittleEndian.Uint32(b[2+QKK/4+4*ib:])
			db := d * (0.5 + float32(aux>>28)) * 0.5
			for l := 0; l < 4; l++ {
				signs := kernel.IQSigns(aux >> (7 * uint(l)))
				g1, g2 := &kernel.IQ3XXSGrid[qs[8*ib+2*l]], &kernel.IQ3XXSGrid[qs[8*ib+2*l+1]]
				for j := 0; j < 4; j++ {
					y[32*ib+8*l+j] = signed(db*float32(g1[j]), signs, j)
					y[32*ib+8*l+j+4] = signed(db*float32(g2[j]), signs, j+4)
				}
			}
		}
	}
}

func dequantizeIQ3_S(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ3S : (i+1)*sizeIQ3S]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			sc := b[iq3sOffSc+ib/2] >> (4 * uint(ib%2)) & 0xF
			db := d * float32(1+2*int32(sc))
			qs := b[2+8*ib : 2+8*ib+8]
			qh := uint32(b[iq3sOffQh+ib])
			for l := 0; l < 4; l++ {
				g1 := &kernel.IQ3SGrid[uint32(qs[2*l])|(qh<<(8-2*uint(l)))&256]
				g2 := &kernel.IQ3SGrid[uint32(qs[2*l+1])|(qh<<(7-2*uint(l)))&256]
				signs := b[iq3sOffSg+4*ib+l]
				for j := 0; j < 4; j++ {
					y[32*ib+8*l+j] = signed(db*float32(g1[j]), signs, j)
					y[32*ib+8*l+j+4] = signed(db*float32(g2[j]), signs, j+4)
				}
			}
		}
	}
}

func dequantizeIQ1_S(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ1S : (i+1)*sizeIQ1S]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b)
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			qh := uint32(binary.LittleEndian.Uint16(b[iq1sOffQh+2*ib:]))
			dl := d * float32(2*(qh>>12&7)+1)
			delta := iq1Delta
			if qh&0x8000 != 0 {
				delta = -iq1Delta
			}
			for l := 0; l < 4; l++ {
				grid := &kernel.IQ1SGrid[uint32(b[2+4*ib+l])|(qh>>(3*uint(l))&7)<<8]
				for j := 0; j < 8; j++ {
					y[32*ib+8*l+j] = dl * (float32(grid[j]) + delta)
				}
			}
		}
	}
}

func dequantizeIQ1_M(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QKK; i++ {
		b := src[i*sizeIQ1M : (i+1)*sizeIQ1M]
		y := dst[i*QKK : (i+1)*QKK]
		var sc [4]uint32
		for k := range sc {
			sc[k] = uint32(binary.LittleEndian.Uint16(b[iq1mOffSc+2*k:]))
		}
		// The block's fp16 scale is spread over the top nibbles of the four
		// scale words, low nibble first.
		d := kernel.FP16ToFP32(uint16(sc[0]>>12 | sc[1]>>8&0x00F0 | sc[2]>>4&0x0F00 | sc[3]&0xF000))
		for ib := 0; ib < QKK/iqGroupSize; ib++ {
			s := sc[ib/2] >> (6 * uint(ib%2))
			dl := [2]float32{d * float32(2*(s&7)+1), d * float32(2*(s>>3&7)+1)}
			qs := b[4*ib : 4*ib+4]
			qh := b[iq1mOffQh+2*ib : iq1mOffQh+2*ib+2]
			for l := 0; l < 4; l++ {
				h := uint32(qh[l/2]) >> (4 * uint(l%2)) // index bits 0-2, shift sign bit 3
				grid := &kernel.IQ1SGrid[uint32(qs[l])|(h&7)<<8]
				delta := iq1Delta
				if h&8 != 0 {
					delta = -iq1Delta
				}
				for j := 0; j < 8; j++ {
					y[32*ib+8*l+j] = dl[l/2] * (float32(grid[j]) + delta)
				}
			}
		}
	}
}
