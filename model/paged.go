// Reference: Kwon et al., "Efficient Memory Management for Large Language Model Serving with PagedAttention"
// (SOSP 2023), §4.1–4.4 (KV blocks, block tables, reference counts, copy-on-write), and vLLM
// vllm/v1/core/block_pool.py (a free list of blocks handed out and returned whole).

package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gptgo/gptgo/tensor"
)

// ErrCacheFull is returned when the paged cache has no free block for a
// sequence's next tokens. It is not a failure of the request: a scheduler
// answers it by waiting for blocks or preempting a sequence.
var ErrCacheFull = errors.New("model: paged KV cache: no free block")

// PagedOptions configure a PagedCache.
type PagedOptions struct {
	BlockTokens int  // P: tokens per block; 0 means DefaultBlockTokens
	Blocks      int  // N: blocks in the pool (required, ≥ 1)
	KVF32       bool // F32 keys and values instead of F16
}

// DefaultBlockTokens is vLLM's default block size.
const DefaultBlockTokens = 16

// PagedCache is a pool of fixed-size KV blocks shared by many sequences.
// One block holds P consecutive positions of one sequence, for every layer:
//
//	block b, layer l: K [P][K·D]   row t = the keys of the block's position t (all KV heads)
//	                  V [K·D][P]   row j = element j of the values of the block's P positions
//
// the contiguous State's layout cut into P-position pieces (V transposed, as
// llama.cpp keeps it without flash attention), so attention reads K and V
// in place through a sequence's block table and sums in the State's order.
// A block takes 2·L·P·K·D·(2 or 4) bytes: KV bytes per token are exactly
// the contiguous cache's, 2·L·K·D·(2 or 4).
//
// Blocks are reference-counted: a sequence forked from another (a shared
// prompt) shares its blocks, and the first write to a shared block copies it
// (copy-on-write). A block whose count drops to zero is free at once.
//
// A PagedCache is not safe for concurrent use: one scheduler loop owns it
// and the sequences drawn from it.
type PagedCache struct {
	m          *Model
	P          int          // tokens per block
	kvType     tensor.DType // F16 or F32
	es         int          // bytes per element
	layerBytes int          // bytes of one layer in a block: K then V
	blockBytes int          // bytes of one block: L layers
	data       []byte       // [N][L][K|V] every block, blockBytes apart
	refs       []int32      // [N] sequences holding each block; 0 = free
	free       []int32      // stack of free block ids
	prefix     *prefixCache // full blocks by content, and the cached blocks nobody holds (paged_prefix.go)
}

// NewPagedCache allocates a pool of o.Blocks blocks for m's layers and heads.
func (m *Model) NewPagedCache(o PagedOptions) (*PagedCache, error) {
	P := o.BlockTokens
	if P == 0 {
		P = DefaultBlockTokens
	}
	if P < 1 || P > 4096 {
		return nil, fmt.Errorf("model: paged KV cache: block size %d tokens is outside 1…4096", P)
	}
	if o.Blocks < 1 {
		return nil, fmt.Errorf("model: paged KV cache: %d blocks (need at least 1)", o.Blocks)
	}
	kvType, es := tensor.F16, 2
	if o.KVF32 {
		kvType, es = tensor.F32, 4
	}
	kvd := m.KVDim()
	c := &PagedCache{m: m, P: P, kvType: kvType, es: es, layerBytes: 2 * P * kvd * es}
	c.blockBytes = m.Layers * c.layerBytes
	if int64(c.blockBytes)*int64(o.Blocks) > 1<<40 {
		return nil, fmt.Errorf("model: paged KV cache: %d blocks of %d bytes is too large", o.Blocks, c.blockBytes)
	}
	c.data = make([]byte, c.blockBytes*o.Blocks)
	c.refs = make([]int32, o.Blocks)
	c.free = make([]int32, o.Blocks)
	c.prefix = newPrefixCache(o.Blocks)
	for i := range c.free { // popped from the end: block 0 first
		c.free[i] = int32(o.Blocks - 1 - i)
	}
	return c, nil
}

// BlockBytes is the size of one block (every layer's K and V).
func (c *PagedCache) BlockBytes() int { return c.blockBytes }

// Blocks is the number of blocks in the pool.
func (c *PagedCache) Blocks() int { return len(c.refs) }

// FreeBlocks is the number of blocks no sequence holds (cached prefixes
// included: they are evicted when needed).
func (c *PagedCache) FreeBlocks() int { return len(c.free) + c.prefix.lru.Len() }

// KVBytes is the size of the pool.
func (c *PagedCache) KVBytes() int64 { return int64(len(c.data)) }

// BlocksFor is the number of blocks n positions take.
func (c *PagedCache) BlocksFor(n int) int { return (n + c.P - 1) / c.P }

// alloc takes a free block with a reference count of 1: a never-cached
// one first, else the least recently used cached prefix block.
func (c *PagedCache) alloc() (int32, bool) {
	var b int32
	if n := len(c.free); n > 0 {
		b = c.free[n-1]
		c.free = c.free[:n-1]
	} else if e, ok := c.prefix.evict(); ok {
		b = e
	} else {
		return 0, false
	}
	c.refs[b] = 1
	return b, true
}

// release drops one reference to b and frees it at zero.
func (c *PagedCache) release(b int32) {
	if c.refs[b] <= 0 {
		panic(fmt.Sprintf("model: paged KV cache: block %d released with %d references", b, c.refs[b]))
	}
	c.refs[b]--
	switch {
	case c.refs[b] > 0:
	case c.prefix.hash[b] != 0: // keeps a cached prefix until evicted
		c.prefix.lruAt[b] = c.prefix.lru.PushBack(b)
	default:
		c.free = append(c.free, b)
	}
}

// block returns the bytes of block b.
func (c *PagedCache) block(b int32) []byte {
	o := int(b) * c.blockBytes
	return c.data[o : o+c.blockBytes : o+c.blockBytes]
}

// kv returns the K and V regions of layer li in block b.
func (c *PagedCache) kv(b int32, li int) (k, v []byte) {
	o := int(b)*c.blockBytes + li*c.layerBytes
	h := c.layerBytes / 2
	return c.data[o : o+h : o+h], c.data[o+h : o+2*h : o+2*h]
}

// PagedSeq is one sequence's view of a PagedCache: its block table and the
// number of positions filled. Position p lives in block Table[p/P] at row
// p%P.
type PagedSeq struct {
	c      *PagedCache
	blocks []int32  // block table: the blocks holding positions 0…, in order
	pos    int      // positions filled
	toks   []int32  // [pos] the token at each position (prefix keys)
	hashes []uint64 // [pos/P] the prefix key of each full block
}

// NewSeq starts an empty sequence; it holds no block until Reserve.
func (c *PagedCache) NewSeq() *PagedSeq { return &PagedSeq{c: c} }

// Cache is the pool the sequence draws from.
func (s *PagedSeq) Cache() *PagedCache { return s.c }

// Pos is the number of positions filled: the next token goes to Pos.
func (s *PagedSeq) Pos() int { return s.pos }

// Table returns the block table (the slice is the sequence's own: read only).
func (s *PagedSeq) Table() []int32 { return s.blocks }

// Reserve makes room for n more positions: it allocates the blocks they
// need and copies a shared last block that the first of them would write
// into (copy-on-write). On ErrCacheFull nothing changes. Reserving more than
// a step writes is allowed; Free returns everything.
func (s *PagedSeq) Reserve(n int) error {
	if n < 0 {
		return fmt.Errorf("model: paged KV cache: reserve %d positions", n)
	}
	c := s.c
	need := c.BlocksFor(s.pos+n) - len(s.blocks)
	cow := s.pos%c.P != 0 && n > 0 && c.refs[s.blocks[s.pos/c.P]] > 1
	want := max(need, 0)
	if cow {
		want++
	}
	if want > c.FreeBlocks() {
		return ErrCacheFull
	}
	if cow {
		i := s.pos / c.P
		old := s.blocks[i]
		nb, _ := c.alloc()
		copy(c.block(nb), c.block(old))
		c.release(old)
		s.blocks[i] = nb
	}
	for range need {
		b, _ := c.alloc()
		s.blocks = append(s.blocks, b)
	}
	return nil
}

// advance records tokens as written at the next positions (after a forward
// pass filled them), indexing the blocks they complete.
func (s *PagedSeq) advance(tokens []int32) {
	s.pos += len(tokens)
	s.record(tokens)
}

// Truncate forgets every position from n on, returning the blocks no
// longer needed.
func (s *PagedSeq) Truncate(n int) error {
	if n < 0 || n > s.pos {
		return fmt.Errorf("model: paged KV cache: cannot truncate to %d positions (the sequence holds %d)", n, s.pos)
	}
	keep := s.c.BlocksFor(n)
	for _, b := range s.blocks[keep:] {
		s.c.release(b)
	}
	s.blocks = s.blocks[:keep]
	if n%s.c.P != 0 && s.c.refs[s.blocks[keep-1]] == 1 {
		s.c.prefix.unindex(s.blocks[keep-1]) // its tail is rewritten next: no longer the prefix its key names
	}
	s.pos = n
	s.toks = s.toks[:n]
	s.hashes = s.hashes[:n/s.c.P]
	return nil
}

// Free returns every block of the sequence to the pool at once (finish,
// cancel, disconnect, preemption). The sequence is then empty and may be
// reused. Free twice is harmless.
func (s *PagedSeq) Free() {
	for _, b := range s.blocks {
		s.c.release(b)
	}
	s.blocks = s.blocks[:0]
	s.pos = 0
	s.toks, s.hashes = s.toks[:0], s.hashes[:0]
}

// Fork returns a new sequence sharing every block of s (each one's count
// goes up); whichever then writes into the shared last block first copies
// it. The prompt of several samples of one request is computed once.
func (s *PagedSeq) Fork() *PagedSeq {
	used := s.blocks[:s.c.BlocksFor(s.pos)] // blocks reserved beyond pos stay s's own
	f := &PagedSeq{c: s.c, blocks: append([]int32(nil), used...), pos: s.pos, toks: slices.Clone(s.toks), hashes: slices.Clone(s.hashes)}
	for _, b := range f.blocks {
		s.c.refs[b]++
	}
	return f
}
