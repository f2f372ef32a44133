package rag

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomUnit(rng *rand.Rand, n, d int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		normalize(v)
		out[i] = v
	}
	return out
}

// recallAt10 is the share of exact top-10 neighbours HNSW finds.
func recallAt10(g *HNSW, vecs, qs [][]float32) float64 {
	found, total := 0, 0
	for _, q := range qs {
		exact := exactSearch(vecs, g.dead, q, 10, nil)
		got := map[int32]bool{}
		for _, h := range g.Search(q, 10, nil) {
			got[h.slot] = true
		}
		for _, h := range exact {
			total++
			if got[h.slot] {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}

func TestHNSWRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := randomUnit(rng, 2000, 32)
	qs := randomUnit(rng, 100, 32)
	g := NewHNSW(HNSWConfig{M: 16, EfConstruction: 64, EfSearch: 64, Seed: 3})
	for _, v := range vecs {
		g.Add(v)
	}
	if r := recallAt10(g, vecs, qs); r < 0.95 {
		t.Errorf("recall@10 %.3f < 0.95", r)
	} else {
		t.Logf("recall@10 %.3f", r)
	}
	// delete a third: dead nodes are never returned, recall stays
	for i := 0; i < len(vecs); i += 3 {
		g.Remove(int32(i))
	}
	for _, q := range qs[:20] {
		for _, h := range g.Search(q, 10, nil) {
			if h.slot%3 == 0 {
				t.Fatalf("dead node %d returned", h.slot)
			}
		}
	}
	if r := recallAt10(g, vecs, qs); r < 0.9 {
		t.Errorf("recall@10 after deletions %.3f < 0.9", r)
	}
	// the same insertions give the same graph
	g2 := NewHNSW(HNSWConfig{M: 16, EfConstruction: 64, EfSearch: 64, Seed: 3})
	for _, v := range vecs {
		g2.Add(v)
	}
	a, b := g.Search(qs[0], 5, nil), g2.Search(qs[0], 5, func(n int32) bool { return n%3 != 0 })
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("not deterministic: %v vs %v", a, b)
		}
	}
}

func TestDotMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 67; n++ {
		a, b := randomUnit(rng, 1, n+1)[0][:n], randomUnit(rng, 1, n+1)[0][:n]
		got, want := dot(a, b), dotGeneric(a, b)
		if d := got - want; d > 1e-5 || d < -1e-5 {
			t.Fatalf("n %d: dot %v, generic %v", n, got, want)
		}
	}
}

func BenchmarkHNSWSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := randomUnit(rng, 5000, 384)
	g := NewHNSW(HNSWConfig{M: 16, EfConstruction: 100, Seed: 1})
	for _, v := range vecs {
		g.Add(v)
	}
	qs := randomUnit(rng, 100, 384)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Search(qs[i%len(qs)], 10, nil)
	}
}

// TestHNSWRows: the graph keeps its own copy of each vector in blocks
// that never move (a row handed out earlier still is the graph's row
// after many more insertions), empty nodes keep numbering, and with ef
// at least the graph's size the search is exact.
func TestHNSWRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vecs := randomUnit(rng, 3*blockRows+5, 24)
	g := NewHNSW(HNSWConfig{M: 8, EfConstruction: 32, EfSearch: 4 * len(vecs), Seed: 1})
	first := g.Vec(g.Add(vecs[0]))
	if g.AddEmpty() != 1 || !g.dead[1] {
		t.Fatalf("AddEmpty: node 1 dead %v", g.dead[1])
	}
	for _, v := range vecs[1:] {
		g.Add(v)
	}
	if &first[0] != &g.Vec(0)[0] {
		t.Fatal("node 0's row moved when the graph grew")
	}
	vecs[0][0] += 1 // the caller's slice is not the graph's
	if first[0] == vecs[0][0] {
		t.Fatal("the graph shares the caller's vector instead of copying it")
	}
	vecs[0][0] -= 1
	for i, v := range vecs[1:] {
		n := int32(i + 2)
		if got := g.Vec(n); len(got) != 24 || got[0] != v[0] || got[23] != v[23] {
			t.Fatalf("Vec(%d) = %v…, want %v…", n, got[:2], v[:2])
		}
	}
	if g.Vec(-1) != nil || g.Vec(int32(g.Len())) != nil {
		t.Error("Vec outside the graph is not nil")
	}
	for _, q := range randomUnit(rng, 10, 24) {
		a, b := g.Search(q, 10, nil), g.Exact(q, 10, nil)
		if len(a) != 10 || len(b) != 10 {
			t.Fatalf("%d and %d hits", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] || a[i].slot == 1 {
				t.Fatalf("search %v, exact %v (node 1 is empty)", a, b)
			}
		}
	}
	if g.Search(make([]float32, 5), 3, nil) != nil {
		t.Error("a query of the wrong dimension found something")
	}
}

// TestDotRowMatchesGeneric checks the graph's dot (assembly where the CPU
// has it) against dotGeneric's loop over lengths 0…67 and 384, at several
// start offsets, with guard values around both inputs that must neither
// count nor change: |got-want| <= 1e-6 + 1e-5·Σ|a·b| (float32 sums in
// another order).
func TestDotRowMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const guard = 1e30
	for _, n := range append(func() (ns []int) {
		for n := 0; n <= 67; n++ {
			ns = append(ns, n)
		}
		return
	}(), 384, 1001) {
		for off := 0; off < 4; off++ {
			a, b := make([]float32, n+off+8), make([]float32, n+off+8)
			for i := range a {
				a[i], b[i] = guard, guard
			}
			var mag float64
			for i := off; i < off+n; i++ {
				a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				mag += math.Abs(float64(a[i] * b[i]))
			}
			a0, b0 := slices.Clone(a), slices.Clone(b)
			got, want := dotRow(a[off:off+n], b[off:off+n]), dotGeneric(a[off:off+n], b[off:off+n])
			if d := math.Abs(float64(got - want)); d > 1e-6+1e-5*mag {
				t.Fatalf("n %d offset %d: dotRow %v, generic %v", n, off, got, want)
			}
			if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
				t.Fatalf("n %d offset %d: the inputs changed", n, off)
			}
		}
	}
	if dotRow([]float32{1, 2, 3}, []float32{4, 5}) != 14 {
		t.Error("dotRow of unequal lengths is not the dot of the common prefix")
	}
}
