// Reference: llm.c train_gpt2.c (matmul, layernorm, attention, gelu forward/backward pairs); llama.cpp
// llm_build_llama (RMSNorm → q/k/v → RoPE → attention → residual → RMSNorm → SwiGLU → residual).

package autograd

import (
	"github.com/gptgo/gptgo/kernel"
)

// Where the time goes: nearly all of it in Linear, forward (Pool.MatMul)
// and backward (two row-split passes, dX and dW), then Attention, which
// grows with T². Those three are split across the pool; the norms and
// activations are single passes over N·C and run on the calling goroutine
// (the norms' weight gradients sum over rows, which one goroutine keeps in
// a fixed order).

// Linear returns x·wᵀ + b: x [N, C], w [R, C], b [R] or nil → [N, R]. The
// forward is tensor.Pool.MatMul on an F32 view of w, the very matmul
// inference runs, so a trained model's logits match the inference path's.
func (t *Tape) Linear(x, w, b *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C, R := x.Rows(), x.Cols(), w.Rows()
	if w.Cols() != C || (b != nil && len(b.Data) != R) {
		return t.fail("linear %q %v times %q %v: shapes do not fit", x.Name, x.Shape, w.Name, w.Shape)
	}
	wt, err := w.weight()
	if err != nil {
		return t.fail("linear %q: %v", w.Name, err)
	}
	y := t.out("linear:"+w.Name, []int{N, R}, x, w, b)
	if err := t.pool.MatMul(wt, x.Data, N, y.Data); err != nil {
		return t.fail("linear %q: %v", w.Name, err)
	}
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
			t.pool.For(N, 4, func(s, e int) { kernel.LinearBackwardInput(gx, gy, w.Data, R, C, s, e) })
		}
		gw, gb := t.grad(w), t.grad(b)
		switch {
		case gw != nil:
			t.pool.For(R, 16, func(s, e int) { kernel.LinearBackwardWeight(gw, gb, gy, x.Data, N, R, C, s, e) })
		case gb != nil: // a frozen weight with a trained bias
			for n := range N {
				kernel.AddTo(gb, gy[n*R:(n+1)*R])
			}
		}
	})
	return y
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
	for n := range x.Rows() {
		kernel.RMSNorm(y.Data[n*C:(n+1)*C], x.Data[n*C:(n+1)*C], w.Data, eps)
	}
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gx, gw := t.normGrads(x, w)
		for n := range x.Rows() {
			r := n * C
			kernel.RMSNormBackward(gx[r:r+C], gw, y.Grad[r:r+C], x.Data[r:r+C], w.Data, eps)
		}
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
	for n := range x.Rows() {
		kernel.LayerNorm(y.Data[n*C:(n+1)*C], x.Data[n*C:(n+1)*C], w.Data, bd, eps)
	}
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gx, gw := t.normGrads(x, w)
		gb := t.grad(b)
		for n := range x.Rows() {
			r := n * C
			kernel.LayerNormBackward(gx[r:r+C], gw, gb, y.Grad[r:r+C], x.Data[r:r+C], w.Data, eps)
		}
	})
	return y
}

// Rope describes a rotary position embedding: the first Dims elements of
// each head of width D are rotated, pairing adjacent elements (NEOX false,
// LLaMA) or x[i] with x[i+Dims/2] (NEOX true, Qwen2); angles as
// kernel.RopeCache with Base and FreqScale (1 without scaling).
type Rope struct {
	D, Dims   int
	Base      float32
	FreqScale float32
	NEOX      bool
}

// RoPE rotates every head of x [B·T, heads·D] by its position in its
// sequence of T tokens (row n is position n mod T).
func (t *Tape) RoPE(x *Var, T int, r Rope) *Var {
	if t.err != nil {
		return t.dead
	}
	N, W := x.Rows(), x.Cols()
	if T <= 0 || N%T != 0 || r.D <= 0 || W%r.D != 0 || r.Dims <= 0 || r.Dims > r.D || r.Dims%2 != 0 {
		return t.fail("rope over %q %v: T=%d, head width %d, rotated %d do not fit", x.Name, x.Shape, T, r.D, r.Dims)
	}
	rotate, back := kernel.RopeNorm, kernel.RopeNormBackward
	if r.NEOX {
		rotate, back = kernel.RopeNeox, kernel.RopeNeoxBackward
	}
	cache := t.alloc(T * r.Dims)
	for p := range T {
		kernel.RopeCache(cache[p*r.Dims:(p+1)*r.Dims], p, r.Dims, r.Base, r.FreqScale, nil)
	}
	y := t.out("rope", x.Shape, x)
	copy(y.Data, x.Data)
	for n := range N {
		c := cache[(n%T)*r.Dims : (n%T+1)*r.Dims]
		for h := 0; h < W; h += r.D {
			rotate(y.Data[n*W+h:n*W+h+r.D], c, r.Dims)
		}
	}
	t.record(y, func() {
		gx := t.grad(x)
		if y.Grad == nil || gx == nil {
			return
		}
		tmp := t.alloc(r.D)
		for n := range N {
			c := cache[(n%T)*r.Dims : (n%T+1)*r.Dims]
			for h := 0; h < W; h += r.D {
				copy(tmp, y.Grad[n*W+h:n*W+h+r.D])
				back(tmp, c, r.Dims)
				kernel.AddTo(gx[n*W+h:n*W+h+r.D], tmp)
			}
		}
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
	probs := t.alloc(B * H * T * T)
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
		scratch := t.alloc(B * KH * T)
		t.pool.For(B*KH, 1, func(s, e int) {
			for task := s; task < e; task++ {
				b, g := task/KH, task%KH
				qs, ks := b*T*qd, b*T*kvd
				kernel.AttentionBackward(gq[qs:qs+T*qd], gk[ks:ks+T*kvd], gv[ks:ks+T*kvd], y.Grad[qs:qs+T*qd],
					q.Data[qs:qs+T*qd], k.Data[ks:ks+T*kvd], v.Data[ks:ks+T*kvd], probs[b*H*T*T:(b+1)*H*T*T],
					scratch[task*T:(task+1)*T], T, H, KH, D, g, g+1)
			}
		})
	})
	return y
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
	kernel.SwiGLU(y.Data, gate.Data, up.Data)
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
		kernel.SwiGLUBackward(gg, gu, y.Grad, gate.Data, up.Data)
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
	kernel.GELU(y.Data, x.Data)
	t.record(y, func() {
		if gx := t.grad(x); y.Grad != nil && gx != nil {
			kernel.GELUBackward(gx, y.Grad, x.Data)
		}
	})
	return y
}
