// Reference: Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
// Hierarchical Navigable Small World graphs" (TPAMI 2018): Algorithms 1 (insert), 2 (search
// layer), 4 (neighbour selection heuristic) and 5 (k-NN search); mL = 1/ln(M), M_max0 = 2M.

package rag

import (
	"cmp"
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
type HNSW struct {
	cfg      HNSWConfig
	mL       float64
	vecs     [][]float32 // per node: the vector (shared with the chunk, not copied)
	links    [][][]int32 // per node, per layer 0…level: neighbour nodes
	dead     []bool
	ndead    int
	entry    int32 // -1 when empty
	maxLevel int
	rng      *rand.Rand
	// visits holds visit-stamp sets, one per search in flight: searches
	// run concurrently (under the store's read lock), so none may share one
	visits sync.Pool
}

// visitSet marks the nodes a search has seen: a node is visited when its
// mark equals the current stamp, so a new search only bumps the stamp
// instead of clearing the marks.
type visitSet struct {
	marks []uint32
	stamp uint32
}

func (g *HNSW) getVisits() *visitSet {
	v, _ := g.visits.Get().(*visitSet)
	if v == nil {
		v = &visitSet{}
	}
	if len(v.marks) < len(g.vecs) {
		v.marks = append(v.marks, make([]uint32, len(g.vecs)-len(v.marks))...)
	}
	v.stamp++
	if v.stamp == 0 { // wrapped: old marks could collide
		clear(v.marks)
		v.stamp = 1
	}
	return v
}

// NewHNSW makes an empty graph.
func NewHNSW(c HNSWConfig) *HNSW {
	c = c.withDefaults()
	return &HNSW{cfg: c, mL: 1 / math.Log(float64(c.M)), entry: -1, rng: rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))}
}

// Len is the number of nodes, dead ones included.
func (g *HNSW) Len() int { return len(g.vecs) }

// Dead is the number of removed nodes still in the graph.
func (g *HNSW) Dead() int { return g.ndead }

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
// reachable greedily from eps (in no particular order).
func (g *HNSW) searchLayer(q []float32, eps []candidate, ef, lc int) []candidate {
	vs := g.getVisits()
	defer g.visits.Put(vs)
	st, visited := vs.stamp, vs.marks
	n := min(ef, len(g.vecs)) // ef may exceed the graph (a large k): size by what can be found
	cand := make(nearHeap, 0, 2*n)
	res := make(farHeap, 0, n+1)
	for _, e := range eps {
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
		for _, n := range g.links[c.node][lc] {
			if visited[n] == st {
				continue
			}
			visited[n] = st
			s := dot(q, g.vecs[n])
			if len(res) < ef || s > res[0].sim {
				cand.push(candidate{n, s})
				res.push(candidate{n, s})
				if len(res) > ef {
					res.pop()
				}
			}
		}
	}
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
			if dot(g.vecs[c.node], g.vecs[r]) > c.sim {
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

// Add inserts v (unit length, kept by reference) as the next node and
// returns its number (Algorithm 1).
func (g *HNSW) Add(v []float32) int32 {
	id := int32(len(g.vecs))
	level := int(math.Floor(-math.Log(1-g.rng.Float64()) * g.mL))
	g.vecs = append(g.vecs, v)
	g.links = append(g.links, make([][]int32, level+1))
	g.dead = append(g.dead, false)
	if g.entry < 0 {
		g.entry, g.maxLevel = id, level
		return id
	}
	ep := []candidate{{g.entry, dot(v, g.vecs[g.entry])}}
	for lc := g.maxLevel; lc > level; lc-- {
		ep = g.searchLayer(v, ep, 1, lc)
	}
	for lc := min(level, g.maxLevel); lc >= 0; lc-- {
		res := g.searchLayer(v, ep, g.cfg.EfConstruction, lc)
		cands := append([]candidate(nil), res...)
		mmax := g.cfg.M
		if lc == 0 {
			mmax = 2 * g.cfg.M
		}
		nb := g.selectNeighbors(append([]candidate(nil), cands...), g.cfg.M)
		g.links[id][lc] = nb
		for _, n := range nb {
			l := append(g.links[n][lc], id)
			if len(l) > mmax {
				cs := make([]candidate, len(l))
				for i, x := range l {
					cs[i] = candidate{x, dot(g.vecs[n], g.vecs[x])}
				}
				l = g.selectNeighbors(cs, mmax)
			}
			g.links[n][lc] = l
		}
		ep = cands
	}
	if level > g.maxLevel {
		g.entry, g.maxLevel = id, level
	}
	return id
}

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
	if g.entry < 0 || k <= 0 {
		return nil
	}
	ep := []candidate{{g.entry, dot(q, g.vecs[g.entry])}}
	for lc := g.maxLevel; lc > 0; lc-- {
		ep = g.searchLayer(q, ep, 1, lc)
	}
	ef := max(g.cfg.EfSearch, k)
	// dead or filtered nodes take places in the candidate list: widen it
	// by their share so that k live ones usually remain
	if g.ndead > 0 {
		ef += ef * g.ndead / max(1, len(g.vecs)-g.ndead)
	}
	res := g.searchLayer(q, ep, ef, 0)
	top := topK{k: k}
	for _, c := range res {
		if !g.dead[c.node] && (keep == nil || keep(c.node)) {
			top.push(hit{c.node, c.sim})
		}
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
