// Reference: Sennrich et al. 2016, Algorithm 1 (recount every pair before
// each merge): the naive trainer the incremental merger must agree with.

package tokenizer

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// naiveMerges is the textbook loop: count every pair of every word, take the
// best, rewrite every word. It returns the merged pairs in order.
func naiveMerges(words [][]int32, freq []int64, next int32, n int, before func(a, b uint64) bool, valid func(a, b int32) bool) []uint64 {
	var out []uint64
	for range n {
		counts := map[uint64]int64{}
		for wi, w := range words {
			for i := 0; i+1 < len(w); i++ {
				if valid == nil || valid(w[i], w[i+1]) {
					counts[pairOf(w[i], w[i+1])] += freq[wi]
				}
			}
		}
		var best uint64
		var bc int64
		for p, c := range counts {
			if c > bc || (c == bc && before(p, best)) {
				best, bc = p, c
			}
		}
		if bc == 0 {
			break
		}
		out = append(out, best)
		a, b := pairSplit(best)
		for wi, w := range words {
			var nw []int32
			for i := 0; i < len(w); i++ {
				if i+1 < len(w) && w[i] == a && w[i+1] == b {
					nw = append(nw, next)
					i++
				} else {
					nw = append(nw, w[i])
				}
			}
			words[wi] = nw
		}
		next++
	}
	return out
}

func TestMergerMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	total := 0
	for trial := range 30 {
		alpha := 2 + r.IntN(5)
		nw := 1 + r.IntN(40)
		var words, copyWords [][]int32
		var freq []int64
		for range nw {
			w := make([]int32, 1+r.IntN(9))
			for i := range w {
				w[i] = int32(r.IntN(alpha))
			}
			words = append(words, w)
			copyWords = append(copyWords, append([]int32(nil), w...))
			freq = append(freq, 1+int64(r.IntN(5)))
		}
		// Ties by pair value, so both sides break them alike; an odd rule
		// for validity exercises the SentencePiece path.
		before := func(p, q uint64) bool { return p > q }
		var valid func(a, b int32) bool
		if trial%2 == 1 {
			valid = func(a, b int32) bool { return (a+b)%3 != 0 }
		}
		want := naiveMerges(copyWords, freq, 1000, 50, before, valid)
		m := newMerger(words, freq, before, valid)
		var got []uint64
		for id := int32(1000); len(got) < 50; id++ {
			p, _, ok := m.best()
			if !ok {
				break
			}
			got = append(got, p)
			m.merge(p, id)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: incremental %v\nnaive %v", trial, got, want)
		}
		if !reflect.DeepEqual(words, copyWords) {
			t.Fatalf("trial %d: words differ after merging", trial)
		}
		total += len(got)
	}
	if total < 300 {
		t.Fatalf("only %d merges in all trials: the test exercises little", total)
	}
}
