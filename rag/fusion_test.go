// Reference: rag/search.go (weighted reciprocal rank fusion: Cormack et al. 2009, Bruch et al. 2023).

package rag

import (
	"slices"
	"testing"
)

func slotsOf(hs []hit) []int32 {
	var out []int32
	for _, h := range hs {
		out = append(out, h.slot)
	}
	return out
}

// TestFuseWeights: weight 0 keeps BM25's ranking, 1 the dense one, 0.5 is
// plain reciprocal rank fusion (a chunk high in both lists rises above
// each list's first), a small dense weight only reorders BM25's near
// ties, and out-of-range fusions are refused.
func TestFuseWeights(t *testing.T) {
	bm := []hit{{1, 9}, {2, 8}, {3, 7}, {4, 6}}
	dense := []hit{{5, .9}, {3, .8}, {2, .7}, {6, .6}}
	if got := slotsOf(fuse(bm, dense, 4, Fusion{K: 60, DenseWeight: 0})); !slices.Equal(got, []int32{1, 2, 3, 4}) {
		t.Errorf("dense weight 0: %v, want BM25's order", got)
	}
	if got := slotsOf(fuse(bm, dense, 4, Fusion{K: 60, DenseWeight: 1})); !slices.Equal(got, []int32{5, 3, 2, 6}) {
		t.Errorf("dense weight 1: %v, want the dense order", got)
	}
	// equal weights: 2 (ranks 2 and 3) and 3 (3 and 2) beat 1 and 5 (first in one list only)
	if got := slotsOf(fuse(bm, dense, 4, Fusion{K: 60, DenseWeight: 0.5})); !slices.Equal(got[:2], []int32{2, 3}) {
		t.Errorf("plain RRF: %v, want 2 and 3 first", got)
	}
	// BM25 first, with k small: the dense list only breaks near ties, and
	// BM25's first stays first
	if got := slotsOf(fuse(bm, dense, 4, Fusion{K: 1, DenseWeight: 0.2})); got[0] != 1 {
		t.Errorf("k 1, dense weight 0.2: %v, want BM25's first first", got)
	}
	for _, f := range []Fusion{{K: 0, DenseWeight: 0.5}, {K: 60, DenseWeight: -0.1}, {K: 60, DenseWeight: 1.5}} {
		if f.Check() == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	if DefaultFusion.Check() != nil {
		t.Error("the default fusion is out of range")
	}
}
