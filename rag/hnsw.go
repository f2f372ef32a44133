// Reference: Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
// Hierarchical Navigable Small World graphs" (TPAMI 2018): Algorithms 1 (insert), 2 (search
// layer), 4 (neighbour selection heuristic) and 5 (k-NN search); mL = 1/ln(M), M_max0 = 2M.

package rag

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// HNSWConfig sets the graph's parameters (the paper's names).
type HNSWConfig struct {
	M              int    // links per node above layer 0 (2M on layer 0); default 16
	EfConstruction int    // candidate list while inserting; default 200
	EfSearch       int    // candidate list while searching (at least k); default 64
	Seed           uint64 // seeds the layer draw, so that one insertion order gives one graph
}

func (c HNSWConfig) withDefaults() HNSWConfig {
	if c.M <= 1 {
		c.M = 16
	}
	if c.EfConstruction <= 0 {
		c.EfConstruction = 200
	}
	if c.EfSearch <= 0 {
		c.EfSearch = 64
	}
	return c
}

// HNSW is an approximate nearest-neighbour index over unit vectors
// (similarity = dot product). Nodes are the store's slots; a removed node
// is marked dead, still walked through (it keeps the graph connected) but
// never returned. The store rebuilds the graph when too many are dead.
//
// The layout is hnswlib's, for the memory system's sake: at 100,000
// vectors of 384 floats (150 MB) a search is a chain of cache misses, one
// per neighbour visited. The graph copies the vectors into blocks of
// contiguous rows (node n's row is found by arithmetic, not through a
// slice header of its own), keeps layer 0's links in one flat array with
// a fixed stride (count, then up to 2M neighbours), and before computing
// a node's neighbours' similarities it prefetches their rows, so that
// their misses overlap instead of following one another.
type HNSW struct {
	cfg    HNSWConfig
	mL     float64
	dim    int         // set by the first Add of a vector
	n      int         // nodes, dead ones included
	blocks [][]float32 // vector rows, blockRows per block: node n is blocks[n/blockRows][(n%blockRows)*dim:][:dim]
	links0 []int32     // layer 0: per node stride0 = 1+2M values, the count, then the neighbours
	upper  [][][]int32 // per node, its layers 1…level (nil for a node of level 0)
	dead   []bool
	ndead  int
	entry  int32 // -1 when empty
	// maxLevel is the entry's level
	maxLevel int
	rng      *rand.Rand
	// scratch holds per-search buffers (visit marks, heaps), one per
	// search in flight: searches run concurrently (under the store's read
	// lock), so none may share one
	scratch sync.Pool
}

// blockRows is the number of vector rows per block: blocks are allocated
// whole and never moved, so a row handed out by Vec stays valid (the
// store's chunks share them instead of keeping a second copy).
const blockRows = 256

// scratch is one search's working memory. A node is visited when its mark
// equals the current stamp, so a new search only bumps the stamp instead
// of clearing the marks.
type scratch struct {
	marks []uint32
	stamp uint32
	cand  nearHeap
	res   farHeap
	ep    []candidate
	todo  []int32 // the unvisited neighbours of the node being expanded
}

func (g *HNSW) getScratch() *scratch {
	v, _ := g.scratch.Get().(*scratch)
	if v == nil {
		v = &scratch{}
	}
	if len(v.marks) < g.n {
		v.marks = append(v.marks, make([]uint32, g.n-len(v.marks))...)
	}
	return v
}

// newWalk starts a walk with every node unvisited.
func (sc *scratch) newWalk() {
	sc.stamp++
	if sc.stamp == 0 { // wrapped: old marks could collide
		clear(sc.marks)
		sc.stamp = 1
	}
}

// NewHNSW makes an empty graph.
func NewHNSW(c HNSWConfig) *HNSW {
	c = c.withDefaults()
	return &HNSW{cfg: c, mL: 1 / math.Log(float64(c.M)), entry: -1, rng: rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))}
}

// Len is the number of nodes, dead ones included.
func (g *HNSW) Len() int { return g.n }

// Dead is the number of removed nodes still in the graph.
func (g *HNSW) Dead() int { return g.ndead }

// Vec is node n's vector: the graph's copy, valid as long as the graph
// (nil for a node without vector).
func (g *HNSW) Vec(n int32) []float32 {
	if g.dim == 0 || n < 0 || int(n) >= g.n {
		return nil
	}
	i := int(n) * g.dim
	b := g.blocks[i/(blockRows*g.dim)]
	i %= blockRows * g.dim
	return b[i : i+g.dim : i+g.dim]
}

// vec is Vec without the checks a store's caller may want; the hot path.
func (g *HNSW) vec(n int32) []float32 {
	i := int(n) * g.dim
	return g.blocks[i/(blockRows*g.dim)][i%(blockRows*g.dim):][:g.dim]
}

func (g *HNSW) stride0() int { return 1 + 2*g.cfg.M }

// neighbours is node n's list on layer lc.
func (g *HNSW) neighbours(n int32, lc int) []int32 {
	if lc == 0 {
		at := int(n) * g.stride0()
		return g.links0[at+1 : at+1+int(g.links0[at])]
	}
	return g.upper[n][lc-1]
}

// setNeighbours replaces node n's list on layer lc (at most 2M on layer 0).
func (g *HNSW) setNeighbours(n int32, lc int, l []int32) {
	if lc == 0 {
		at := int(n) * g.stride0()
		g.links0[at] = int32(copy(g.links0[at+1:at+g.stride0()], l))
		return
	}
	g.upper[n][lc-1] = l
}

// push appends a node with vector v (nil: a node without vector, dead
// from the start, that only keeps node numbers equal to the store's
// slots) and level, with no links yet.
func (g *HNSW) push(v []float32, level int) int32 {
	id := int32(g.n)
	if v != nil {
		if g.dim == 0 {
			g.dim = len(v)
		}
		if g.n%blockRows == 0 {
			g.blocks = append(g.blocks, make([]float32, blockRows*g.dim))
		}
		copy(g.vec(id), v)
	} else if g.dim > 0 && g.n%blockRows == 0 {
		g.blocks = append(g.blocks, make([]float32, blockRows*g.dim))
	}
	g.n++
	g.links0 = append(g.links0, make([]int32, g.stride0())...)
	var up [][]int32
	if level > 0 {
		up = make([][]int32, level)
	}
	g.upper = append(g.upper, up)
	g.dead = append(g.dead, v == nil)
	if v == nil {
		g.ndead++
	}
	return id
}

// candidate is a node with its similarity to the query.
type candidate struct {
	node int32
	sim  float32
}

// nearHeap and farHeap are binary heaps of candidates, typed
// (container/heap would box every candidate in an interface: an
// allocation per push, a tenth of the search time) and with the order
// written into each (a comparison through a function value cost another
// tenth). nearHeap's root is the most similar candidate (the queue to
// expand), farHeap's the least similar (the result set's worst).
type nearHeap []candidate
type farHeap []candidate

func (h *nearHeap) push(x candidate) {
	c := append(*h, x)
	for i := len(c) - 1; i > 0; {
		p := (i - 1) / 2
		if c[i].sim <= c[p].sim {
			break
		}
		c[i], c[p] = c[p], c[i]
		i = p
	}
	*h = c
}

func (h *nearHeap) pop() candidate {
	c := *h
	top, n := c[0], len(c)-1
	c[0] = c[n]
	c = c[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && c[l].sim > c[m].sim {
			m = l
		}
		if r := l + 1; r < n && c[r].sim > c[m].sim {
			m = r
		}
		if m == i {
			break
		}
		c[i], c[m] = c[m], c[i]
		i = m
	}
	*h = c
	return top
}

func (h *farHeap) push(x candidate) {
	c := append(*h, x)
	for i := len(c) - 1; i > 0; {
		p := (i - 1) / 2
		if c[i].sim >= c[p].sim {
			break
		}
		c[i], c[p] = c[p], c[i]
		i = p
	}
	*h = c
}

func (h *farHeap) pop() candidate {
	c := *h
	top, n := c[0], len(c)-1
	c[0] = c[n]
	c = c[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && c[l].sim < c[m].sim {
			m = l
		}
		if r := l + 1; r < n && c[r].sim < c[m].sim {
			m = r
		}
		if m == i {
			break
		}
		c[i], c[m] = c[m], c[i]
		i = m
	}
	*h = c
	return top
}

// searchLayer is Algorithm 2: the ef nodes of layer lc most similar to q
// reachable greedily from eps (in no particular order). The result is
// sc's buffer, valid until sc's next search.
func (g *HNSW) searchLayer(sc *scratch, q []float32, eps []candidate, ef, lc int) []candidate {
	sc.newWalk()
	st, visited := sc.stamp, sc.marks
	n := min(ef, g.n)                 // ef may exceed the graph (a large k): size by what can be found
	sc.ep = append(sc.ep[:0], eps...) // eps may be sc.res of the layer above
	cand, res := sc.cand[:0], sc.res[:0]
	if cap(cand) < 2*n {
		cand = make(nearHeap, 0, 2*n)
	}
	if cap(res) < n+1 {
		res = make(farHeap, 0, n+1)
	}
	for _, e := range sc.ep {
		visited[e.node] = st
		cand.push(e)
		res.push(e)
	}
	for len(res) > ef {
		res.pop()
	}
	for len(cand) > 0 {
		c := cand.pop()
		if len(res) >= ef && c.sim < res[0].sim {
			break
		}
		// the unvisited neighbours first, their rows prefetched, then
		// their similarities: the misses of a node's neighbours overlap
		todo := sc.todo[:0]
		for _, n := range g.neighbours(c.node, lc) {
			if visited[n] != st {
				visited[n] = st
				todo = append(todo, n)
			}
		}
		for _, n := range todo {
			prefetchRow(g.vec(n))
		}
		for _, n := range todo {
			s := dotRow(q, g.vec(n))
			if len(res) < ef || s > res[0].sim {
				cand.push(candidate{n, s})
				res.push(candidate{n, s})
				if len(res) > ef {
					res.pop()
				}
			}
		}
		sc.todo = todo
	}
	sc.cand, sc.res = cand, res
	return res
}

// selectNeighbors is Algorithm 4 (with keepPrunedConnections): take
// candidates best first, keeping one only if it is closer to the query
// than to every one kept already, so that links spread in all directions;
// then fill up to m with the pruned ones.
func (g *HNSW) selectNeighbors(cands []candidate, m int) []int32 {
	sortCandidates(cands)
	out := make([]int32, 0, m)
	var pruned []int32
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		ok := true
		for _, r := range out {
			if dotRow(g.vec(c.node), g.vec(r)) > c.sim {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, c.node)
		} else {
			pruned = append(pruned, c.node)
		}
	}
	for _, p := range pruned {
		if len(out) >= m {
			break
		}
		out = append(out, p)
	}
	return out
}

// sortCandidates orders candidates most similar first, ties by node: a
// total order, so the graph does not depend on the sort's algorithm.
func sortCandidates(c []candidate) {
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return cmp.Compare(a.node, b.node)
	})
}

// Add inserts a copy of v (unit length) as the next node and returns its
// number (Algorithm 1); Vec(number) is the copy. Every vector of a graph
// has the first one's length; an empty v is AddEmpty.
func (g *HNSW) Add(v []float32) int32 {
	if len(v) == 0 {
		return g.AddEmpty()
	}
	if g.dim > 0 && len(v) != g.dim {
		panic(fmt.Sprintf("rag: HNSW vector of %d values in a graph of %d", len(v), g.dim)) // programmer error: the store checks dimensions
	}
	level := int(math.Floor(-math.Log(1-g.rng.Float64()) * g.mL))
	id := g.push(v, level)
	if g.entry < 0 {
		g.entry, g.maxLevel = id, level
		return id
	}
	v = g.vec(id)
	sc := g.getScratch()
	defer g.scratch.Put(sc)
	ep := []candidate{{g.entry, dotRow(v, g.vec(g.entry))}}
	for lc := g.maxLevel; lc > level; lc-- {
		ep = g.searchLayer(sc, v, ep, 1, lc)
	}
	for lc := min(level, g.maxLevel); lc >= 0; lc-- {
		res := g.searchLayer(sc, v, ep, g.cfg.EfConstruction, lc)
		cands := append([]candidate(nil), res...)
		mmax := g.cfg.M
		if lc == 0 {
			mmax = 2 * g.cfg.M
		}
		nb := g.selectNeighbors(append([]candidate(nil), cands...), g.cfg.M)
		g.setNeighbours(id, lc, nb)
		for _, n := range nb {
			l := append(slices.Clip(g.neighbours(n, lc)), id)
			if len(l) > mmax {
				cs := make([]candidate, len(l))
				vn := g.vec(n)
				for i, x := range l {
					cs[i] = candidate{x, dotRow(vn, g.vec(x))}
				}
				l = g.selectNeighbors(cs, mmax)
			}
			g.setNeighbours(n, lc, l)
		}
		ep = cands
	}
	if level > g.maxLevel {
		g.entry, g.maxLevel = id, level
	}
	return id
}

// AddEmpty appends a node without vector, dead from the start: the slot
// of a chunk in a store without embedder, so that node numbers stay equal
// to slots.
func (g *HNSW) AddEmpty() int32 { return g.push(nil, 0) }

// Remove marks node n dead.
func (g *HNSW) Remove(n int32) {
	if int(n) < len(g.dead) && !g.dead[n] {
		g.dead[n] = true
		g.ndead++
	}
}

// Search returns the k live nodes most similar to q that keep accepts (nil
// keeps all), best first (Algorithm 5 with ef = max(EfSearch, k)).
func (g *HNSW) Search(q []float32, k int, keep func(int32) bool) []hit {
	if g.entry < 0 || k <= 0 || len(q) != g.dim {
		return nil
	}
	sc := g.getScratch()
	defer g.scratch.Put(sc)
	ep := []candidate{{g.entry, dotRow(q, g.vec(g.entry))}}
	for lc := g.maxLevel; lc > 0; lc-- {
		ep = g.searchLayer(sc, q, ep, 1, lc)
	}
	ef := max(g.cfg.EfSearch, k)
	// dead or filtered nodes take places in the candidate list: widen it
	// by their share so that k live ones usually remain
	if g.ndead > 0 {
		ef += ef * g.ndead / max(1, g.n-g.ndead)
	}
	res := g.searchLayer(sc, q, ep, ef, 0)
	top := topK{k: k}
	for _, c := range res {
		if !g.dead[c.node] && (keep == nil || keep(c.node)) {
			top.push(hit{c.node, c.sim})
		}
	}
	return top.sorted()
}

// Exact is exactSearch over the graph's own rows: every live node's
// similarity to q, the k best that keep accepts.
func (g *HNSW) Exact(q []float32, k int, keep func(int32) bool) []hit {
	top := topK{k: k}
	if len(q) != g.dim {
		return nil
	}
	for i := range g.n {
		n := int32(i)
		if g.dead[n] || (keep != nil && !keep(n)) {
			continue
		}
		top.push(hit{n, dotRow(q, g.vec(n))})
	}
	return top.sorted()
}

// exactSearch is the reference HNSW is measured against: every live
// vector's similarity, the k best kept.
func exactSearch(vecs [][]float32, dead []bool, q []float32, k int, keep func(int32) bool) []hit {
	top := topK{k: k}
	for i, v := range vecs {
		if v == nil || (dead != nil && dead[i]) || (keep != nil && !keep(int32(i))) {
			continue
		}
		top.push(hit{int32(i), dot(q, v)})
	}
	return top.sorted()
}
