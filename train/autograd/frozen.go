// Reference: Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv:2106.09685), §4.1
// (h = W₀x + (α/r)·BAx, W₀ frozen); Dettmers et al., "QLoRA" (arXiv:2305.14314), §3 (a frozen quantized base
// dequantized on the fly for the forward and the input gradient); PEFT's lora.Linear (dropout on the
// adapter's input only).

package autograd

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Ops for parameter-efficient fine-tuning: a Linear whose weight is a
// frozen tensor of any dtype read in place (FrozenLinear), an embedding
// lookup in such a tensor (FrozenEmbedding), and the low-rank adapter path
// added into that product in place (AddLoRA). Nothing here keeps a float32
// copy of a frozen matrix: its rows are dequantized a tile at a time, used,
// and the tile's buffer reused.

// Recording reports whether the tape records ops for a backward (false
// under NoGrad): training-only behaviour keys on it.
func (t *Tape) Recording() bool { return !t.noGrad }

// transient returns the tape's one buffer for data that lives only while
// the current op's forward or backward runs, grown to n floats. Its
// contents are undefined; the next op's use overwrites them.
func (t *Tape) transient(n int) []float32 {
	if cap(t.tmp) < n {
		t.tmp = make([]float32, n)
	}
	return t.tmp[:n]
}

// frozenTileFloats bounds the float32 tile of dequantized weight rows a
// frozen matmul works on (1 MiB floats = 4 MiB): big enough that the GEMM
// runs at its blocked speed, small beside any weight worth quantizing.
const frozenTileFloats = 1 << 20

// frozenView returns w's values when they can be read as float32 in place
// (an aligned F32 tensor), else nil: then rows are dequantized per tile.
func frozenView(w *tensor.Tensor) []float32 {
	if w.DType != tensor.F32 || len(w.Data) == 0 || len(w.Data)%4 != 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&w.Data[0]))%4 != 0 {
		return nil
	}
	return kernel.BytesF32(w.Data)
}

// eachFrozenTile calls fn(r0, r1, rows) for consecutive tiles of w's rows,
// rows holding rows r0…r1-1 as float32 [r1-r0, C]. The tiles are
// dequantized across the pool; fn runs on the calling goroutine, so a
// caller that adds each tile's contribution in turn sums in a fixed order.
func (t *Tape) eachFrozenTile(w *tensor.Tensor, fn func(r0, r1 int, rows []float32)) error {
	R, C := w.Rows(), w.Cols()
	if v := frozenView(w); v != nil {
		fn(0, R, v)
		return nil
	}
	tile := max(1, min(R, frozenTileFloats/C))
	buf := t.transient(tile * C)
	for r0 := 0; r0 < R; r0 += tile {
		r1 := min(R, r0+tile)
		var mu sync.Mutex
		var err error
		t.pool.For(r1-r0, 8, func(s, e int) {
			for i := s; i < e; i++ {
				if e := w.DequantizeRow(r0+i, buf[i*C:(i+1)*C]); e != nil {
					mu.Lock()
					err = cmp.Or(err, e)
					mu.Unlock()
					return
				}
			}
		})
		if err != nil {
			return fmt.Errorf("frozen weight %q: %w", w.Name, err)
		}
		fn(r0, r1, buf[:(r1-r0)*C])
	}
	return nil
}

// FrozenLinear returns x·wᵀ + b: x [N, C], w a frozen tensor with ne =
// [C, R] (any dtype tensor.Dequantize reads), b [R] or nil → [N, R]. The
// weight gets no gradient; x does (dX = dY·W, the weight dequantized again
// tile by tile in the backward). With F32 weights the products are
// Linear's bit for bit; a quantized weight gives the products of its
// dequantized float32 values, as QLoRA computes in its compute dtype.
func (t *Tape) FrozenLinear(x *Var, w *tensor.Tensor, b *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	if w == nil || len(w.Shape) != 2 {
		return t.fail("frozen linear of %q: weight is not a matrix", x.Name)
	}
	N, C, R := x.Rows(), x.Cols(), w.Rows()
	if w.Cols() != C || (b != nil && len(b.Data) != R) {
		return t.fail("frozen linear %q %v times %q ne=%v: shapes do not fit", x.Name, x.Shape, w.Name, w.Shape)
	}
	y := t.out("frozen_linear:"+w.Name, []int{N, R}, x, b)
	err := t.eachFrozenTile(w, func(r0, r1 int, rows []float32) {
		t.pool.Gemm(false, true, N, r1-r0, C, x.Data, C, rows, C, y.Data[r0:], R, false)
	})
	if err != nil {
		return t.fail("%v", err)
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
			// gx += Σ over tiles of gy[:, tile]·W[tile, :], tiles in order.
			err := t.eachFrozenTile(w, func(r0, r1 int, rows []float32) {
				t.pool.Gemm(false, false, N, C, r1-r0, gy[r0:], R, rows, C, gx, C, true)
			})
			if err != nil && t.err == nil {
				t.err = fmt.Errorf("autograd: backward: %w", err)
			}
		}
		if gb := t.grad(b); gb != nil {
			for r := range R {
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

// FrozenEmbedding returns the rows of the frozen table w (ne = [C, V]) for
// tokens: [len(tokens), C], dequantized on lookup. It needs no gradient.
func (t *Tape) FrozenEmbedding(w *tensor.Tensor, tokens []int32) *Var {
	if t.err != nil {
		return t.dead
	}
	if w == nil || len(w.Shape) != 2 {
		return t.fail("frozen embedding: table is not a matrix")
	}
	V, C := w.Rows(), w.Cols()
	if len(tokens) == 0 {
		return t.fail("embedding %q: no tokens", w.Name)
	}
	for i, tok := range tokens {
		if tok < 0 || int(tok) >= V {
			return t.fail("embedding %q: token %d at index %d is outside the vocabulary of %d", w.Name, tok, i, V)
		}
	}
	y := t.out("embedding", []int{len(tokens), C})
	for n, tok := range tokens {
		if err := w.DequantizeRow(int(tok), y.Data[n*C:(n+1)*C]); err != nil {
			return t.fail("embedding %q: %v", w.Name, err)
		}
	}
	return y
}

// AddLoRA adds the adapter path scale·(x⊙mask)·aᵀ·bᵀ to y in place and
// returns y: x [N, C], a [r, C] (PEFT's lora_A), b [R, r] (lora_B), y
// [N, R] the output of the op that multiplied x by the frozen weight, which
// no other op may have read yet. Adding in place keeps no second [N, R]
// output and gradient per adapted matrix, which on the 15M shape was a
// third more activation memory than full fine-tuning's; y's gradient is
// the same for the base op and the adapter, so both backwards read it.
//
// While the tape records, mask is inverted dropout with probability
// dropout (0, or 1/(1-dropout) per element, as torch.nn.Dropout draws it)
// from seed: the same seed gives the same mask, so a checkpointed block
// that reruns draws its forward's mask. x⊙mask is not kept: the backward
// draws it again from x and the seed. Under NoGrad, or with dropout 0,
// mask is all ones.
//
// Gradients, with u = (x⊙mask)·aᵀ [N, r] and g = dL/dy:
//
//	dL/db = scale·gᵀ·u        dL/da = scale·(g·b)ᵀ·(x⊙mask)        dL/dx = scale·(g·b·a)⊙mask
//
// which are the full weight's gradient dL/dW = gᵀ·(x⊙mask) projected
// through the adapter: dL/db = scale·dL/dW·aᵀ, dL/da = scale·bᵀ·dL/dW.
func (t *Tape) AddLoRA(y, x, a, b *Var, scale float32, dropout float64, seed uint64) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C, r, R := x.Rows(), x.Cols(), a.Rows(), b.Rows()
	if a.Cols() != C || b.Cols() != r || y.Rows() != N || y.Cols() != R {
		return t.fail("lora of %q %v with a %q %v, b %q %v into %q %v: shapes do not fit", x.Name, x.Shape, a.Name, a.Shape, b.Name, b.Shape, y.Name, y.Shape)
	}
	if y.param {
		return t.fail("lora into %q: a parameter cannot be added to in place", y.Name)
	}
	if !(dropout >= 0 && dropout < 1) {
		return t.fail("lora of %q: dropout %v is outside [0, 1)", b.Name, dropout)
	}
	drop := dropout > 0 && !t.noGrad
	masked := func() []float32 { // x⊙mask, valid until the next transient use
		if !drop {
			return x.Data
		}
		xd := t.transient(N * C)
		t.dropout(xd, x.Data, dropout, seed)
		return xd
	}
	// us = scale·u, so that y += us·bᵀ is one accumulating GEMM and
	// dL/db = gᵀ·us.
	us := t.scratch(N * r)
	t.pool.Gemm(false, true, N, r, C, masked(), C, a.Data, C, us, r, false)
	kernel.Scale(us, scale)
	t.pool.Gemm(false, true, N, R, r, us, r, b.Data, r, y.Data, R, true)
	if t.noGrad || !(x.requires || a.requires || b.requires) {
		return y
	}
	y.requires = true
	t.record(y, func() {
		gy := y.Grad
		if gy == nil {
			return
		}
		if gb := t.grad(b); gb != nil {
			t.pool.Gemm(true, false, R, r, N, gy, R, us, r, gb, r, true)
		}
		ga, gx := t.grad(a), t.grad(x)
		if ga == nil && gx == nil {
			return
		}
		gu := t.scratch(N * r) // scale·g·b [N, r]
		t.pool.Gemm(false, false, N, r, R, gy, R, b.Data, r, gu, r, false)
		kernel.Scale(gu, scale)
		if ga != nil {
			t.pool.Gemm(true, false, r, C, N, gu, r, masked(), C, ga, C, true)
		}
		if gx != nil {
			if !drop {
				t.pool.Gemm(false, false, N, C, r, gu, r, a.Data, C, gx, C, true)
				return
			}
			gxd := t.transient(N * C)
			t.pool.Gemm(false, false, N, C, r, gu, r, a.Data, C, gxd, C, false)
			t.dropout(gxd, gxd, dropout, seed)
			t.addTo(gx, gxd)
		}
	})
	return y
}

// dropoutChunk is how many elements one generator draws the mask of: the
// mask depends on (seed, chunk), never on how chunks meet workers.
const dropoutChunk = 1 << 14

// dropout writes src⊙mask to dst (which may be src), mask being inverted
// dropout with probability p drawn from seed (see LoRA).
func (t *Tape) dropout(dst, src []float32, p float64, seed uint64) {
	n := len(src)
	keep := float32(1 / (1 - p))
	cut := uint64(p * (1 << 53)) // element dropped when its 53 random bits are below
	chunks := (n + dropoutChunk - 1) / dropoutChunk
	t.pool.For(chunks, 1, func(cs, ce int) {
		for c := cs; c < ce; c++ {
			rng := rand.NewPCG(seed, uint64(c))
			for i := c * dropoutChunk; i < min(n, (c+1)*dropoutChunk); i++ {
				if rng.Uint64()>>11 < cut {
					dst[i] = 0
				} else {
					dst[i] = src[i] * keep
				}
			}
		}
	})
}
