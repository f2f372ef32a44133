// Reference: llm.c train_gpt2.c (gpt2_forward / gpt2_backward: buffers allocated once, backward in reverse
// layer order, gradients accumulated with +=); PyTorch autograd's tape semantics.

package autograd

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Var is a value in the graph: float32 data with a shape, and its gradient.
type Var struct {
	Name  string
	Shape []int     // outer axis first; product = len(Data)
	Data  []float32 // the value; a parameter's slice is never replaced (a Linear keeps a view of it), only written
	// Grad has Data's length. A parameter's is allocated by NewParam and
	// kept (the optimizer zeroes it; NewAdamW moves it into its state
	// block); an activation's is lent by the tape when a backward first
	// writes it, nil if none does, and nil again once the backward of the
	// op that made the activation has run (the buffer serves later
	// gradients: read an activation's gradient from inside a backward,
	// not after Backward returns).
	Grad []float32
	// NoDecay exempts a parameter from AdamW's weight decay. NewParam sets
	// it for 1-D parameters (norm weights, biases) and embedding tables.
	NoDecay bool

	param    bool // a trainable leaf: its Grad is never reset by the tape
	requires bool // a parameter, or computed from one: needs a gradient
	recorded bool // an op that returned it has recorded a backward
	// gradFrom is the arena that lent Grad (Tape.grad): the tape takes the
	// buffer back once nothing can read it any more (Tape.release).
	gradFrom *arena
}

// NewParam makes a trainable parameter that owns data (not copied).
func NewParam(name string, data []float32, shape ...int) (*Var, error) {
	if n := numel(shape); n != len(data) || n == 0 {
		return nil, fmt.Errorf("autograd: parameter %q: shape %v needs %d values, have %d", name, shape, n, len(data))
	}
	return &Var{
		Name: name, Shape: append([]int(nil), shape...), Data: data, Grad: make([]float32, len(data)),
		NoDecay: len(shape) < 2 || strings.Contains(name, "_embd"), // token_embd, position_embd
		param:   true, requires: true,
	}, nil
}

// ParamFromTensor makes a parameter that shares the values of an F32
// tensor (a model's weight, made by tensor.FromFloat32 or read from a
// GGUF file into writable memory): a matrix with ne = [C, R] becomes a
// [R, C] Var, a vector [n] a [n] Var. Other dtypes must be dequantized
// first: training needs float32 master weights.
func ParamFromTensor(t *tensor.Tensor) (*Var, error) {
	if t.DType != tensor.F32 {
		return nil, fmt.Errorf("autograd: parameter %q: %v weights must be dequantized to F32 to train", t.Name, t.DType)
	}
	if len(t.Data)%4 != 0 || len(t.Data) == 0 || uintptr(unsafe.Pointer(&t.Data[0]))%4 != 0 {
		return nil, fmt.Errorf("autograd: parameter %q: data is not an aligned float32 array", t.Name)
	}
	shape := []int{t.Cols()}
	if len(t.Shape) > 1 {
		shape = []int{t.Rows(), t.Cols()}
	}
	return NewParam(t.Name, kernel.BytesF32(t.Data), shape...)
}

// Const wraps data that needs no gradient (inputs, masks).
func Const(name string, data []float32, shape ...int) (*Var, error) {
	if n := numel(shape); n != len(data) || n == 0 {
		return nil, fmt.Errorf("autograd: %q: shape %v needs %d values, have %d", name, shape, n, len(data))
	}
	return &Var{Name: name, Shape: append([]int(nil), shape...), Data: data}, nil
}

// Rows is the product of all axes but the last; Cols is the last axis.
func (v *Var) Rows() int { return len(v.Data) / v.Cols() }

// Cols is the length of the last axis.
func (v *Var) Cols() int { return v.Shape[len(v.Shape)-1] }

// Param reports whether v is a trainable parameter.
func (v *Var) Param() bool { return v.param }

// ZeroGrad clears v's gradient.
func (v *Var) ZeroGrad() { clear(v.Grad) }

func numel(shape []int) int {
	if len(shape) == 0 {
		return 0
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Tape records ops and runs their backwards in reverse. One Tape belongs
// to one goroutine (it drives its Pool); the Pool splits the big ops' rows
// across workers, and every result is independent of the worker count.
type Tape struct {
	pool   *tensor.Pool
	noGrad bool
	ops    []op // each recorded op, in forward order
	done   bool // Backward ran since the last Reset
	err    error
	dead   *Var // returned by ops after an error

	// Activation buffers, reused in the same order every step: the n-th
	// allocation of a step gets the n-th buffer of the previous step. cur
	// is main, except while Blocks runs a checkpointed block, whose
	// buffers come from seg, rewound for every block (checkpoint.go).
	main, seg arena
	cur       *arena
	mem       Memory  // how Blocks keeps activations (SetMemory)
	half      arena16 // block inputs kept in 16 bits (Memory.Store)
	segOps    []op    // the ops of the block being run or rerun

	// tmp is a buffer that lives only while one op's forward or backward
	// runs, reused by all of them: FrozenLinear's tiles of dequantized
	// weight rows, AddLoRA's dropped-out input (frozen.go).
	tmp []float32

	hook ParamHook // SetParamHook
}

// ParamHook watches a backward: Touch is called each time an op's
// backward asks for a parameter's gradient buffer (every write to a
// parameter's gradient goes through that request), OpDone after each
// recorded op's backward, with its position in the backward (0 first).
// Data-parallel training learns from it when a parameter's gradient is
// complete, so that it can start summing it across ranks while the
// backward goes on (train/dataparallel_buckets.go).
type ParamHook interface {
	Touch(p *Var)
	OpDone(i int)
}

// SetParamHook makes h watch the backwards from now on (nil: none).
func (t *Tape) SetParamHook(h ParamHook) { t.hook = h }

// Ops is the number of backwards recorded since the last Reset.
func (t *Tape) Ops() int { return len(t.ops) }

// arena is a stack of reusable buffers (see Tape.take), carved from slabs
// (slab.go) the first time each is asked for.
type arena struct {
	bufs  [][]float32
	next  int
	slabs slabs
	free  [][]float32 // gradients released during this backward, for later ones (Tape.gradBuf)
}

// op is a recorded op: its backward, and its result y, whose gradient is
// complete before back runs (every op that read y came later in the
// forward, so its backward ran earlier) and dead after it, if this is the
// op that made y: an op that adds into an existing Var in place (AddLoRA)
// records y a second time, and that backward runs first.
type op struct {
	y    *Var
	back func()
	made bool // the first op to record y: y's gradient is released after back
}

// NewTape returns a tape whose big ops run on pool.
func NewTape(pool *tensor.Pool) *Tape {
	t := &Tape{pool: pool, dead: &Var{Name: "after error", Shape: []int{1}, Data: make([]float32, 1)}}
	t.cur = &t.main
	return t
}

// NoGrad switches recording off (evaluation) or on. Without recording the
// ops only compute values.
func (t *Tape) NoGrad(off bool) { t.noGrad = off }

// Reset forgets the recorded ops and the error, and rewinds the buffers:
// every Var an op returned before is invalid after Reset. Parameters and
// their gradients are untouched.
func (t *Tape) Reset() {
	clear(t.ops)
	t.ops = t.ops[:0]
	t.err = nil
	t.done = false
	t.main.next, t.seg.next, t.half.next = 0, 0, 0
	clear(t.main.free)
	clear(t.seg.free)
	t.main.free, t.seg.free = t.main.free[:0], t.seg.free[:0]
	t.cur = &t.main
}

// Err returns the first error of the ops since the last Reset.
func (t *Tape) Err() error { return t.err }

// Pool returns the tape's worker pool.
func (t *Tape) Pool() *tensor.Pool { return t.pool }

// alloc returns a zeroed buffer of n floats that stays valid until Reset:
// for gradients, which are accumulated into.
func (t *Tape) alloc(n int) []float32 {
	b, fresh := t.take(n)
	if !fresh {
		t.zero(b)
	}
	return b
}

// zero clears b across the pool: a reused gradient buffer is cleared on
// every step, and on the caller alone that was about 9 ms of each 0.9M
// step (BenchmarkTrainStep) with the other worker idle.
func (t *Tape) zero(b []float32) { t.elems(len(b), func(s, e int) { clear(b[s:e]) }) }

// scratch is alloc for a buffer the caller overwrites entirely (op
// outputs): clearing it would be a wasted pass over memory.
func (t *Tape) scratch(n int) []float32 {
	b, _ := t.take(n)
	return b
}

// take returns the step's next buffer, resized to n; fresh reports a new
// allocation (already zero: clearing it again would only fault its pages in).
// A buffer asked for the first time is carved from the arena's slabs; one
// that must grow later (a batch of another shape) gets a heap slice, so
// that the one it outgrew, stranded in its slab, is wasted only once.
func (t *Tape) take(n int) (b []float32, fresh bool) {
	a := t.cur
	if a.next == len(a.bufs) {
		a.bufs = append(a.bufs, nil)
	}
	b = a.bufs[a.next]
	if cap(b) < n {
		if b == nil {
			b = a.slabs.carve(t.pool, n)
		} else {
			b = make([]float32, n)
		}
		a.bufs[a.next] = b
		fresh = true
	}
	a.next++
	return b[:n], fresh
}

// elemChunk is how many elements of an elementwise op a worker takes at a
// time: the ops are memory-bound passes, and 16 Ki floats (64 KiB) keep a
// chunk's inputs and output in L2.
const elemChunk = 1 << 14

// elems runs fn over [0, n) in chunks across the pool, for elementwise
// work, whose result does not depend on the split.
func (t *Tape) elems(n int, fn func(s, e int)) { t.pool.For(n, elemChunk, fn) }

// addTo is kernel.AddTo across the pool.
func (t *Tape) addTo(dst, src []float32) {
	t.elems(len(src), func(s, e int) { kernel.AddTo(dst[s:e], src[s:e]) })
}

// fail records the first error and returns the placeholder.
func (t *Tape) fail(format string, a ...any) *Var {
	if t.err == nil {
		t.err = fmt.Errorf("autograd: "+format, a...)
	}
	return t.dead
}

// out makes an op's result from its inputs, allocating its data.
func (t *Tape) out(name string, shape []int, in ...*Var) *Var {
	v := &Var{Name: name, Shape: shape, Data: t.scratch(numel(shape))} // every op writes all of it
	if !t.noGrad {
		for _, x := range in {
			v.requires = v.requires || (x != nil && x.requires)
		}
	}
	return v
}

// record appends an op's backward when its result needs a gradient.
func (t *Tape) record(y *Var, backward func()) {
	if !t.noGrad && y.requires {
		t.ops = append(t.ops, op{y: y, back: backward, made: !y.recorded})
		y.recorded = true
	}
}

// grad returns x's gradient buffer, allocating it on first use; nil when x
// needs no gradient (so backwards skip work for constants).
func (t *Tape) grad(x *Var) []float32 {
	if x == nil || !x.requires {
		return nil
	}
	if x.param && t.hook != nil {
		t.hook.Touch(x)
	}
	if x.Grad == nil {
		x.Grad, x.gradFrom = t.gradBuf(len(x.Data)), t.cur
	}
	return x.Grad
}

// gradBuf returns a zeroed buffer of n floats for an activation's
// gradient: the smallest one released earlier in this backward that
// holds n (the first of equals), else the step's next buffer. Activation
// gradients live only from their first writer's backward to their
// maker's, so a step's backward needs a few layers' worth of them, not
// one per activation: on the 0.9M shape (BenchmarkTrainStep) that took
// the backward's new pages from 47k to 8k and the step's buffers from
// about 430 MB to 290 MB, memory the first step no longer maps and every
// step no longer streams through the caches. The choice depends only on
// the order of the ops, so every step (and every rerun) reuses the same
// buffers.
func (t *Tape) gradBuf(n int) []float32 {
	a := t.cur
	best := -1
	for i, b := range a.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(a.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return t.alloc(n)
	}
	b := a.free[best][:n]
	a.free = slices.Delete(a.free, best, best+1)
	t.zero(b)
	return b
}

// release gives back y's gradient once the op that made y has run its
// backward: nothing reads it after that. Only buffers the tape lent are
// taken back; a parameter's, or one a caller or Blocks put there, stay.
// y.Grad is set to nil, so a stale read fails loudly instead of seeing
// another activation's gradient.
func (t *Tape) release(o op) {
	y := o.y
	if !o.made || y.gradFrom == nil || y.Grad == nil {
		return
	}
	y.gradFrom.free = append(y.gradFrom.free, y.Grad)
	y.Grad, y.gradFrom = nil, nil
}

// Backward seeds the gradient of the scalar loss with seed (1 for a plain
// step, 1/k for one of k accumulated micro-batches) and runs the recorded
// backwards in reverse. Parameter gradients are added to, not replaced.
// It runs once per recording: a second call before Reset is an error (it
// would add every gradient twice).
func (t *Tape) Backward(loss *Var, seed float32) error {
	if t.err != nil {
		return t.err
	}
	if t.done {
		return fmt.Errorf("autograd: backward from %q: already ran since the last Reset", loss.Name)
	}
	if len(loss.Data) != 1 {
		return fmt.Errorf("autograd: backward from %q: loss has %d values, want a scalar", loss.Name, len(loss.Data))
	}
	if t.noGrad {
		return fmt.Errorf("autograd: backward from %q: the tape was not recording (NoGrad)", loss.Name)
	}
	if !loss.requires {
		return fmt.Errorf("autograd: backward from %q: the loss depends on no parameter", loss.Name)
	}
	t.done = true
	g := t.grad(loss)
	g[0] += seed
	for i := len(t.ops) - 1; i >= 0; i-- {
		t.ops[i].back()
		t.release(t.ops[i])
		if t.hook != nil {
			t.hook.OpDone(len(t.ops) - 1 - i)
		}
	}
	return t.err // a checkpointed block's rerun can fail only as its forward did
}

// sameShape reports whether a and b hold the same number of rows and columns.
func sameShape(a, b *Var) bool { return len(a.Data) == len(b.Data) && a.Cols() == b.Cols() }

// Add returns a + b (the residual connection).
func (t *Tape) Add(a, b *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	if !sameShape(a, b) {
		return t.fail("add %q %v + %q %v: shapes differ", a.Name, a.Shape, b.Name, b.Shape)
	}
	y := t.out("add", a.Shape, a, b)
	t.elems(len(y.Data), func(s, e int) { kernel.Add(y.Data[s:e], a.Data[s:e], b.Data[s:e]) })
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		if ga := t.grad(a); ga != nil {
			t.addTo(ga, y.Grad)
		}
		if gb := t.grad(b); gb != nil {
			t.addTo(gb, y.Grad)
		}
	})
	return y
}

// Embedding returns the rows of table [V, C] for tokens: [len(tokens), C].
func (t *Tape) Embedding(table *Var, tokens []int32) *Var {
	if t.err != nil {
		return t.dead
	}
	V, C := table.Rows(), table.Cols()
	if len(tokens) == 0 {
		return t.fail("embedding %q: no tokens", table.Name)
	}
	for i, tok := range tokens {
		if tok < 0 || int(tok) >= V {
			return t.fail("embedding %q: token %d at index %d is outside the vocabulary of %d", table.Name, tok, i, V)
		}
	}
	y := t.out("embedding", []int{len(tokens), C}, table)
	for n, tok := range tokens {
		copy(y.Data[n*C:(n+1)*C], table.Data[int(tok)*C:])
	}
	t.record(y, func() {
		if y.Grad != nil {
			kernel.EmbeddingBackward(t.grad(table), y.Grad, tokens, C)
		}
	})
	return y
}

// AddPositions returns x [B·T, C] plus the learned position vectors
// pos [≥T, C]: row n gets pos[n mod T] (GPT-2's wpe).
func (t *Tape) AddPositions(x, pos *Var, T int) *Var {
	if t.err != nil {
		return t.dead
	}
	C := x.Cols()
	if T <= 0 || x.Rows()%T != 0 || pos.Cols() != C || pos.Rows() < T {
		return t.fail("positions %q %v onto %q %v with T=%d: shapes do not fit", pos.Name, pos.Shape, x.Name, x.Shape, T)
	}
	y := t.out("add_positions", x.Shape, x, pos)
	for n := range x.Rows() {
		p := n % T
		kernel.Add(y.Data[n*C:(n+1)*C], x.Data[n*C:(n+1)*C], pos.Data[p*C:(p+1)*C])
	}
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		if gx := t.grad(x); gx != nil {
			t.addTo(gx, y.Grad)
		}
		if gp := t.grad(pos); gp != nil {
			for n := range x.Rows() {
				p := n % T
				kernel.AddTo(gp[p*C:(p+1)*C], y.Grad[n*C:(n+1)*C])
			}
		}
	})
	return y
}

// CrossEntropy returns the mean softmax cross-entropy of logits [N, V]
// against targets [N], over the targets that are not ignore (a scalar
// [1]). At least one target must count. The gradient is computed with the
// loss (the kernel yields both) and scaled by the seed in Backward.
func (t *Tape) CrossEntropy(logits *Var, targets []int32, ignore int32) *Var {
	if t.err != nil {
		return t.dead
	}
	N, V := logits.Rows(), logits.Cols()
	if len(targets) != N {
		return t.fail("cross-entropy: %d targets for %d rows of logits", len(targets), N)
	}
	count := 0
	for i, tg := range targets {
		if tg == ignore {
			continue
		}
		if tg < 0 || int(tg) >= V {
			return t.fail("cross-entropy: target %d at index %d is outside the vocabulary of %d", tg, i, V)
		}
		count++
	}
	if count == 0 {
		return t.fail("cross-entropy: all %d targets are ignored", N)
	}
	y := t.out("cross_entropy", []int{1}, logits)
	from := t.cur // the arena that lends d, handed to the logits as their gradient below
	var d []float32
	if y.requires {
		d = t.scratch(N * V) // the kernel writes every row
	} else {
		d = make([]float32, V) // evaluation: one row's scratch is enough
	}
	var sum float64
	if y.requires {
		// Rows in parallel, each row's loss kept apart and the losses
		// summed in row order: the serial sum, whatever the worker count.
		rows := make([]float64, N)
		scale := 1 / float32(count)
		t.pool.For(N, 1, func(s, e int) {
			for n := s; n < e; n++ {
				rows[n], _ = kernel.CrossEntropy(d[n*V:(n+1)*V], logits.Data[n*V:(n+1)*V], targets[n:n+1], V, ignore, scale)
			}
		})
		for _, r := range rows {
			sum += r
		}
	} else {
		for n := range N {
			s, _ := kernel.CrossEntropy(d, logits.Data[n*V:(n+1)*V], targets[n:n+1], V, ignore, 1)
			sum += s
		}
	}
	y.Data[0] = float32(sum / float64(count))
	t.record(y, func() {
		if y.Grad == nil || !logits.requires {
			return
		}
		s := y.Grad[0]
		if logits.Grad == nil && !logits.param {
			// Nothing has added to the logits' gradient yet, so it is d
			// scaled: scale d in place and hand it over instead of adding
			// it to zeros (s·v + 0 is s·v exactly), a pass over N·V saved.
			if s != 1 {
				t.elems(len(d), func(a, b int) { kernel.Scale(d[a:b], s) })
			}
			logits.Grad, logits.gradFrom = d, from
			return
		}
		gl := t.grad(logits)
		t.elems(len(d), func(a, b int) { kernel.Axpy(s, d[a:b], gl[a:b]) })
	})
	return y
}
