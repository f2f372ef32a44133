// Reference: ggml/src/ggml-common.h (block_iq4_nl, kvalues_iq4nl) and ggml/src/ggml-quants.c
// (quantize_iq4_nl, quantize_row_iq4_nl_impl, best_index_int8, dequantize_row_iq4_nl).

package tensor

import (
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
)

// blockIQ4_NL (18 bytes): value[k] = d·kernel.IQ4NLValues[q[k]]. The 16 levels
// are non-uniform (denser near zero, as the values of trained weights are);
// the nibbles are packed as in Q4_0.
type blockIQ4_NL struct {
	d  uint16        // fp16 scale
	qs [QK / 2]uint8 // indices into IQ4NLValues
}

const sizeIQ4_NL = int(unsafe.Sizeof(blockIQ4_NL{}))

func init() {
	register(IQ4_NL, Format{Dequantize: dequantizeIQ4_NL, Quantize: quantizeIQ4_NL, VecDotType: Q8_0, VecDot: kernel.DotIQ4_NL})
}

func dequantizeIQ4_NL(src []byte, dst []float32) {
	kv := &kernel.IQ4NLValues
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*sizeIQ4_NL : i*sizeIQ4_NL+sizeIQ4_NL]
		y := dst[i*QK : i*QK+QK]
		d := halfLE(b)
		for j, q := range b[2 : 2+QK/2] {
			y[j] = d * float32(kv[q&15])
			y[j+QK/2] = d * float32(kv[q>>4])
		}
	}
}

// iq4nlTries is how far around the plain scale quantizeIQ4_NL searches; 7 is
// what llama-quantize uses when it writes an IQ4_NL file (quantize_iq4_nl).
const iq4nlTries = 7

// quantizeIQ4_NL is llama.cpp's quantize_iq4_nl without an importance matrix
// (each value weighted by its square), which is what llama-quantize writes;
// the _ref variant it also has skips the scale search and is not used for
// files. Per block (max: the signed value of largest magnitude): start from
// d = max/127, which puts max at the top level 113; give each value its
// nearest level and take the least-squares scale for that assignment; then
// try the 15 scales that put max at -127-7 … -127+7 instead, and keep the
// one whose least-squares fit is best (the asymmetric codebook makes the sign
// of d matter).
func quantizeIQ4_NL(src []float32, dst []byte) {
	var (
		weight [QK]float32
		L      [QK]uint8
	)
	kv := &kernel.IQ4NLValues
	v0 := float32(kv[0])
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : i*QK+QK]
		b := dst[i*sizeIQ4_NL : i*sizeIQ4_NL+sizeIQ4_NL]
		for j, v := range x {
			weight[j] = float32(v * v)
		}
		amax, vmax := legacyAbsMax(x)
		var d float32
		if amax >= 1e-15 { // GROUP_MAX_EPS: smaller blocks are all zero
			d = -vmax / v0
			id := 1 / d
			var sumqx, sumq2 float32
			for j, v := range x {
				l := iq4nlBestIndex(float32(id * v))
				L[j] = l
				q := float32(kv[l])
				w := weight[j]
				sumqx += float32(float32(w*q) * v)
				sumq2 += float32(float32(w*q) * q)
			}
			d = sumqx / sumq2
			best := float32(d * sumqx)
			for itry := -iq4nlTries; itry <= iq4nlTries; itry++ {
				id = float32(itry+int(kv[0])) / vmax
				sumqx, sumq2 = 0, 0
				for j, v := range x {
					q := float32(kv[iq4nlBestIndex(float32(id*v))])
					w := weight[j]
					sumqx += float32(float32(w*q) * v)
					sumq2 += float32(float32(w*q) * q)
				}
				if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
					d = sumqx / sumq2
					best = float32(d * sumqx)
				}
			}
		}
		putHalfLE(b, d)
		// The levels are chosen again from the final float32 scale.
		id := legacyInverse(d)
		for j, v := range x {
			L[j] = iq4nlBestIndex(float32(id * v))
		}
		qs := b[2 : 2+QK/2]
		for j := range qs {
			qs[j] = L[j] | L[j+QK/2]<<4
		}
	}
}

// iq4nlBestIndex returns the index of the level nearest to x, the upper one
// on a tie, by bisection over the sorted levels (best_index_int8).
func iq4nlBestIndex(x float32) uint8 {
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
