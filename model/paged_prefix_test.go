// Reference: vLLM "Automatic Prefix Caching" (a request whose prompt starts with cached blocks prefills
// only the rest; the result must not change).

package model

import (
	"slices"
	"testing"
)

// TestPrefixCacheLogits: a second prompt sharing a 40-token system prompt
// with the first takes its two full blocks of 16 from the cache and
// prefills only the rest; its logits equal a State's over the whole
// prompt, bit for bit, and the cache reports the hit.
func TestPrefixCacheLogits(t *testing.T) {
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		c, err := m.NewPagedCache(PagedOptions{Blocks: 8})
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.NewBatchRunner(Options{Threads: 2, Ctx: 64, Batch: 64})
		if err != nil {
			t.Fatal(err)
		}
		system := make([]int32, 40)
		for i := range system {
			system[i] = int32((i*7 + 3) % m.Vocab)
		}
		p1 := append(slices.Clone(system), 5, 6, 7)
		p2 := append(slices.Clone(system), 9, 1, 2, 3, 4)
		run := func(q *PagedSeq, toks []int32) []float32 {
			var out []float32
			if err := r.Forward([]*PagedSeq{q}, [][]int32{toks}, func(_ int, l []float32) error { out = slices.Clone(l); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		a := c.NewSeq()
		run(a, p1)
		a.Free() // its two full blocks stay cached
		b := c.NewSeq()
		if n := b.MatchPrefix(p2); n != 32 {
			t.Fatalf("%s: %d positions matched, want 32", arch, n)
		}
		got := run(b, p2[32:])
		want := soloRun(t, m, Options{Threads: 2, Ctx: 64}, p2, nil, 0)[0]
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("%s: logit %d with the cached prefix %g, without %g", arch, i, got[i], want[i])
		}
		if lookup, hit := c.PrefixStats(); lookup != int64(len(p2)) || hit != 32 {
			t.Errorf("%s: stats %d looked up, %d hit", arch, lookup, hit)
		}
		b.Free()
		// Evicted when needed: the pool's 8 blocks serve a sequence of 8 blocks' tokens.
		q := c.NewSeq()
		if err := q.Reserve(8 * DefaultBlockTokens); err != nil {
			t.Fatalf("%s: cached blocks were not evicted for a new sequence: %v", arch, err)
		}
		q.Free()
		r.Close()
	}
}

// TestPrefixCacheChatStaysFlat: a 20-turn chat, each turn a new sequence
// over the whole conversation so far (the earlier turns and answers, then a
// new 10-token user turn), evaluates only about the new tokens per turn,
// however long the conversation grows.
func TestPrefixCacheChatStaysFlat(t *testing.T) {
	cfg := tinyConfig("llama")
	cfg.CtxTrain = 256
	src, _ := tinySource(cfg, 1)
	m, err := New(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	P := 4
	c, err := m.NewPagedCache(PagedOptions{BlockTokens: P, Blocks: 64})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.NewBatchRunner(Options{Threads: 2, Ctx: 64 * 4, Batch: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var conv []int32
	most := 0
	for turn := range 20 {
		for i := range 6 { // the user's turn
			conv = append(conv, int32((turn*13+i*5+1)%m.Vocab))
		}
		q := c.NewSeq()
		cached := q.MatchPrefix(conv)
		eval := len(conv) - cached
		most = max(most, eval)
		var last []float32
		feed := func(toks []int32) {
			if err := r.Forward([]*PagedSeq{q}, [][]int32{toks}, func(_ int, l []float32) error { last = l; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		feed(conv[cached:])
		for range 4 { // the answer, greedy
			tok := argmax(last)
			conv = append(conv, tok)
			feed([]int32{tok})
		}
		q.Free()
		t.Logf("turn %d: %d tokens in the conversation, %d evaluated", turn, len(conv), eval)
	}
	// New per turn: 6 user tokens, the answer's last token (never fed), and
	// the partial block before them (< P).
	if most > 6+1+P {
		t.Errorf("a turn evaluated %d prompt tokens: the prefix cache did not keep the conversation", most)
	}
}
