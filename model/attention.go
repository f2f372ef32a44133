// Reference: llama.cpp src/llama-graph.cpp (build_attn_mha without flash attention) and the two F16 matmul
// paths it lands on: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS, batches of ≥ 2 tokens) and
// ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_f16, one token).

package model

import (
	"math"

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
	if s.paged != nil { // several sequences through their block tables (batch.go)
		s.pagedAttention(li, nb)
		return
	}
	c := s.m.Config
	H, D, kvd, T, es := c.Heads, c.HeadDim, c.KVDim(), s.ctx, s.kvSize
	group := H / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(D)))
	kc, vc := s.kCache[li], s.vCache[li]
	rows16 := kernel.DotHalvesLanes8Rows // a batch: tinyBLAS's order, four rows per pass
	if nb == 1 {
		rows16 = halvesVecRows // one token: ggml_vec_dot_f16's order
	}
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
				rows16(sc, kc[kvh*D*2:], kvd*2, qh) // the keys, kvd apart
				for t := range sc {
					sc[t] *= scale
				}
				kernel.Softmax(sc)
				kernel.RoundF16(sc)
				rows16(out, vc[kvh*D*T*2:], T*2, sc) // V's rows (transposed), T apart
			}
		}
	})
}

// halvesVecRows is DotHalvesLanes8Rows's signature for DotHalvesVec:
// dst[r] = DotHalvesVec(w[r*stride:], x).
func halvesVecRows(dst []float32, w []byte, stride int, x []float32) {
	for r := range dst {
		dst[r] = kernel.DotHalvesVec(w[r*stride:r*stride+2*len(x)], x)
	}
}
