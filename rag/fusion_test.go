// Reference: rag/fusion.go (weighted reciprocal rank fusion: Cormack et al. 2009; the convex
// combination of normalised scores: Bruch, Gai & Ingber, ACM TOIS 2023).

package rag

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
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

// TestFuseCCDiffersFromRRF: BM25's first two are a near tie (10 and 9.9)
// that the dense ranking clearly breaks for the second. Reciprocal rank
// fusion with a tenth to the dense ranking sees only ranks (1, 2 against
// 2, 1) and keeps BM25's first; the convex combination sees that BM25
// barely prefers it and lets the dense ranking decide.
func TestFuseCCDiffersFromRRF(t *testing.T) {
	bm := []hit{{1, 10}, {2, 9.9}, {3, 5}}
	dense := []hit{{2, .9}, {1, .5}, {3, .4}}
	if got := slotsOf(fuse(bm, dense, 3, Fusion{K: 60, DenseWeight: 0.1})); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("rrf: %v, want BM25's order", got)
	}
	cc := Fusion{Method: FuseCC, DenseWeight: 0.1, Norm: NormMinMax}
	got := fuseCC(ranking{hits: bm}, ranking{hits: dense, floor: -1}, 3, cc)
	if !slices.Equal(slotsOf(got), []int32{2, 1, 3}) {
		t.Fatalf("cc: %v, want 2 first", slotsOf(got))
	}
	// 2: 0.9·(9.9−5)/5 + 0.1·1 = 0.982; 1: 0.9 + 0.1·0.2 = 0.92; 3: 0
	for i, want := range []float64{0.982, 0.92, 0} {
		if d := math.Abs(float64(got[i].score) - want); d > 1e-6 {
			t.Errorf("cc score of %d: %g, want %g", got[i].slot, got[i].score, want)
		}
	}
	// and a clear BM25 first hit survives a dense weight under which rank
	// fusion drops it: BM25 10 against 2 and 1.9, the dense ranking
	// placing it last
	bm = []hit{{1, 10}, {2, 2}, {3, 1.9}}
	dense = []hit{{2, .9}, {3, .85}, {1, .1}}
	if got := slotsOf(fuse(bm, dense, 3, Fusion{K: 60, DenseWeight: 0.4})); got[0] == 1 {
		t.Errorf("rrf k 60 w 0.4: %v, want BM25's first moved down", got)
	}
	if got := slotsOf(fuseCC(ranking{hits: bm}, ranking{hits: dense}, 3, Fusion{Method: FuseCC, DenseWeight: 0.4})); got[0] != 1 {
		t.Errorf("cc w 0.4: %v, want BM25's clear first first", got)
	}
}

// TestFuseCCWeightsAndTies: weight 0 is BM25's order, 1 the dense order;
// equal fused scores are ordered by slot, whatever order the lists came in.
func TestFuseCCWeightsAndTies(t *testing.T) {
	bm := []hit{{4, 9}, {8, 7}, {2, 3}}
	dense := []hit{{2, .9}, {8, .6}, {4, .1}}
	for _, norm := range []string{NormMinMax, NormTMM} {
		if got := slotsOf(fuseCC(ranking{hits: bm}, ranking{hits: dense, floor: -1}, 3, Fusion{Method: FuseCC, Norm: norm})); !slices.Equal(got, []int32{4, 8, 2}) {
			t.Errorf("%s, w 0: %v, want BM25's order", norm, got)
		}
		if got := slotsOf(fuseCC(ranking{hits: bm}, ranking{hits: dense, floor: -1}, 3, Fusion{Method: FuseCC, DenseWeight: 1, Norm: norm})); !slices.Equal(got, []int32{2, 8, 4}) {
			t.Errorf("%s, w 1: %v, want the dense order", norm, got)
		}
	}
	// a mirror image: 7 first in one list, 4 in the other, equal weights:
	// both fuse to 0.5, and the lower slot goes first
	a := []hit{{7, 2}, {4, 1}}
	b := []hit{{4, .9}, {7, .8}}
	for _, l := range [][2][]hit{{a, b}, {b, a}} {
		got := fuseCC(ranking{hits: l[0]}, ranking{hits: l[1]}, 2, Fusion{Method: FuseCC, DenseWeight: 0.5})
		if !slices.Equal(slotsOf(got), []int32{4, 7}) || got[0].score != got[1].score {
			t.Errorf("tie: %v, want 4 then 7 with equal scores", got)
		}
	}
	if got := fuseCC(ranking{hits: bm}, ranking{hits: dense}, 2, Fusion{Method: FuseCC, DenseWeight: 0.5}); len(got) != 2 {
		t.Errorf("k 2: %d results", len(got))
	}
}

// TestFuseCCSingleRankingCandidate: a chunk in only one list takes the
// other retriever's exact score when it can give one, else that list's
// lowest score.
func TestFuseCCSingleRankingCandidate(t *testing.T) {
	bm := []hit{{1, 10}, {2, 5}}
	dense := []hit{{3, .9}, {1, .2}, {2, .1}}
	cc := Fusion{Method: FuseCC, DenseWeight: 0.5}
	// guessed: 3 scores BM25's lowest (5 → 0), so 0.5·0 + 0.5·1 = 0.5,
	// and 1 (0.5·1 + 0.5·0.125) comes first
	got := fuseCC(ranking{hits: bm}, ranking{hits: dense}, 3, cc)
	if !slices.Equal(slotsOf(got), []int32{1, 3, 2}) || math.Abs(float64(got[1].score)-0.5) > 1e-6 {
		t.Errorf("without exact scores: %v", got)
	}
	// exact: BM25 gives 3 a 9 ((9−5)/5 = 0.8), so 3 fuses to 0.9 and leads
	exact := func(s int32) (float64, bool) {
		if s == 3 {
			return 9, true
		}
		return 0, false
	}
	got = fuseCC(ranking{hits: bm, score: exact}, ranking{hits: dense}, 3, cc)
	if !slices.Equal(slotsOf(got), []int32{3, 1, 2}) || math.Abs(float64(got[0].score)-0.9) > 1e-6 {
		t.Errorf("with exact scores: %v", got)
	}
}

// TestFuseCCDegenerate: all-equal scores (min-max would divide by zero),
// one candidate, non-finite scores and empty rankings give finite scores
// in 0…1 and no panic.
func TestFuseCCDegenerate(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		name      string
		lex, dens []hit
		want      []int32
	}{
		{"all equal", []hit{{3, 2}, {1, 2}, {2, 2}}, []hit{{2, .5}, {3, .5}, {1, .5}}, []int32{1, 2, 3}},
		{"one candidate", []hit{{5, 1}}, []hit{{5, .3}}, []int32{5}},
		{"no lexical hit", nil, []hit{{6, .2}, {9, .7}}, []int32{9, 6}},
		{"no dense hit", []hit{{6, 1}, {9, 4}}, nil, []int32{9, 6}},
		{"non-finite", []hit{{1, inf}, {2, nan}, {3, 1}, {4, 2}}, []hit{{1, nan}, {4, .5}}, nil},
		{"empty", nil, nil, []int32{}},
	}
	for _, c := range cases {
		for _, norm := range []string{NormMinMax, NormTMM} {
			got := fuseCC(ranking{hits: c.lex}, ranking{hits: c.dens, floor: -1}, 10, Fusion{Method: FuseCC, DenseWeight: 0.5, Norm: norm})
			if c.want == nil && len(got) > 0 {
				if got[0].slot != 4 || len(got) != 4 {
					t.Errorf("%s, %s: %v, want 4 of them, 4 first", c.name, norm, slotsOf(got))
				}
			} else if !slices.Equal(slotsOf(got), c.want) {
				t.Errorf("%s, %s: %v, want %v", c.name, norm, slotsOf(got), c.want)
			}
			for _, h := range got {
				if !(h.score >= 0 && h.score <= 1) {
					t.Errorf("%s, %s: slot %d scores %g", c.name, norm, h.slot, h.score)
				}
			}
		}
	}
	if got := fuseCC(ranking{hits: []hit{{1, 1}}}, ranking{}, 0, Fusion{Method: FuseCC}); got != nil {
		t.Errorf("k 0: %v", got)
	}
}

// TestFuseCCTMM: theoretical min-max measures from the retriever's floor,
// so a candidate's distance from the best is kept relative to the whole
// scale (cosine 0.5 against a best of 0.9 is 1.5/1.9, not 0).
func TestFuseCCTMM(t *testing.T) {
	l := ranking{hits: []hit{{1, .9}, {2, .5}}, floor: -1}
	got := normalized(l, []int32{1, 2}, NormTMM)
	if math.Abs(got[0]-1) > 1e-6 || math.Abs(got[1]-1.5/1.9) > 1e-6 {
		t.Errorf("tmm: %v, want [1 %g]", got, 1.5/1.9)
	}
	if got := normalized(l, []int32{1, 2}, NormMinMax); got[0] != 1 || got[1] != 0 {
		t.Errorf("minmax: %v, want [1 0]", got)
	}
}

// TestFusionCheck: methods, normalisations and ranges.
func TestFusionCheck(t *testing.T) {
	for _, f := range []Fusion{DefaultFusion, DefaultRRF, DefaultCC, {K: 60, DenseWeight: 0.5}, {Method: FuseCC, DenseWeight: 1}, {Method: FuseCC, Norm: NormTMM}} {
		if err := f.Check(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, f := range []Fusion{
		{Method: "borda", K: 60}, {Method: FuseCC, Norm: "zscore"}, {K: 60, Norm: NormMinMax},
		{Method: FuseCC, DenseWeight: -0.1}, {Method: FuseCC, DenseWeight: math.NaN()}, {K: math.Inf(1)},
	} {
		if f.Check() == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}

// TestSearchFusionCC: through the store, cc with weight 0 is BM25's
// ranking and a bad fusion is refused.
func TestSearchFusionCC(t *testing.T) {
	ctx := context.Background()
	s, in := newTestStore(t, t.TempDir(), HashEmbedder{D: 64})
	for i, text := range []string{"Cats purr and sleep.", "Cats eat fish every day.", "Dogs bark at cats.", "Fish swim in rivers.", "Birds eat seeds."} {
		if r := in.IngestBytes(ctx, fmt.Sprintf("d%d.txt", i), []byte(text)); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	src := func(rs []Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Chunk.Source)
		}
		return out
	}
	bm, err := s.Search(ctx, Query{Text: "cats eat fish", K: 3, Mode: BM25})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := s.Search(ctx, Query{Text: "cats eat fish", K: 3, Fusion: &Fusion{Method: FuseCC}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src(cc), src(bm)) {
		t.Errorf("cc w 0: %v, BM25 %v", src(cc), src(bm))
	}
	cc, err = s.Search(ctx, Query{Text: "cats eat fish", K: 5, Fusion: &Fusion{Method: FuseCC, DenseWeight: 0.5, Norm: NormTMM}})
	if err != nil || len(cc) != 5 || cc[0].Score > 1 || cc[4].Score < 0 {
		t.Errorf("cc w 0.5: %v, %+v", err, cc)
	}
	if _, err := s.Search(ctx, Query{Text: "cats", Fusion: &Fusion{Method: "borda"}}); err == nil || !strings.Contains(err.Error(), "borda") {
		t.Errorf("unknown method: %v", err)
	}
}

// FuzzFuseCC: any scores, any lists (duplicates and empty ones too), any
// weight: no panic, k results at most, every score finite.
func FuzzFuseCC(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint8(5), uint8(128))
	f.Add([]byte{1, 200, 2, 3, 1, 7}, []byte{2, 255, 9, 0}, uint8(3), uint8(0))
	f.Add([]byte{4, 4, 4, 4}, []byte{4, 4}, uint8(1), uint8(255))
	f.Fuzz(func(t *testing.T, a, b []byte, k, w uint8) {
		mk := func(p []byte, scale float32) []hit {
			var out []hit
			for i := 0; i+1 < len(p); i += 2 {
				v := float32(p[i+1]) * scale
				if p[i+1] == 255 {
					v = float32(math.NaN())
				}
				out = append(out, hit{int32(p[i] % 16), v})
			}
			return out
		}
		for _, norm := range []string{NormMinMax, NormTMM} {
			got := fuseCC(ranking{hits: mk(a, 1)}, ranking{hits: mk(b, 1.0/128), floor: -1}, int(k), Fusion{Method: FuseCC, DenseWeight: float64(w) / 255, Norm: norm})
			if len(got) > int(k) {
				t.Fatalf("%d results for k %d", len(got), k)
			}
			for _, h := range got {
				if !(h.score >= 0 && h.score <= 1) {
					t.Fatalf("slot %d scores %g", h.slot, h.score)
				}
			}
		}
	})
}
