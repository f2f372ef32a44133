// Reference: ggml/src/ggml-common.h (block_iq4_xs) and ggml/src/ggml-quants.c
// (quantize_iq4_xs, quantize_row_iq4_nl_impl, best_index_int8, dequantize_row_iq4_xs).

package tensor

import (
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
)

// blockIQ4XS (136 bytes): IQ4_NL's non-linear 16-level codebook in 256-value
// super-blocks, with a 6-bit scale per 32 values under one fp16 scale:
// value = d·(ls−32)·IQ4NLValues[q].
type blockIQ4XS struct {
	d       uint16         // fp16 super-block scale
	scalesH uint16         // top 2 bits of sub-block scale ib at bits 2ib, 2ib+1
	scalesL [QKK / 64]byte // low 4 bits of scale ib in nibble ib%2 of byte ib/2
	qs      [QKK / 2]byte  // indices; 16-byte group ib: low nibbles values 32ib…+15, high nibbles +16…+31
}

const (
	sizeIQ4XS       = int(unsafe.Sizeof(blockIQ4XS{}))
	iq4XSOffD       = int(unsafe.Offsetof(blockIQ4XS{}.d))
	iq4XSOffScalesH = int(unsafe.Offsetof(blockIQ4XS{}.scalesH))
	iq4XSOffScalesL = int(unsafe.Offsetof(blockIQ4XS{}.scalesL))
	iq4XSOffQs      = int(unsafe.Offsetof(blockIQ4XS{}.qs))
)

func init() {
	register(IQ4_XS, Format{
		Dequantize: dequantizeIQ4_XS,
		Quantize:   quantizeIQ4_XS,
		VecDotType: Q8_K,
		VecDot:     kernel.DotIQ4_XS,
	})
}

func dequantizeIQ4_XS(src []byte, dst []float32) {
	kv := &kernel.IQ4NLValues
	nb := len(dst) / QKK
	for i := 0; i < nb; i++ {
		b := src[i*sizeIQ4XS : (i+1)*sizeIQ4XS]
		y := dst[i*QKK : (i+1)*QKK]
		d := kF16At(b[iq4XSOffD:])
		h := uint32(b[iq4XSOffScalesH]) | uint32(b[iq4XSOffScalesH+1])<<8
		for ib := 0; ib < QKK/32; ib++ {
			ls := int32((b[iq4XSOffScalesL+ib/2]>>(4*uint(ib%2)))&0xF) | int32((h>>(2*uint(ib)))&3)<<4
			dl := d * float32(ls-32)
			q := b[iq4XSOffQs+16*ib : iq4XSOffQs+16*ib+16]
			for j, v := range q {
				y[32*ib+j] = dl * float32(kv[v&0xF])
				y[32*ib+16+j] = dl * float32(kv[v>>4])
			}
		}
	}
}

// iq4BestIndex is best_index_int8 over the IQ4_NL codebook: the nearest
// level by bisection, the upper one on a tie.
func iq4BestIndex(x float32) uint8 {
	kv := &kernel.IQ4NLValues
	if x <= float32(kv[0]) {
		return 0
	}
	if x >= float32(kv[15]) {
		return 15
	}
	lo, hi := 0, 15
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if x < float32(kv[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if x-float32(kv[hi-1]) < float32(kv[hi])-x {
		return uint8(hi - 1)
	}
	return uint8(hi)
}

// quantizeIQ4_XS is quantize_iq4_xs without an importance matrix (weights
// x²), what llama-quantize writes. Each 32-value sub-block gets a
// least-squares scale for the codebook, searched over 15 starting scales;
// the sub-block scales are then quantized to 6 bits against the largest
// (d = −max/32) and every value re-assigned its level under the stored
// sub-block scale (from the float32 d, not its fp16 rounding, as ggml does).
func quantizeIQ4_XS(src []float32, dst []byte) {
	const ntry = 7
	kv := &kernel.IQ4NLValues
	v0 := float32(kv[0])
	var (
		weight [32]float32
		scales [QKK / 32]float32
	)
	nb := len(src) / QKK
	for i := 0; i < nb; i++ {
		x := src[i*QKK : (i+1)*QKK]
		b := dst[i*sizeIQ4XS : (i+1)*sizeIQ4XS]
		var maxScale, amaxScale float32
		for ib := 0; ib < QKK/32; ib++ {
			xb := x[32*ib : 32*ib+32]
			var amax, max float32
			for j, v := range xb {
				weight[j] = float32(v * v)
				if a := absf(v); a > amax {
					amax, max = a, v
				}
			}
			if amax < groupMaxEps {
				scales[ib] = 0
				continue
			}
			d := -max / v0
			id := 1 / d
			var sumqx, sumq2 float32
			for j, v := range xb {
				q := float32(kv[iq4BestIndex(float32(id*v))])
				w := weight[j]
				sumqx += float32(w * q * v)
				sumq2 += float32(w * q * q)
			}
			d = sumqx / sumq2
			best := float32(d * sumqx)
			for itry := -ntry; itry <= ntry; itry++ {
				id = float32(itry+int(kv[0])) / max
				sumqx, sumq2 = 0, 0
				for j, v := range xb {
					q := float32(kv[iq4BestIndex(float32(id*v))])
					w := weight[j]
					sumqx += float32(w * q * v)
					sumq2 += float32(w * q * q)
				}
				if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
					d = sumqx / sumq2
					best = float32(d * sumqx)
				}
			}
			scales[ib] = d
			if a := absf(d); a > amaxScale {
				amaxScale, maxScale = a, d
			}
		}
		d := -maxScale / 32
		kPutF16(b[iq4XSOffD:], d)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		var h uint16
		sl := b[iq4XSOffScalesL : iq4XSOffScalesL+QKK/64]
		for ib := 0; ib < QKK/32; ib++ {
			l := clampI32(kNearestInt(float32(id*scales[ib])), -32, 31)
			dl := d * float32(l)
			var idl float32
			if dl != 0 {
				idl = 1 / dl
			}
			xb := x[32*ib : 32*ib+32]
			q := b[iq4XSOffQs+16*ib : iq4XSOffQs+16*ib+16]
			for j := range q {
				q[j] = iq4BestIndex(float32(idl*xb[j])) | iq4BestIndex(float32(idl*xb[j+16]))<<4
			}
			l += 32
			if ib%2 == 0 {
				sl[ib/2] = uint8(l & 0xF)
			} else {
				sl[ib/2] |= uint8(l&0xF) << 4
			}
			h |= uint16(l>>4) << (2 * uint(ib))
		}
		b[iq4XSOffScalesH] = byte(h)
		b[iq4XSOffScalesH+1] = byte(h >> 8)
	}
}
