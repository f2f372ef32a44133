// Reference: Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost" (keep each block's input,
// recompute the block in the backward); PyTorch torch.utils.checkpoint; Megatron-LM's per-layer "full"
// activation recomputation.

package autograd

import (
	"fmt"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Memory says how Blocks keeps what the backward needs. The zero value is
// the plain tape: every activation of every block kept in float32.
type Memory struct {
	// Checkpoint keeps only each block's input; the backward reruns the
	// block's forward, then back-propagates through it. The rerun
	// computes what the forward did bit for bit, so the gradients are
	// those of the plain tape exactly, for about one more forward of
	// compute.
	Checkpoint bool
	// Store is how the kept block inputs are held: tensor.F32 (the zero
	// value), tensor.BF16 or tensor.F16. The forward itself stays float32
	// (the loss is unchanged); the reruns start from the rounded inputs,
	// so the gradients move by about the format's rounding. Only with
	// Checkpoint.
	Store tensor.DType
}

// SetMemory sets how later Blocks calls keep activations.
func (t *Tape) SetMemory(m Memory) error {
	switch m.Store {
	case tensor.F32:
	case tensor.F16, tensor.BF16:
		if !m.Checkpoint {
			return fmt.Errorf("autograd: %v activation storage needs checkpointing (it holds the checkpointed block inputs)", m.Store)
		}
	default:
		return fmt.Errorf("autograd: activations cannot be stored as %v (f32, bf16 or f16)", m.Store)
	}
	t.mem = m
	return nil
}

// ActivationBytes is the size of every activation and gradient buffer the
// tape holds: since buffers are kept for the next step, after one step it
// is that step's peak (parameters and their gradients not included).
func (t *Tape) ActivationBytes() int {
	n := 0
	for _, a := range []*arena{&t.main, &t.seg} {
		for _, b := range a.bufs {
			n += 4 * cap(b)
		}
	}
	for _, b := range t.half.bufs {
		n += 2 * cap(b)
	}
	return n
}

// Blocks runs n blocks one after another, x = block(i, x), and returns the
// last x. A block must return a new Var of x's shape, computed by tape ops
// from x and parameters only: with Memory.Checkpoint it is called again in
// the backward, and any other activation it read would be gone by then.
//
// Without checkpointing (or inside another block) it is the plain loop.
// With it, each block runs on a scratch segment of the tape that the next
// block reuses, and Blocks keeps only the inputs x₁…xₙ₋₁ (in Memory.Store;
// none under NoGrad) and the output. Its one recorded op walks the blocks
// backwards: rerun block i from its kept input on the segment, seed the
// output gradient, run the block's backwards (which add into the
// parameters exactly as the plain tape's would, in the same order), and
// leave the input's gradient for block i-1.
func (t *Tape) Blocks(x *Var, n int, block func(i int, x *Var) *Var) *Var {
	if !t.mem.Checkpoint || t.cur != &t.main {
		for i := range n {
			x = block(i, x)
		}
		return x
	}
	if t.err != nil {
		return t.dead
	}
	if n <= 0 {
		return x
	}
	size, half, store := len(x.Data), t.mem.Store != tensor.F32, t.mem.Store
	// ring holds the gradients of x_i in the backward (block i+1 reads
	// ring[(i+1)%2] while block i writes ring[i%2]), and in a float32
	// forward without recording the next block's input.
	ring := [2][]float32{t.scratch(size), t.scratch(size)}
	kept := make([][]float32, n) // f32: kept[i] is x_i, i ≥ 1
	kept16 := make([][]uint16, n)
	requires := make([]bool, n)
	requires[0] = x.requires
	in := x       // block i's input, when it lives outside the segment
	var prev *Var // 16 bits: block i-1's output, still in the segment's buffers
	var out *Var
	for i := range n {
		same := false
		y := t.segment(i, in, func(i int, in *Var) *Var {
			// With 16-bit storage every segment, forward or rerun, starts
			// with a buffer for the block's float32 input (unused by block
			// 0), so that the segment's n-th buffer has one size in all of
			// them and none grows.
			if half {
				lead := t.scratch(size)
				if i > 0 {
					copy(lead, prev.Data)
					in = &Var{Name: fmt.Sprintf("blocks.%d", i), Shape: x.Shape, Data: lead, requires: prev.requires}
				}
			}
			y := block(i, in)
			same = y == in
			return y
		})
		if t.err != nil {
			return t.dead
		}
		if same || !sameShape(y, x) {
			return t.fail("blocks: block %d returned %q %v for an input %v; want a new Var of the input's shape", i, y.Name, y.Shape, x.Shape)
		}
		if i == n-1 {
			out = &Var{Name: "blocks", Shape: x.Shape, Data: t.scratch(size), requires: y.requires}
			copy(out.Data, y.Data)
			break
		}
		requires[i+1] = y.requires
		switch {
		case half:
			if !t.noGrad {
				kept16[i+1] = t.half.take(size)
				t.round(kept16[i+1], y.Data, store)
			}
			prev = y
			continue
		case t.noGrad:
			in = &Var{Data: ring[i%2]}
		default:
			kept[i+1] = t.scratch(size)
			in = &Var{Data: kept[i+1]}
		}
		copy(in.Data, y.Data)
		in.Name, in.Shape, in.requires = fmt.Sprintf("blocks.%d", i+1), x.Shape, y.requires
	}
	t.record(out, func() {
		if out.Grad == nil {
			return
		}
		t.grad(x) // on the tape's own buffers, as it must outlive the segments
		gy := out.Grad
		for i := n - 1; i >= 0 && gy != nil; i-- {
			p := x
			if i > 0 {
				p = &Var{Name: fmt.Sprintf("blocks.%d", i), Shape: x.Shape, Data: kept[i], requires: requires[i]}
				if requires[i] {
					p.Grad = ring[i%2]
					clear(p.Grad) // what a first t.grad would return: block i's backwards add into it
				}
			}
			y := t.segment(i, p, func(i int, p *Var) *Var {
				if half {
					lead := t.scratch(size) // as in the forward
					if i > 0 {
						t.unround(lead, kept16[i], store)
						p.Data = lead
					}
				}
				return block(i, p)
			}, gy)
			if t.err != nil || y.Grad == nil {
				return
			}
			gy = p.Grad
		}
	})
	return out
}

// segment runs block i on the tape's segment buffers, rewound first, with
// its backwards recorded apart. Given a gradient (the backward's rerun), it
// seeds the block's output with it and runs the block's backwards; without
// one (the forward) it drops them. Either way the tape is back on its own
// buffers and op list when it returns; y's data is valid until the next
// segment.
func (t *Tape) segment(i int, x *Var, block func(int, *Var) *Var, grad ...[]float32) (y *Var) {
	ops := t.ops
	t.cur, t.seg.next, t.ops = &t.seg, 0, t.segOps[:0]
	clear(t.seg.free) // the rewound buffers are the segment's again
	t.seg.free = t.seg.free[:0]
	defer func() {
		clear(t.ops) // the closures hold the segment's buffers: let them go
		t.segOps, t.ops, t.cur = t.ops[:0], ops, &t.main
	}()
	y = block(i, x)
	if len(grad) == 0 || t.err != nil || !y.requires {
		return y
	}
	y.Grad = grad[0]
	for j := len(t.ops) - 1; j >= 0; j-- {
		t.ops[j].back()
		t.release(t.ops[j])
	}
	return y
}

// round stores src in 16 bits (round to nearest even); unround reads it back.
func (t *Tape) round(dst []uint16, src []float32, dt tensor.DType) {
	t.elems(len(src), func(s, e int) {
		if dt == tensor.BF16 {
			for j := s; j < e; j++ {
				dst[j] = kernel.FP32ToBF16(src[j])
			}
			return
		}
		for j := s; j < e; j++ {
			dst[j] = kernel.FP32ToFP16(src[j])
		}
	})
}

func (t *Tape) unround(dst []float32, src []uint16, dt tensor.DType) {
	t.elems(len(dst), func(s, e int) {
		if dt == tensor.BF16 {
			for j := s; j < e; j++ {
				dst[j] = kernel.BF16ToFP32(src[j])
			}
			return
		}
		for j := s; j < e; j++ {
			dst[j] = kernel.FP16ToFP32(src[j])
		}
	})
}

// arena16 is arena for the 16-bit kept inputs.
type arena16 struct {
	bufs [][]uint16
	next int
}

func (a *arena16) take(n int) []uint16 {
	if a.next == len(a.bufs) {
		a.bufs = append(a.bufs, nil)
	}
	if cap(a.bufs[a.next]) < n {
		a.bufs[a.next] = make([]uint16, n)
	}
	a.next++
	return a.bufs[a.next-1][:n]
}
