// Reference: llama2.c (RunState: every buffer allocated once) and llama.cpp src/llama-kv-cache.h
// (K cache rows per position; V cache transposed when flash attention is off; F16 by default).

package model

import (
	"fmt"

	"github.com/gptgo/gptgo/tensor"
)

// Options configure a State.
type Options struct {
	Ctx     int          // T: KV slots (context length); 0 means min(CtxTrain, DefaultCtx)
	Batch   int          // B: most tokens pushed through the layers at once; 0 means DefaultBatch
	KVF32   bool         // keep the KV cache in F32 instead of F16 (llama.cpp's default, and this one's)
	Pool    *tensor.Pool // workers to use (one running State per Pool: MatMul reuses its scratch); nil makes a pool of Threads workers that Close stops
	Threads int          // workers for the pool the state makes; 0 means all cores
	// BeyondTrain allows Ctx above CtxTrain when positions are rotary (as
	// llama.cpp's -c above n_ctx_train): RoPE is defined at any position,
	// though quality past the trained length is the model's; learned
	// position vectors (GPT-2) end at CtxTrain and still refuse it.
	BeyondTrain bool

	paged bool // no contiguous KV cache: the state of a BatchRunner (batch.go), keys and values in a PagedCache
}

// Defaults for Options.
const (
	DefaultCtx   = 4096 // llama.cpp's default n_ctx
	DefaultBatch = 512  // llama.cpp's default micro-batch
	logitRows    = 16   // rows per output-head matmul; bounds the logits buffer to 16·V floats
)

// State is one conversation's mutable memory: the KV cache and every
// activation buffer, allocated once by NewState and reused by each Forward.
// A State is not safe for concurrent use; run one per goroutine.
type State struct {
	m              *Model
	pool           *tensor.Pool
	ownPool        bool
	ctx, batch     int
	kvType         tensor.DType
	kvSize         int // bytes per cached element (2 for F16, 4 for F32)
	pos            int // positions filled in the cache
	ubatch         int // tokens in the batch being computed (picks llama.cpp's F32 dot order)
	kCache, vCache [][]byte
	x, xb          []float32   // [C, B] residual stream and its normalised copy
	q, k, v        []float32   // [H·D, B], [K·D, B], [K·D, B] projections
	qkv            []float32   // [H·D+2·K·D, B] fused projection (FusedQKV only)
	att            []float32   // [H·D, B] attention output before attn_output
	proj           []float32   // [C, B] output of attn_output and ffn_down
	gate, up       []float32   // [F, B] feed-forward hidden
	rope           []float32   // [RopeDims, B] (cos, sin) pairs for each row's position
	logits         []float32   // [V, logitRows]
	xr             []float32   // [max(C, F, H·D), B] activations rounded for F16/BF16 weights (nil without them)
	vh             []byte      // one token's V as halves, before storeKV scatters them (F16 cache)
	scores, qh     [][]float32 // per worker: [T] attention weights and [D] query head

	mm func(w *tensor.Tensor, x []float32, nb int, out []float32) error // tests only: replaces Pool.MatMul

	paged *pagedRun // the step's rows in their sequences' block tables (batch.go); nil: the contiguous cache above
}

// NewState allocates a State for m. The KV cache takes
// 2·L·T·K·D·(2 or 4) bytes; the activations about B·(5C + 2F + H·D) floats.
func (m *Model) NewState(o Options) (*State, error) {
	c := m.Config
	ctx := o.Ctx
	if ctx == 0 {
		ctx = min(c.CtxTrain, DefaultCtx)
	}
	if ctx < 1 || ctx > c.CtxTrain && (!o.BeyondTrain || c.LearnedPos) {
		return nil, fmt.Errorf("model: context length %d is outside 1…%d (the model's training context)", ctx, c.CtxTrain)
	}
	batch := o.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	if batch < 1 {
		return nil, fmt.Errorf("model: batch size %d", batch)
	}
	batch = min(batch, ctx)
	kvType, kvSize := tensor.F16, 2
	if o.KVF32 {
		kvType, kvSize = tensor.F32, 4
	}
	s := &State{m: m, pool: o.Pool, ctx: ctx, batch: batch, kvType: kvType, kvSize: kvSize}
	if s.pool == nil {
		s.pool, s.ownPool = tensor.NewPool(o.Threads), true
	}
	kvd := c.KVDim()
	if kvSize == 2 {
		s.vh = make([]byte, 2*kvd)
	}
	s.kCache = make([][]byte, c.Layers)
	s.vCache = make([][]byte, c.Layers)
	for i := range s.kCache {
		if o.paged {
			break // a BatchRunner's keys and values live in a PagedCache
		}
		s.kCache[i] = make([]byte, ctx*kvd*kvSize)
		s.vCache[i] = make([]byte, ctx*kvd*kvSize)
	}
	B := batch
	s.x = make([]float32, B*c.Embd)
	s.xb = make([]float32, B*c.Embd)
	s.q = make([]float32, B*c.QDim())
	s.k = make([]float32, B*kvd)
	s.v = make([]float32, B*kvd)
	if c.FusedQKV {
		s.qkv = make([]float32, B*(c.QDim()+2*kvd))
	}
	s.att = make([]float32, B*c.QDim())
	s.proj = make([]float32, B*c.Embd)
	s.up = make([]float32, B*c.FF)
	if c.FFN == FFNSwiGLU {
		s.gate = make([]float32, B*c.FF)
	}
	if c.Rope != RopeNone {
		s.rope = make([]float32, B*c.RopeDims)
	}
	s.logits = make([]float32, min(B, logitRows)*c.Vocab)
	if m.hasHalfWeights() {
		s.xr = make([]float32, B*max(c.Embd, c.FF, c.QDim()))
	}
	W := s.pool.Workers()
	s.scores = make([][]float32, W)
	s.qh = make([][]float32, W)
	for w := range W {
		s.scores[w] = make([]float32, ctx)
		s.qh[w] = make([]float32, c.HeadDim)
	}
	return s, nil
}

// Close stops the state's own worker pool, if it made one.
func (s *State) Close() {
	if s.ownPool {
		s.pool.Close()
		s.ownPool = false
	}
}

// Model returns the model the state runs.
func (s *State) Model() *Model { return s.m }

// Pos is the number of positions filled in the KV cache: the next token
// goes to position Pos.
func (s *State) Pos() int { return s.pos }

// Ctx is the number of KV slots: Pos never exceeds it.
func (s *State) Ctx() int { return s.ctx }

// Batch is the most tokens one pass through the layers takes.
func (s *State) Batch() int { return s.batch }

// Reset empties the KV cache (a new conversation).
func (s *State) Reset() { s.pos = 0 }

// Truncate forgets every position from n on, keeping the first n (to reuse
// a shared prompt prefix).
func (s *State) Truncate(n int) error {
	if n < 0 || n > s.pos {
		return fmt.Errorf("model: cannot truncate the KV cache to %d positions (it holds %d)", n, s.pos)
	}
	s.pos = n
	return nil
}

// KVBytes is the size of the KV cache.
func (s *State) KVBytes() int64 {
	return 2 * int64(len(s.kCache)) * int64(len(s.kCache[0]))
}

// BufferBytes is the size of the activation buffers (everything but the cache).
func (s *State) BufferBytes() int64 {
	n := len(s.x) + len(s.xb) + len(s.q) + len(s.k) + len(s.v) + len(s.qkv) + len(s.att) +
		len(s.proj) + len(s.gate) + len(s.up) + len(s.rope) + len(s.logits) + len(s.xr)
	for w := range s.scores {
		n += len(s.scores[w]) + len(s.qh[w])
	}
	return 4*int64(n) + int64(len(s.vh))
}
