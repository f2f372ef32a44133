// Reference: Kwon et al., PagedAttention (SOSP 2023) §4.1 (attention over a block table), with the sums of
// llama.cpp's non-flash attention (attention.go): tinyBLAS's 8 lanes for a batch, ggml_vec_dot_f16's 4×8 lanes
// for one token.

package model

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/gptgo/gptgo/kernel"
)

// pagedRun is what a State needs to run rows of several sequences at once
// through a PagedCache (ForwardBatch): which sequence and position each row
// of the step belongs to. layers reads it through rowPos, storeKV and
// attention; nil for the contiguous cache.
type pagedRun struct {
	seqs   []*PagedSeq
	rowSeq []int32 // [B] index in seqs of each row
	rowPos []int32 // [B] position of each row in its sequence
	seqN   []int32 // [len(seqs)] rows each sequence has in the step
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
// row dots block by block; the weighted sum of V runs one set of lane
// accumulators across the blocks (pagedDotV), which is the contiguous sum.
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
	s.pool.For(W, 1, func(start, end int) {
		for w := start; w < end; w++ {
			qh, scores := s.qh[w], s.scores[w]
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
				rows16 := kernel.DotHalvesLanes8Rows
				if single {
					rows16 = halvesVecRows
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
				for d := range D {
					out[d] = pagedDotV(seq, li, (kvh*D+d)*P*2, sc, single)
				}
			}
		}
	})
}

// halfF32 maps every half-precision bit pattern to its float32 value.
var halfF32 = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = kernel.FP16ToFP32(uint16(i))
	}
	return &t
})

// pagedDotV is Σₜ V[t]·x[t] over t < len(x), V's halves read at byte off of
// each block's V region of layer li, summed in the contiguous kernels'
// orders so that the result has their bits: lane t mod 8 for
// DotHalvesLanes8 (batch), lane t mod 32 for DotHalvesVec (single token),
// then their fixed reductions. The products of halves are exact in
// float32, so plain adds equal the kernels' fused multiply-adds, and the
// lanes only need to carry over from one block to the next.
func pagedDotV(seq *PagedSeq, li, off int, x []float32, single bool) float32 {
	t := halfF32()
	c := seq.c
	P, n := c.P, len(x)
	var l [4][8]float32 // lane t mod 32 is l[(t%32)/8][t%8]; the batch order uses l[0] alone (t mod 8)
	mask := 7
	if single {
		mask = 31
	}
	for t0 := 0; t0 < n; t0 += P {
		m := min(P, n-t0)
		_, vb := c.kv(seq.blocks[t0/P], li)
		w := vb[off : off+2*m]
		i := 0
		// Whole groups of 8 at positions ≡ 0 mod 8: each lane once, from
		// registers (the same adds in the same order as one at a time).
		for ; i+8 <= m && (t0+i)&7 == 0; i += 8 {
			a := &l[((t0+i)&mask)>>3]
			wb, xb := w[2*i:2*i+16:2*i+16], x[t0+i:t0+i+8:t0+i+8]
			a[0] += t[uint16(wb[0])|uint16(wb[1])<<8] * xb[0]
			a[1] += t[uint16(wb[2])|uint16(wb[3])<<8] * xb[1]
			a[2] += t[uint16(wb[4])|uint16(wb[5])<<8] * xb[2]
			a[3] += t[uint16(wb[6])|uint16(wb[7])<<8] * xb[3]
			a[4] += t[uint16(wb[8])|uint16(wb[9])<<8] * xb[4]
			a[5] += t[uint16(wb[10])|uint16(wb[11])<<8] * xb[5]
			a[6] += t[uint16(wb[12])|uint16(wb[13])<<8] * xb[6]
			a[7] += t[uint16(wb[14])|uint16(wb[15])<<8] * xb[7]
		}
		for ; i < m; i++ {
			k := (t0 + i) & mask
			l[k>>3][k&7] += t[uint16(w[2*i])|uint16(w[2*i+1])<<8] * x[t0+i]
		}
	}
	if !single {
		a := &l[0]
		p, q, r, u := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
		return (p + r) + (q + u)
	}
	var v [8]float32
	for k := range 8 {
		v[k] = (l[0][k] + l[2][k]) + (l[1][k] + l[3][k])
	}
	a, b, cc, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (a + b) + (cc + d)
}
