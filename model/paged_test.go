// Reference: Kwon et al., PagedAttention (SOSP 2023) §4.2–4.4: the allocator's invariants (every block held by
// exactly its reference count of block-table entries, the rest free) and copy-on-write.

package model

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkPool verifies the allocator's invariants against the live
// sequences: each block's count equals the table entries naming it, the
// free list holds exactly the blocks with count 0, once each.
func checkPool(t *testing.T, c *PagedCache, seqs []*PagedSeq) {
	t.Helper()
	held := make([]int32, c.Blocks())
	for _, q := range seqs {
		if len(q.blocks) < c.BlocksFor(q.pos) {
			t.Fatalf("a sequence at %d positions holds %d blocks", q.pos, len(q.blocks))
		}
		for _, b := range q.blocks {
			held[b]++
		}
	}
	inFree := make([]bool, c.Blocks())
	for e := c.prefix.lru.Front(); e != nil; e = e.Next() {
		inFree[e.Value.(int32)] = true
	}
	for _, b := range c.free {
		if inFree[b] {
			t.Fatalf("block %d is twice in the free list", b)
		}
		inFree[b] = true
	}
	for b := range held {
		if held[b] != c.refs[b] {
			t.Fatalf("block %d: %d references counted, %d table entries", b, c.refs[b], held[b])
		}
		if inFree[b] != (held[b] == 0) {
			t.Fatalf("block %d: free %v with %d holders", b, inFree[b], held[b])
		}
	}
}

// TestPagedAllocatorRandom runs thousands of random reserve/write, fork,
// truncate and free operations over a small pool. Each write stamps the
// position's first K byte of layer 0 with a value the test remembers per
// sequence, so a missed copy-on-write (a fork seeing its sibling's write)
// or a block handed out twice shows as a wrong byte. At the end every
// sequence is freed and the whole pool must be free again.
func TestPagedAllocatorRandom(t *testing.T) {
	m := tinyModel(t, "llama")
	for _, P := range []int{1, 3, 16} {
		c, err := m.NewPagedCache(PagedOptions{BlockTokens: P, Blocks: 24})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(P), 7))
		var seqs []*PagedSeq
		var want [][]byte // per sequence, the stamp of each position
		stamp := func(q *PagedSeq, p int) *byte {
			k, _ := c.kv(q.blocks[p/P], 0)
			return &k[(p%P)*m.KVDim()*c.es]
		}
		full := 0
		for op := range 5000 {
			switch k := r.IntN(10); {
			case k < 1 || len(seqs) == 0:
				seqs, want = append(seqs, c.NewSeq()), append(want, nil)
			case k < 6: // write 1…5 tokens
				i := r.IntN(len(seqs))
				q, n := seqs[i], 1+r.IntN(5)
				before := slices.Clone(q.blocks)
				err := q.Reserve(n)
				if errors.Is(err, ErrCacheFull) {
					full++
					if !slices.Equal(before, q.blocks) {
						t.Fatalf("op %d: a failed reserve changed the table", op)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				toks := make([]int32, n)
				for j := range n {
					v := byte(r.Uint32())
					*stamp(q, q.pos+j) = v
					want[i] = append(want[i], v)
					toks[j] = int32(v % 4) // few distinct blocks: prefixes repeat
				}
				q.advance(toks)
			case k < 7 && r.IntN(2) == 0:
				i := r.IntN(len(seqs))
				seqs, want = append(seqs, seqs[i].Fork()), append(want, slices.Clone(want[i]))
			case k < 7: // a new sequence from the cache: another's tokens, or random ones
				var toks []int32
				if i := r.IntN(len(seqs)); r.IntN(4) > 0 {
					toks = slices.Clone(seqs[i].toks)
				}
				for range r.IntN(3 * P) {
					toks = append(toks, int32(r.IntN(4)))
				}
				q := c.NewSeq()
				n := q.MatchPrefix(toks)
				if n%P != 0 || n > max(0, len(toks)-1) || q.Pos() != n {
					t.Fatalf("op %d: matched %d of %d tokens", op, n, len(toks))
				}
				var w []byte
				for p := range n {
					v := *stamp(q, p)
					if int32(v%4) != toks[p] { // the block holds what its key says
						t.Fatalf("op %d: matched position %d holds a token %d, asked %d", op, p, v%4, toks[p])
					}
					w = append(w, v)
				}
				seqs, want = append(seqs, q), append(want, w)
			case k < 8:
				i := r.IntN(len(seqs))
				n := r.IntN(seqs[i].pos + 1)
				if err := seqs[i].Truncate(n); err != nil {
					t.Fatal(err)
				}
				want[i] = want[i][:n]
			default:
				i := r.IntN(len(seqs))
				seqs[i].Free()
				seqs, want = slices.Delete(seqs, i, i+1), slices.Delete(want, i, i+1)
			}
			checkPool(t, c, seqs)
			for i, q := range seqs {
				for p, v := range want[i] {
					if got := *stamp(q, p); got != v {
						t.Fatalf("P=%d op %d: sequence %d position %d reads %d, wrote %d", P, op, i, p, got, v)
					}
				}
			}
		}
		if _, hit := c.PrefixStats(); hit == 0 {
			t.Errorf("P=%d: no prefix was ever matched: the test does not reach the cache", P)
		}
		if full == 0 {
			t.Errorf("P=%d: the pool never ran full: the test does not reach ErrCacheFull", P)
		}
		for _, q := range seqs {
			q.Free()
			q.Free() // twice is harmless
		}
		if c.FreeBlocks() != c.Blocks() {
			t.Errorf("P=%d: %d of %d blocks free after freeing everything", P, c.FreeBlocks(), c.Blocks())
		}
	}
}

func TestPagedCacheOptions(t *testing.T) {
	m := tinyModel(t, "llama")
	for _, o := range []PagedOptions{{Blocks: 0}, {Blocks: 4, BlockTokens: -1}, {Blocks: 4, BlockTokens: 5000}} {
		if _, err := m.NewPagedCache(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	c, err := m.NewPagedCache(PagedOptions{Blocks: 3})
	if err != nil {
		t.Fatal(err)
	}
	// KV bytes per token are the contiguous cache's: 2·L·K·D·2 for F16.
	if got, want := c.BlockBytes(), DefaultBlockTokens*2*m.Layers*m.KVDim()*2; got != want {
		t.Errorf("block of %d bytes, want %d", got, want)
	}
	q := c.NewSeq()
	if err := q.Reserve(3*DefaultBlockTokens + 1); !errors.Is(err, ErrCacheFull) {
		t.Errorf("reserving 4 blocks of 3: %v", err)
	}
	if err := q.Truncate(1); err == nil {
		t.Error("truncating an empty sequence to 1: no error")
	}
	if err := q.Reserve(-1); err == nil {
		t.Error("reserving -1: no error")
	}
}
