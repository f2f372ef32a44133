// Reference: llm.c train_gpt2.c (matmul, layernorm, attention, gelu forward/backward pairs); llama.cpp
// llm_build_llama (RMSNorm → q/k/v → RoPE → attention → residual → RMSNorm → SwiGLU → residual).

package autograd

import (
	"github.com/gptgo/gptgo/kernel"
)

// Where the time goes: nearly all of it in Linear, forward and backward
// (three GEMMs: y, dX and dW), then Attention, which grows with T². Every
// op splits its work across the pool: GEMMs by blocks of output, attention
// by (sequence, KV head), norms by blocks of rows (their weight gradients
// summed block by block in a fixed order), and elementwise ops by fixed
// chunks.

// Linear returns x·wᵀ + b: x [N, C], w [R, C], b [R] or nil → [N, R]. The
// forward is a GEMM (tensor.Pool.Gemm) rather than the inference path's
// tiled dots (tensor.Pool.MatMul): both sum in float32 but in different
// orders, so a trained model's logits match the
// inference path's within float rounding, not bit for bit.
func (t *Tape) Linear(x, w, b *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C, R := x.Rows(), x.Cols(), w.Rows()
	if w.Cols() != C || (b != nil && len(b.Data) != R) {
		return t.fail("linear %q %v times %q %v: shapes do not fit", x.Name, x.Shape, w.Name, w.Shape)
	}
	y := t.out("linear:"+w.Name, []int{N, R}, x, w, b)
	t.pool.Gemm(false, true, N, R, C, x.Data, C, w.Data, C, y.Data, R, false)
	if b != nil {
		for n := range N {
			kernel.Add(y.Data[n*R:(n+1)*R], y.Data[n*R:(n+1)*R], b.Data)
		}
	}
	t.record(y, func() {
		gy := y.Grad
		if gy == nil {
			return
		}
		if gx := t.grad(x); gx != nil {
			t.linearGradInput(gx, gy, w, N, R, C)
		}
		gw, gb := t.grad(w), t.grad(b)
		if gw != nil {
			t.linearGradWeight(gw, gy, x.Data, N, R, C)
		}
		if gb != nil {
			for r := range R { // column sums in float64, in row order
				var s float64
				for n := range N {
					s += float64(gy[n*R+r])
				}
				gb[r] += float32(s)
			}
		}
	})
	return y
}

// The two GEMMs of a Linear backward read w, x and gy in place (the
// kernel packs the transposed operands itself) and add straight into the
// gradients. kernel.LinearBackwardInput and kernel.LinearBackwardWeight are
// the plain loops these are tested against. Each output element is one sum
// in a fixed order: the result does not depend on the worker count.

// linearGradInput adds gy·w to gx: gx[n, c] += Σ_r gy[n, r]·w[r, c].
func (t *Tape) linearGradInput(gx, gy []float32, w *Var, N, R, C int) {
	t.pool.Gemm(false, false, N, C, R, gy, R, w.Data, C, gx, C, true)
}

// linearGradWeight adds gyᵀ·x to gw: gw[r, c] += Σ_n gy[n, r]·x[n, c].
func (t *Tape) linearGradWeight(gw, gy, x []float32, N, R, C int) {
	t.pool.Gemm(true, false, R, C, N, gy, R, x, C, gw, C, true)
}

// normRows is the fixed block of rows a norm's backward sums its weight
// gradient over before the blocks are added in order.
const normRows = 64

// normBackward runs row(n, dw, db) for every row n, where dw (and db when
// gb is not nil) are the partial sums of the row's block of normRows rows.
// The blocks are spread over the pool, then their partials are added into
// gw and gb in block order: the sums do not depend on the worker count.
func (t *Tape) normBackward(N, C int, gw, gb []float32, row func(n int, dw, db []float32)) {
	blocks := (N + normRows - 1) / normRows
	pw := t.alloc(blocks * C)
	var pb []float32
	if gb != nil {
		pb = t.alloc(blocks * C)
	}
	t.pool.For(blocks, 1, func(s, e int) {
		for k := s; k < e; k++ {
			dw := pw[k*C : (k+1)*C]
			var db []float32
			if pb != nil {
				db = pb[k*C : (k+1)*C]
			}
			for n := k * normRows; n < min((k+1)*normRows, N); n++ {
				row(n, dw, db)
			}
		}
	})
	for k := range blocks {
		kernel.AddTo(gw, pw[k*C:(k+1)*C])
		if pb != nil {
			kernel.AddTo(gb, pb[k*C:(k+1)*C])
		}
	}
}

// normGrads returns the gradient buffers of x and w, or scratch where one
// needs none, so the norm kernels can always write both.
func (t *Tape) normGrads(x, w *Var) (gx, gw []float32) {
	gx, gw = t.grad(x), t.grad(w)
	if gx == nil {
		gx = t.alloc(len(x.Data))
	}
	if gw == nil {
		gw = t.alloc(len(w.Data))
	}
	return gx, gw
}

// RMSNorm normalises each row of x [N, C] by its root mean square and
// scales by w [C] (kernel.RMSNorm).
func (t *Tape) RMSNorm(x, w *Var, eps float32) *Var {
	if t.err != nil {
		return t.dead
	}
	C := x.Cols()
	if len(w.Data) != C {
		return t.fail("rms_norm %q [%d] over rows of %d", w.Name, len(w.Data), C)
	}
	y := t.out("rms_norm:"+w.Name, x.Shape, x, w)
	t.pool.For(x.Rows(), normRows, func(s, e int) {
		for n := s; n < e; n++ {
			kernel.RMSNorm(y.Data[n*C:(n+1)*C], x.Data[n*C:(n+1)*C], w.Data, eps)
		}
	})
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gx, gw := t.normGrads(x, w)
		t.normBackward(x.Rows(), C, gw, nil, func(n int, dw, _ []float32) {
			r := n * C
			kernel.RMSNormBackward(gx[r:r+C], dw, y.Grad[r:r+C], x.Data[r:r+C], w.Data, eps)
		})
	})
	return y
}

// LayerNorm normalises each row of x [N, C] to zero mean and unit
// variance, then scales by w [C] and shifts by b [C] (nil: none).
func (t *Tape) LayerNorm(x, w, b *Var, eps float32) *Var {
	if t.err != nil {
		return t.dead
	}
	C := x.Cols()
	if len(w.Data) != C || (b != nil && len(b.Data) != C) {
		return t.fail("layer_norm %q over rows of %d: weight or bias length differs", w.Name, C)
	}
	var bd []float32
	if b != nil {
		bd = b.Data
	}
	y := t.out("layer_norm:"+w.Name, x.Shape, x, w, b)
	t.pool.For(x.Rows(), normRows, func(s, e int) {
		for n := s; n < e; n++ {
			kernel.LayerNorm(y.Data[n*C:(n+1)*C], x.Data[n*C:(n+1)*C], w.Data, bd, eps)
		}
	})
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gx, gw := t.normGrads(x, w)
		t.normBackward(x.Rows(), C, gw, t.grad(b), func(n int, dw, db []float32) {
			r := n * C
			kernel.LayerNormBackward(gx[r:r+C], dw, db, y.Grad[r:r+C], x.Data[r:r+C], w.Data, eps)
		})
	})
	return y
}

// Rope describes a rotary position embedding: the first Dims elements of
// each head of width D are rotated, pairing adjacent elements (NEOX false,
// LLaMA) or x[i] with x[i+Dims/2] (NEOX true, Qwen2); angles as
// kernel.RopeCache with Base, FreqScale (1 without scaling) and Factors
// (llama-3's "rope_freqs.weight", [Dims/2]; nil for none).
type Rope struct {
	D, Dims   int
	Base      float32
	FreqScale float32
	Factors   []float32
	NEOX      bool
}

// RoPE rotates every head of x [B·T, heads·D] by its position in its
// sequence of T tokens (row n is position n mod T).
func (t *Tape) RoPE(x *Var, T int, r Rope) *Var {
	if t.err != nil {
		return t.dead
	}
	N, W := x.Rows(), x.Cols()
	if T <= 0 || N%T != 0 || r.D <= 0 || W%r.D != 0 || r.Dims <= 0 || r.Dims > r.D || r.Dims%2 != 0 ||
		(r.Factors != nil && len(r.Factors) != r.Dims/2) {
		return t.fail("rope over %q %v: T=%d, head width %d, rotated %d do not fit", x.Name, x.Shape, T, r.D, r.Dims)
	}
	rotate, back := kernel.RopeNorm, kernel.RopeNormBackward
	if r.NEOX {
		rotate, back = kernel.RopeNeox, kernel.RopeNeoxBackward
	}
	cache := t.scratch(T * r.Dims)
	for p := range T {
		kernel.RopeCache(cache[p*r.Dims:(p+1)*r.Dims], p, r.Dims, r.Base, r.FreqScale, r.Factors)
	}
	y := t.out("rope", x.Shape, x)
	// Rows are independent, so they are split across the pool (on the
	// caller alone RoPE was about 15 ms of each 0.9M step, the other
	// worker idle); each row is rotated as before, so the bits are too.
	rows := max(1, elemChunk/W)
	t.pool.For(N, rows, func(s, e int) {
		copy(y.Data[s*W:e*W], x.Data[s*W:e*W])
		for n := s; n < e; n++ {
			c := cache[(n%T)*r.Dims : (n%T+1)*r.Dims]
			for h := 0; h < W; h += r.D {
				rotate(y.Data[n*W+h:n*W+h+r.D], c, r.Dims)
			}
		}
	})
	t.record(y, func() {
		gx := t.grad(x)
		if y.Grad == nil || gx == nil {
			return
		}
		// One head's scratch per chunk of rows: chunks start at multiples
		// of rows, and no two workers run the same chunk.
		tmps := t.scratch((N + rows - 1) / rows * r.D)
		t.pool.For(N, rows, func(s, e int) {
			tmp := tmps[s/rows*r.D : (s/rows+1)*r.D]
			for n := s; n < e; n++ {
				c := cache[(n%T)*r.Dims : (n%T+1)*r.Dims]
				for h := 0; h < W; h += r.D {
					copy(tmp, y.Grad[n*W+h:n*W+h+r.D])
					back(tmp, c, r.Dims)
					kernel.AddTo(gx[n*W+h:n*W+h+r.D], tmp)
				}
			}
		})
	})
	return y
}

// Attention is causal multi-head attention with grouped keys and values:
// q [B·T, H·D], k and v [B·T, KH·D] → [B·T, H·D] (kernel.AttentionForward).
// The softmax weights [B, H, T, T] are kept for the backward. Work is split
// over the B·KH (sequence, KV head) pairs.
func (t *Tape) Attention(q, k, v *Var, T, H, KH, D int) *Var {
	if t.err != nil {
		return t.dead
	}
	N := q.Rows()
	if T <= 0 || KH <= 0 || H%KH != 0 || N%T != 0 || q.Cols() != H*D ||
		k.Cols() != KH*D || v.Cols() != KH*D || k.Rows() != N || v.Rows() != N {
		return t.fail("attention q %v k %v v %v with T=%d H=%d KH=%d D=%d: shapes do not fit", q.Shape, k.Shape, v.Shape, T, H, KH, D)
	}
	B, qd, kvd := N/T, H*D, KH*D
	probs := t.scratch(B * H * T * T) // AttentionForward writes every row, zeros included
	y := t.out("attention", q.Shape, q, k, v)
	t.pool.For(B*KH, 1, func(s, e int) {
		for task := s; task < e; task++ {
			b, g := task/KH, task%KH
			kernel.AttentionForward(y.Data[b*T*qd:(b+1)*T*qd], probs[b*H*T*T:(b+1)*H*T*T],
				q.Data[b*T*qd:(b+1)*T*qd], k.Data[b*T*kvd:(b+1)*T*kvd], v.Data[b*T*kvd:(b+1)*T*kvd], T, H, KH, D, g, g+1)
		}
	})
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gq, gk, gv := t.grad(q), t.grad(k), t.grad(v)
		if gq == nil {
			gq = t.alloc(len(q.Data))
		}
		if gk == nil {
			gk = t.alloc(len(k.Data))
		}
		if gv == nil {
			gv = t.alloc(len(v.Data))
		}
		scratch := t.transient(B * KH * T * T) // a T×T dS per task, dead when this backward ends
		t.pool.For(B*KH, 1, func(s, e int) {
			for task := s; task < e; task++ {
				b, g := task/KH, task%KH
				qs, ks := b*T*qd, b*T*kvd
				kernel.AttentionBackward(gq[qs:qs+T*qd], gk[ks:ks+T*kvd], gv[ks:ks+T*kvd], y.Grad[qs:qs+T*qd],
					q.Data[qs:qs+T*qd], k.Data[ks:ks+T*kvd], v.Data[ks:ks+T*kvd], probs[b*H*T*T:(b+1)*H*T*T],
					scratch[task*T*T:(task+1)*T*T], T, H, KH, D, g, g+1)
			}
		})
	})
	return y
}

// Split cuts the columns of x [N, Σ widths] into len(widths) Vars
// [N, widths[i]], left to right: the q, k and v of a fused attn_qkv
// projection (GPT-2).
func (t *Tape) Split(x *Var, widths ...int) []*Var {
	outs := make([]*Var, len(widths))
	for i := range outs {
		outs[i] = t.dead
	}
	if t.err != nil {
		return outs
	}
	sum := 0
	for _, w := range widths {
		if w <= 0 {
			sum = -1
			break
		}
		sum += w
	}
	W, N := x.Cols(), x.Rows()
	if sum != W {
		t.fail("split %q %v into widths %v: they do not add up to %d", x.Name, x.Shape, widths, W)
		return outs
	}
	off := 0
	for i, w := range widths {
		y := t.out("split", []int{N, w}, x)
		for n := range N {
			copy(y.Data[n*w:(n+1)*w], x.Data[n*W+off:])
		}
		o := off
		t.record(y, func() {
			if gx := t.grad(x); y.Grad != nil && gx != nil {
				for n := range N {
					kernel.AddTo(gx[n*W+o:n*W+o+w], y.Grad[n*w:(n+1)*w])
				}
			}
		})
		outs[i] = y
		off += w
	}
	return outs
}

// SwiGLU returns silu(gate)·up elementwise (LLaMA's feed-forward gate).
func (t *Tape) SwiGLU(gate, up *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	if !sameShape(gate, up) {
		return t.fail("swiglu %v and %v: shapes differ", gate.Shape, up.Shape)
	}
	y := t.out("swiglu", gate.Shape, gate, up)
	t.elems(len(y.Data), func(s, e int) { kernel.SwiGLU(y.Data[s:e], gate.Data[s:e], up.Data[s:e]) })
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gg, gu := t.grad(gate), t.grad(up)
		if gg == nil {
			gg = t.alloc(len(gate.Data))
		}
		if gu == nil {
			gu = t.alloc(len(up.Data))
		}
		t.elems(len(y.Grad), func(s, e int) {
			kernel.SwiGLUBackward(gg[s:e], gu[s:e], y.Grad[s:e], gate.Data[s:e], up.Data[s:e])
		})
	})
	return y
}

// GELU applies the tanh-approximated GELU elementwise in float32
// (kernel.GELU; inference's half-precision GELUF16 is within its rounding).
func (t *Tape) GELU(x *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	y := t.out("gelu", x.Shape, x)
	t.elems(len(y.Data), func(s, e int) { kernel.GELU(y.Data[s:e], x.Data[s:e]) })
	t.record(y, func() {
		if gx := t.grad(x); y.Grad != nil && gx != nil {
			t.elems(len(gx), func(s, e int) { kernel.GELUBackward(gx[s:e], y.Grad[s:e], x.Data[s:e]) })
		}
	})
	return y
}
