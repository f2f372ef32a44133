// Reference: ggml/src/ggml-common.h (block_iq4_xs) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (ggml_vec_dot_iq4_xs_q8_K: the values from its scalar branch, the sum order from its __AVX2__ one).

package kernel

import "unsafe"

// blockIQ4XS: 8 sub-blocks of 32; value = d×(ls−32)×IQ4NLValues[q], with a
// 6-bit sub-block scale ls.
type blockIQ4XS struct {
	d       uint16         // fp16 super-block scale
	scalesH uint16         // top 2 bits of sub-block scale ib at bits 2ib, 2ib+1
	scalesL [QKK / 64]byte // low 4 bits of scale ib in nibble ib%2 of byte ib/2
	qs      [QKK / 2]byte  // 4-bit indices; 16-byte group ib: low nibbles values 32ib…+15, high +16…+31
}

const (
	blockIQ4XSBytes = int(unsafe.Sizeof(blockIQ4XS{}))
	iq4XSOffD       = int(unsafe.Offsetof(blockIQ4XS{}.d))
	iq4XSOffScalesH = int(unsafe.Offsetof(blockIQ4XS{}.scalesH))
	iq4XSOffScalesL = int(unsafe.Offsetof(blockIQ4XS{}.scalesL))
	iq4XSOffQs      = int(unsafe.Offsetof(blockIQ4XS{}.qs))
)

type blockBytesIQ4XS [blockIQ4XSBytes]byte

// DotIQ4_XS is DotQ2_K for IQ4_XS weights (Q8_K activations).
func DotIQ4_XS(n int, w, x []byte) float32 { return dotIQ4_XS(n, w, x) }

var dotIQ4_XS = dotIQ4_XSGeneric

// dotIQ4_XSGeneric sums in the order of llama.cpp's AVX2
// ggml_vec_dot_iq4_xs_q8_K: lane m (0…7) of eight int32 lanes takes, from
// every 32-element sub-block, the products of elements 4m…4m+3 (low nibbles
// 0…15 in lanes 0…3, high nibbles 16…31 in lanes 4…7) times the sub-block's
// scale ls−32; the lanes are added to eight float32 accumulators by one FMA
// per super-block with d = fp16(w.d)·y.d, and folded by hsum8 at the end.
func dotIQ4_XSGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockIQ4XSBytes]
	x = x[:nb*BlockQ8KBytes]
	kv := &IQ4NLValues
	var acc [8]float32
	for i := 0; i < nb; i++ {
		b := (*blockBytesIQ4XS)(w[i*blockIQ4XSBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		h := uint32(b[iq4XSOffScalesH]) | uint32(b[iq4XSOffScalesH+1])<<8
		sl := (*[QKK / 64]byte)(b[iq4XSOffScalesL:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		var s [8]int32
		for ib := 0; ib < QKK/32; ib++ {
			ls := int32((sl[ib/2]>>(4*uint(ib%2)))&0xF) | int32((h>>(2*uint(ib)))&3)<<4
			q := (*[16]byte)(b[iq4XSOffQs+16*ib:])
			a := (*[32]byte)(q8[32*ib:])
			for m := 0; m < 4; m++ {
				j := 4 * m
				lo := int32(int8(a[j]))*int32(kv[q[j]&0xF]) + int32(int8(a[j+1]))*int32(kv[q[j+1]&0xF]) +
					int32(int8(a[j+2]))*int32(kv[q[j+2]&0xF]) + int32(int8(a[j+3]))*int32(kv[q[j+3]&0xF])
				hi := int32(int8(a[j+16]))*int32(kv[q[j]>>4]) + int32(int8(a[j+17]))*int32(kv[q[j+1]>>4]) +
					int32(int8(a[j+18]))*int32(kv[q[j+2]>>4]) + int32(int8(a[j+19]))*int32(kv[q[j+3]>>4])
				s[m] += (ls - 32) * lo
				s[m+4] += (ls - 32) * hi
			}
		}
		fmaLanes(&acc, kHalf(b[iq4XSOffD:])*kF32(y[q8KOffD:]), &s)
	}
	return hsum8(&acc)
}
