// Reference: llama.cpp src/llama-graph.cpp (build_attn_mha without flash attention) and the two F16 matmul
// paths it lands on: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS, batches of ≥ 2 tokens) and
// ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_f16, one token).

package model

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/gptgo/gptgo/kernel"
)

// attention computes, for each of the nb new tokens and each query head,
// softmax(q·Kᵀ/√D) over the positions up to and including the token's own
// (the causal mask), then the weighted sum of V, into att. It reads the
// cache in place. Work is split ggml-style: worker w takes tasks w, w+W, …,
// each with its own scratch, so results do not depend on the number of
// workers.
//
// With the F16 cache the arithmetic is llama.cpp's to the bit: the query and
// the softmax weights are rounded to half precision (ggml converts the other
// operand of an F16 matmul), every product of two halves is exact in
// float32, and the sums run in the order of the kernel llama.cpp uses —
// tinyBLAS's 8 lanes for a batch, ggml_vec_dot_f16's 4×8 lanes for a single
// token. The 8-bit activations downstream turn any last-bit difference into
// a visible one, which is why the order is worth keeping.
func (s *State) attention(li, nb int) {
	c := s.m.Config
	H, D, kvd, T, es := c.Heads, c.HeadDim, c.KVDim(), s.ctx, s.kvSize
	group := H / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(D)))
	kc, vc := s.kCache[li], s.vCache[li]
	dot16 := dotHalvesVec
	if nb > 1 {
		dot16 = dotHalvesLanes8
	}
	half := f16Table()
	tasks, W := nb*H, s.pool.Workers()
	s.pool.For(W, 1, func(start, end int) {
		for w := start; w < end; w++ {
			qh, scores := s.qh[w], s.scores[w]
			for task := w; task < tasks; task += W {
				b, h := task/H, task%H
				kvh := h / group
				n := s.pos + b + 1 // positions this token may attend to
				copy(qh, s.q[(b*H+h)*D:(b*H+h+1)*D])
				sc := scores[:n]
				out := s.att[(b*H+h)*D : (b*H+h+1)*D]
				if es == 4 {
					qb := kernel.F32Bytes(qh)
					for t := range n {
						off := (t*kvd + kvh*D) * 4
						sc[t] = kernel.DotF32(D, kc[off:off+D*4], qb) * scale
					}
					kernel.Softmax(sc)
					pb := kernel.F32Bytes(sc)
					for d := range D {
						off := (kvh*D + d) * T * 4
						out[d] = kernel.DotF32(n, vc[off:off+n*4], pb)
					}
					continue
				}
				kernel.RoundF16(qh)
				for t := range n {
					off := (t*kvd + kvh*D) * 2
					sc[t] = dot16(half, kc[off:off+D*2], qh) * scale
				}
				kernel.Softmax(sc)
				kernel.RoundF16(sc)
				for d := range D {
					off := (kvh*D + d) * T * 2
					out[d] = dot16(half, vc[off:off+n*2], sc)
				}
			}
		}
	})
}

// f16Table maps every half-precision bit pattern to its float32 value.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = kernel.FP16ToFP32(uint16(i))
	}
	return &t
})

// dotHalvesLanes8 is Σ w[i]·x[i] for len(x) halves w (bytes) and
// half-representable x, summed as tinyBLAS does: lane i mod 8 accumulates,
// then the lanes are added pairwise (l0+l4, l1+l5, …) and the four results
// as (a+c)+(b+d). The products are exact, so plain adds equal its FMAs. The
// lanes are named variables so that they live in registers.
func dotHalvesLanes8(t *[1 << 16]float32, w []byte, x []float32) float32 {
	var l0, l1, l2, l3, l4, l5, l6, l7 float32
	n := len(x)
	w = w[:2*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		wb, xb := w[2*i:2*i+16:2*i+16], x[i:i+8:i+8]
		l0 += t[uint16(wb[0])|uint16(wb[1])<<8] * xb[0]
		l1 += t[uint16(wb[2])|uint16(wb[3])<<8] * xb[1]
		l2 += t[uint16(wb[4])|uint16(wb[5])<<8] * xb[2]
		l3 += t[uint16(wb[6])|uint16(wb[7])<<8] * xb[3]
		l4 += t[uint16(wb[8])|uint16(wb[9])<<8] * xb[4]
		l5 += t[uint16(wb[10])|uint16(wb[11])<<8] * xb[5]
		l6 += t[uint16(wb[12])|uint16(wb[13])<<8] * xb[6]
		l7 += t[uint16(wb[14])|uint16(wb[15])<<8] * xb[7]
	}
	if i < n { // a padded row's tail: zeros beyond
		var l [8]float32
		for j := 0; i < n; i, j = i+1, j+1 {
			l[j] = t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
		}
		l0, l1, l2, l3 = l0+l[0], l1+l[1], l2+l[2], l3+l[3]
		l4, l5, l6, l7 = l4+l[4], l5+l[5], l6+l[6], l7+l[7]
	}
	a, b, c, d := l0+l4, l1+l5, l2+l6, l3+l7
	return (a + c) + (b + d)
}

// dotHalvesVec is the same dot summed as ggml_vec_dot_f16 does on AVX2:
// four 8-lane accumulators take consecutive groups of 8 in each step of 32,
// then fold as (s0+s2)+(s1+s3), halves l+l₄, and (a+b)+(c+d). Rows shorter
// than a step are padded with zeros (llama.cpp pads the KV length to 32).
// Each accumulator is computed in its own pass so its lanes stay in
// registers; the sums are the same.
func dotHalvesVec(t *[1 << 16]float32, w []byte, x []float32) float32 {
	var s [4][8]float32
	n := len(x)
	w = w[:2*n]
	full := n &^ 31
	for g := range 4 {
		var l0, l1, l2, l3, l4, l5, l6, l7 float32
		for i := 8 * g; i < full; i += 32 {
			wb, xb := w[2*i:2*i+16:2*i+16], x[i:i+8:i+8]
			l0 += t[uint16(wb[0])|uint16(wb[1])<<8] * xb[0]
			l1 += t[uint16(wb[2])|uint16(wb[3])<<8] * xb[1]
			l2 += t[uint16(wb[4])|uint16(wb[5])<<8] * xb[2]
			l3 += t[uint16(wb[6])|uint16(wb[7])<<8] * xb[3]
			l4 += t[uint16(wb[8])|uint16(wb[9])<<8] * xb[4]
			l5 += t[uint16(wb[10])|uint16(wb[11])<<8] * xb[5]
			l6 += t[uint16(wb[12])|uint16(wb[13])<<8] * xb[6]
			l7 += t[uint16(wb[14])|uint16(wb[15])<<8] * xb[7]
		}
		s[g] = [8]float32{l0, l1, l2, l3, l4, l5, l6, l7}
	}
	for i := full; i < n; i++ { // the zero-padded last step
		j := i - full
		s[j/8][j%8] += t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
	}
	var v [8]float32
	for m := range 8 {
		v[m] = (s[0][m] + s[2][m]) + (s[1][m] + s[3][m])
	}
	a, b, c, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (a + b) + (c + d)
}
