// Reference: Kwon et al., PagedAttention (SOSP 2023) §4.1 (attention over a block table), with the sums of
// llama.cpp's non-flash attention (attention.go): tinyBLAS's 8 lanes for a batch, ggml_vec_dot_f16's 4×8 lanes
// for one token.

package model

import (
	"encoding/binary"
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// pagedRun is what a State needs to run rows of several sequences at once
// through a PagedCache (ForwardBatch): which sequence and position each row
// of the step belongs to. layers reads it through rowPos, storeKV and
// attention; nil for the contiguous cache.
type pagedRun struct {
	seqs   []*PagedSeq
	rowSeq []int32     // [B] index in seqs of each row
	rowPos []int32     // [B] position of each row in its sequence
	seqN   []int32     // [len(seqs)] rows each sequence has in the step
	vacc   [][]float32 // per worker: [D][8 or 32] lanes of the weighted sum of V, carried across blocks (F16 cache)
}

// rowPos is the position of row b of the tokens going through layers.
func (s *State) rowPos(b int) int {
	if s.paged != nil {
		return int(s.paged.rowPos[b])
	}
	return s.pos + b
}

// pagedStoreKV writes row b's keys and values at its position in its
// sequence's block: K as row p%P of the block's K, V into column p%P of
// the block's transposed V.
func (s *State) pagedStoreKV(li int, k, v []float32, nb int) {
	kvd, r := s.m.KVDim(), s.paged
	for b := range nb {
		q := r.seqs[r.rowSeq[b]]
		c := q.c
		p := int(r.rowPos[b])
		kb, vb := c.kv(q.blocks[p/c.P], li)
		o, P := p%c.P, c.P
		kr, vr := k[b*kvd:(b+1)*kvd], v[b*kvd:(b+1)*kvd]
		if c.es == 2 {
			kernel.FP32ToFP16Bytes(kb[o*kvd*2:(o+1)*kvd*2], kr)
			h := s.vh[:2*kvd]
			kernel.FP32ToFP16Bytes(h, vr)
			for j := range kvd {
				vb[(j*P+o)*2], vb[(j*P+o)*2+1] = h[2*j], h[2*j+1]
			}
			continue
		}
		for j := range kvd {
			binary.LittleEndian.PutUint32(kb[(o*kvd+j)*4:], math.Float32bits(kr[j]))
			binary.LittleEndian.PutUint32(vb[(j*P+o)*4:], math.Float32bits(vr[j]))
		}
	}
}

// pagedAttention is attention (attention.go) with each row's keys and
// values read in place through its sequence's block table. A sequence with
// one row in the step is summed in the single-token order, one with several
// in the batch order, whatever the other sequences do: so a sequence's
// numbers are the same alone or batched, and (F16 cache) equal the
// contiguous State's to the bit. The scores against the keys are the same
// row dots block by block; the weighted sum of V carries one set of lanes
// per output dimension across the blocks (kernel.CarryHalves*Rows, a
// block's D rows per call) and folds them at the end, which is the
// contiguous sum.
//
// With the F32 cache the weighted sum of V is the sum of per-block DotF32s:
// within float32 rounding of the contiguous cache, not its bits.
func (s *State) pagedAttention(li, nb int) {
	c := s.m.Config
	H, D, kvd := c.Heads, c.HeadDim, c.KVDim()
	group := H / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(D)))
	r := s.paged
	tasks, W := nb*H, s.pool.Workers()
	if len(r.vacc) < W {
		r.vacc = make([][]float32, W)
	}
	for w := range W {
		if len(r.vacc[w]) < 32*D {
			r.vacc[w] = make([]float32, 32*D)
		}
	}
	s.pool.For(W, 1, func(start, end int) {
		for w := start; w < end; w++ {
			qh, scores, vacc := s.qh[w], s.scores[w], r.vacc[w]
			for task := w; task < tasks; task += W {
				b, h := task/H, task%H
				kvh := h / group
				seq := r.seqs[r.rowSeq[b]]
				pc, P := seq.c, seq.c.P
				single := r.seqN[r.rowSeq[b]] == 1
				n := int(r.rowPos[b]) + 1
				copy(qh, s.q[(b*H+h)*D:(b*H+h+1)*D])
				sc := scores[:n]
				out := s.att[(b*H+h)*D : (b*H+h+1)*D]
				if pc.es == 4 {
					qb := kernel.F32Bytes(qh)
					for t := range n {
						kb, _ := pc.kv(seq.blocks[t/P], li)
						off := ((t%P)*kvd + kvh*D) * 4
						sc[t] = kernel.DotF32(D, kb[off:off+D*4], qb) * scale
					}
					kernel.Softmax(sc)
					for d := range D {
						var sum float32
						for t0 := 0; t0 < n; t0 += P {
							m := min(P, n-t0)
							_, vb := pc.kv(seq.blocks[t0/P], li)
							off := (kvh*D + d) * P * 4
							sum += kernel.DotF32(m, vb[off:off+m*4], kernel.F32Bytes(sc[t0:t0+m]))
						}
						out[d] = sum
					}
					continue
				}
				rows16, carry, acc := kernel.DotHalvesLanes8Rows, kernel.CarryHalvesLanes8Rows, vacc[:8*D]
				fold := kernel.FoldHalvesLanes8Rows
				if single {
					rows16, carry, acc = halvesVecRows, kernel.CarryHalvesVecRows, vacc[:32*D]
					fold = kernel.FoldHalvesVecRows
				}
				kernel.RoundF16(qh)
				for t0 := 0; t0 < n; t0 += P {
					m := min(P, n-t0)
					kb, _ := pc.kv(seq.blocks[t0/P], li)
					rows16(sc[t0:t0+m], kb[kvh*D*2:], kvd*2, qh)
				}
				for t := range sc {
					sc[t] *= scale
				}
				kernel.Softmax(sc)
				kernel.RoundF16(sc)
				clear(acc)
				for t0 := 0; t0 < n; t0 += P {
					m := min(P, n-t0)
					_, vb := pc.kv(seq.blocks[t0/P], li)
					carry(acc, t0, vb[kvh*D*P*2:], P*2, sc[t0:t0+m]) // the head's D rows of V, P apart
				}
				fold(out, acc)
			}
		}
	})
}
