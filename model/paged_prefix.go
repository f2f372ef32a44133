// Reference: vLLM docs "Automatic Prefix Caching" and vllm/v1/core/block_pool.py (a full block is keyed by
// the hash of its tokens chained with its parent's; freed cached blocks join an LRU list and are evicted
// only when a block is needed).

package model

import (
	"container/list"
	"encoding/binary"
	"hash/maphash"
	"slices"
)

// prefixCache indexes the full blocks of a PagedCache by their content: the
// hash of a block's P tokens chained with the hash of the block before it,
// so that a key names the whole prefix up to the block's end. A block whose
// last holder lets go keeps its keys and values in an LRU list instead of
// the free list; a new sequence whose prompt starts with the same tokens
// takes it back (MatchPrefix). Allocation takes free blocks first, then
// evicts the least recently used cached one.
type prefixCache struct {
	seed   maphash.Seed
	index  map[uint64]int32        // prefix hash → block
	hash   []uint64                // [N] each block's key; 0: not indexed
	toks   [][]int32               // [N] an indexed block's tokens (checked on a hit: no collision can alias)
	lru    *list.List              // indexed blocks nobody holds, least recently used first
	lruAt  map[int32]*list.Element // their places in lru
	Lookup int64                   // prompt tokens MatchPrefix was asked about
	Hit    int64                   // of those, found in the cache
}

func newPrefixCache(n int) *prefixCache {
	return &prefixCache{
		seed: maphash.MakeSeed(), index: map[uint64]int32{}, hash: make([]uint64, n), toks: make([][]int32, n),
		lru: list.New(), lruAt: map[int32]*list.Element{},
	}
}

// key chains parent with the hash of tokens; never 0 (0 marks "none").
func (p *prefixCache) key(parent uint64, tokens []int32) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], parent)
	h.Write(b[:])
	for _, t := range tokens {
		binary.LittleEndian.PutUint32(b[:4], uint32(t))
		h.Write(b[:4])
	}
	return h.Sum64() | 1
}

// unindex forgets block b's key (its content is about to change or it is
// being reused).
func (p *prefixCache) unindex(b int32) {
	if k := p.hash[b]; k != 0 {
		if p.index[k] == b {
			delete(p.index, k)
		}
		p.hash[b], p.toks[b] = 0, nil
	}
	if e := p.lruAt[b]; e != nil {
		p.lru.Remove(e)
		delete(p.lruAt, b)
	}
}

// evict takes the least recently used cached block out of the cache.
func (p *prefixCache) evict() (int32, bool) {
	e := p.lru.Front()
	if e == nil {
		return 0, false
	}
	b := e.Value.(int32)
	p.unindex(b)
	return b, true
}

// PrefixStats reports how many prompt tokens MatchPrefix was asked about
// and how many it found cached.
func (c *PagedCache) PrefixStats() (lookup, hit int64) { return c.prefix.Lookup, c.prefix.Hit }

// CachedBlocks is the number of blocks nobody holds that keep a cached
// prefix (they count as free: the next allocation may evict them).
func (c *PagedCache) CachedBlocks() int { return c.prefix.lru.Len() }

// MatchPrefix starts an empty sequence with the cached blocks that hold the
// longest whole-block prefix of tokens, leaving at least one token to
// compute (its logits are what the caller needs), and returns the positions
// taken. The blocks are shared, not copied: the sequence's own tokens go
// into new blocks after them. The keys and values are those the first
// computation wrote, so the logits that follow equal a full computation's
// when both computed the prefix as a prompt (in chunks of two or more).
func (s *PagedSeq) MatchPrefix(tokens []int32) int {
	c, p := s.c, s.c.prefix
	if s.pos != 0 || len(s.blocks) != 0 {
		return 0
	}
	p.Lookup += int64(len(tokens))
	var parent uint64
	for i := 0; (i+1)*c.P < len(tokens); i++ {
		blk := tokens[i*c.P : (i+1)*c.P]
		k := p.key(parent, blk)
		b, ok := p.index[k]
		if !ok || !slices.Equal(p.toks[b], blk) {
			break
		}
		if e := p.lruAt[b]; e != nil { // nobody held it: out of the LRU
			p.lru.Remove(e)
			delete(p.lruAt, b)
		}
		c.refs[b]++
		s.blocks = append(s.blocks, b)
		s.hashes = append(s.hashes, k)
		s.toks = append(s.toks, blk...)
		s.pos += c.P
		parent = k
	}
	p.Hit += int64(s.pos)
	return s.pos
}

// record notes the tokens just written at positions pos-len(tokens)…pos-1
// and indexes every block they completed.
func (s *PagedSeq) record(tokens []int32) {
	c, p := s.c, s.c.prefix
	s.toks = append(s.toks, tokens...)
	for len(s.hashes) < s.pos/c.P {
		i := len(s.hashes)
		var parent uint64
		if i > 0 {
			parent = s.hashes[i-1]
		}
		blk := s.toks[i*c.P : (i+1)*c.P]
		k := p.key(parent, blk)
		s.hashes = append(s.hashes, k)
		b := s.blocks[i]
		if _, taken := p.index[k]; !taken && p.hash[b] == 0 {
			p.index[k], p.hash[b], p.toks[b] = b, k, slices.Clone(blk)
		}
	}
}
