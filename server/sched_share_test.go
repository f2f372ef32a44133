// Reference: issue #24 (prefix caching: 16 requests sharing a 1,000-token system prompt prefill it once).

package server

import (
	"context"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
)

// sharedPrompts returns n prompts that share a preamble of pre tokens and
// differ in a tail of 5.
func sharedPrompts(n, pre int) [][]int32 {
	out := make([][]int32, n)
	for i := range out {
		p := make([]int32, 0, pre+5)
		for k := range pre {
			p = append(p, int32(100+(k*37)%500))
		}
		for k := range 5 {
			p = append(p, int32(700+i*11+k))
		}
		out[i] = p
	}
	return out
}

// runShared submits prompts to a fresh batcher, all at once when together
// (the loop takes the first alone or several together: either way the
// others arrive while the first still computes the preamble), else each
// after the one before has ended, and returns
// each one's sampled tokens and its cached prompt tokens, and the prompt
// tokens the pool's prefix cache was asked about and found.
func runShared(t *testing.T, prompts [][]int32, together bool) (toks [][]int32, cached []int, lookup, hit int64) {
	t.Helper()
	b, _ := newTestBatcher(t, 256, len(prompts), batchOptions{stepTokens: 64})
	defer b.close()
	st := newStepper(b)
	defer st.stop()
	req := &generate.Request{Options: generate.Options{MaxTokens: 6, IgnoreEOG: true}}
	type run struct {
		s    *bseq
		toks []int32
		done chan struct{}
	}
	start := func(p []int32) *run {
		s, err := b.submit(context.Background(), req, p)
		if err != nil {
			t.Fatal(err)
		}
		r := &run{s: s, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			for ev := range s.events.all() {
				if ev.Kind == generate.EventToken && ev.Token >= 0 {
					r.toks = append(r.toks, ev.Token)
				}
			}
		}()
		return r
	}
	finish := func() { // steps until the loop holds nothing (the first step takes the submissions)
		st.step()
		for s := b.snapshot(); s.Running+s.Waiting > 0; s = b.snapshot() {
			st.step()
		}
	}
	var rs []*run
	if together {
		for _, p := range prompts {
			rs = append(rs, start(p))
		}
		finish()
	} else {
		for _, p := range prompts {
			rs = append(rs, start(p))
			finish()
		}
	}
	for i, r := range rs {
		<-r.done
		if r.s.err != nil || r.s.d == nil || r.s.d.CompletionTokens != 6 {
			t.Fatalf("request %d: %v %+v", i, r.s.err, r.s.d)
		}
		toks, cached = append(toks, r.toks), append(cached, r.s.cached)
	}
	lookup, hit = b.cache.PrefixStats()
	return toks, cached, lookup, hit
}

// TestBatchSharedPrefixOnce: eight requests that arrive together with one
// 96-token preamble compute it once: the first computes it, the others
// wait for its blocks and take them from the prefix cache (each finds all
// six whole blocks), and every one samples what it samples when the eight
// come one after another.
func TestBatchSharedPrefixOnce(t *testing.T) {
	const pre = 6 * model.DefaultBlockTokens
	prompts := sharedPrompts(8, pre)
	got, cached, lookup, hit := runShared(t, prompts, true)
	want, _, _, _ := runShared(t, prompts, false)
	for i := range prompts {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("request %d: together %v, one after another %v", i, got[i], want[i])
		}
	}
	if cached[0] != 0 {
		t.Errorf("the first request found %d tokens cached in a fresh pool", cached[0])
	}
	for i, c := range cached[1:] {
		if c != pre {
			t.Errorf("request %d took %d of the preamble's %d tokens from the cache, want all", i+1, c, pre)
		}
	}
	t.Logf("prefix cache: %d of %d prompt tokens looked up were found (cached per request %v)", hit, lookup, cached)
}
