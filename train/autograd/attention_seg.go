// Reference: the block-diagonal causal mask of packed sequences (Krell et al. 2021, "Efficient Sequence
// Packing without Cross-contamination"; flash-attention's varlen interface, cu_seqlens); llm.c train_gpt2.c
// attention_forward / attention_backward for each block.

package autograd

import (
	"github.com/gptgo/gptgo/kernel"
)

// A packed row holds several examples one after another. Attention must
// stay inside each example: a token sees the earlier tokens of its own
// example and nothing of the examples before it. The mask is then block
// diagonal, each block causal, and each block is exactly the causal
// attention of a sequence of its own length. So the op below does not mask
// anything: it cuts every row into its runs and runs the plain kernels
// (kernel.AttentionForward / AttentionBackward) on each run as a sequence
// of n tokens, in place, since a run's rows are contiguous in the
// [B·T, H·D] layout. It is also cheaper than a masked T×T: Σ n² ≤ T².

// segRun is one run of rows [start, start+n) that attend to each other,
// and where its softmax weights [H, n, n] and backward scratch start.
type segRun struct{ start, n, probs, scratch int }

// segmentRuns cuts N = B·T rows into runs: a run ends at a change of
// segment id and at the end of each sequence of T. With KH key/value heads
// it also lays out the weights (H·n² per run) and the backward scratch
// (n² per KV head of a run).
func segmentRuns(seg []int32, T, H, KH int) (runs []segRun, probs, scratch int) {
	for s := 0; s < len(seg); {
		e := s + 1
		for e < len(seg) && e%T != 0 && seg[e] == seg[s] {
			e++
		}
		n := e - s
		runs = append(runs, segRun{start: s, n: n, probs: probs, scratch: scratch})
		probs += H * n * n
		scratch += KH * n * n
		s = e
	}
	return runs, probs, scratch
}

// AttentionSegments is Attention over packed sequences: seg [B·T] names
// the example each row belongs to, and a row attends (causally) only to
// the rows of its own run of equal ids within its sequence of T. Ids need
// not be distinct across runs: a run is contiguous rows with one id. With
// seg nil it is Attention. q [B·T, H·D], k and v [B·T, KH·D] → [B·T, H·D].
// Work is split over the (run, KV head) pairs.
func (t *Tape) AttentionSegments(q, k, v *Var, seg []int32, T, H, KH, D int) *Var {
	if seg == nil {
		return t.Attention(q, k, v, T, H, KH, D)
	}
	if t.err != nil {
		return t.dead
	}
	N := q.Rows()
	if T <= 0 || KH <= 0 || H%KH != 0 || N%T != 0 || q.Cols() != H*D || len(seg) != N ||
		k.Cols() != KH*D || v.Cols() != KH*D || k.Rows() != N || v.Rows() != N {
		return t.fail("attention (segments) q %v k %v v %v with %d segment ids, T=%d H=%d KH=%d D=%d: shapes do not fit",
			q.Shape, k.Shape, v.Shape, len(seg), T, H, KH, D)
	}
	runs, np, ns := segmentRuns(seg, T, H, KH)
	qd, kvd := H*D, KH*D
	probs := t.scratch(np)
	y := t.out("attention_segments", q.Shape, q, k, v)
	t.pool.For(len(runs)*KH, 1, func(s, e int) {
		for task := s; task < e; task++ {
			r, g := runs[task/KH], task%KH
			a, b := r.start, r.start+r.n
			kernel.AttentionForward(y.Data[a*qd:b*qd], probs[r.probs:r.probs+H*r.n*r.n],
				q.Data[a*qd:b*qd], k.Data[a*kvd:b*kvd], v.Data[a*kvd:b*kvd], r.n, H, KH, D, g, g+1)
		}
	})
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gq, gk, gv := t.gradOrScratch(q), t.gradOrScratch(k), t.gradOrScratch(v)
		scratch := t.transient(ns) // dead when this backward ends
		t.pool.For(len(runs)*KH, 1, func(s, e int) {
			for task := s; task < e; task++ {
				r, g := runs[task/KH], task%KH
				a, b, nn := r.start, r.start+r.n, r.n*r.n
				kernel.AttentionBackward(gq[a*qd:b*qd], gk[a*kvd:b*kvd], gv[a*kvd:b*kvd], y.Grad[a*qd:b*qd],
					q.Data[a*qd:b*qd], k.Data[a*kvd:b*kvd], v.Data[a*kvd:b*kvd], probs[r.probs:r.probs+H*nn],
					scratch[r.scratch+g*nn:r.scratch+(g+1)*nn], r.n, H, KH, D, g, g+1)
			}
		})
	})
	return y
}

// gradOrScratch is x's gradient buffer, or a zeroed scratch one where x
// needs none, so that a kernel writing all its gradients can always run.
func (t *Tape) gradOrScratch(x *Var) []float32 {
	if g := t.grad(x); g != nil {
		return g
	}
	return t.alloc(len(x.Data))
}
