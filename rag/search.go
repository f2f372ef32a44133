// Reference: Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and
// individual Rank Learning Methods" (SIGIR 2009): score = Σ 1/(k + rank), k = 60; weighted
// per ranking as Bruch, Gai & Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval"
// (ACM TOIS 2023) §5 weigh the lexical and semantic lists.

package rag

import (
	"context"
	"fmt"
	"time"
)

// Mode picks the retrieval.
type Mode string

const (
	Hybrid Mode = "hybrid" // BM25 and dense lists fused by reciprocal rank
	BM25   Mode = "bm25"
	Dense  Mode = "dense"
)

// ParseMode reads a --mode value.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Hybrid, BM25, Dense:
		return Mode(s), nil
	}
	return "", fmt.Errorf("rag: mode %q is not hybrid, bm25 or dense", s)
}

// Filter restricts a search by metadata; the zero Filter keeps everything.
type Filter struct {
	Source string    // glob over the source path ("*.md", "docs/*"), or an exact path
	After  time.Time // ingested at or after (zero: no bound)
	Before time.Time // ingested before (zero: no bound)
}

func (f Filter) empty() bool { return f.Source == "" && f.After.IsZero() && f.Before.IsZero() }

func (f Filter) keep(c *Chunk) bool {
	if f.Source != "" && c.Source != f.Source && !globMatch(f.Source, c.Source) {
		return false
	}
	if !f.After.IsZero() && c.Time.Before(f.After) {
		return false
	}
	if !f.Before.IsZero() && !c.Time.Before(f.Before) {
		return false
	}
	return true
}

// Query is a search.
type Query struct {
	Text   string
	K      int  // results wanted; default 5
	Mode   Mode // default Hybrid (BM25 when the store has no embedder)
	Filter Filter
	Vec    []float32 // the query's embedding, when the caller has it already
	Fusion *Fusion   // hybrid's weighting; nil: the store's (Options.Fusion, else DefaultFusion)
}

// Fusion weighs the two rankings that hybrid search fuses: a chunk scores
// (1 − DenseWeight)/(K + its BM25 rank) + DenseWeight/(K + its dense rank),
// ranks from 1, nothing for a list it is not in. DenseWeight 0.5 is plain
// reciprocal rank fusion. A dense ranking much weaker than BM25's (a small
// embedder against questions that reuse their passage's words) pulls
// BM25's right first hits down under equal weights; a smaller share and a
// smaller K (which makes the first ranks count more) let it only break
// BM25's near ties.
type Fusion struct {
	K           float64 // > 0
	DenseWeight float64 // 0…1
}

// DefaultFusion is hybrid search's weighting when neither the query nor
// the store sets one: k 60 as Cormack et al., the dense ranking a tenth.
// It was chosen with the default embedder (models/embed.gguf) on the
// validation split of the SQuAD and CMRC sets (`kb eval --rrf-k
// 1,3,10,20,60 --dense-weight 0,0.1,…,0.6` on bake/embed/eval/*-val.json:
// the best mean recall@1, the smallest dense weight among equals), never
// on their held-out questions (docs/rag.md, "Retrieval quality"). With a
// dense ranking much weaker than BM25's, a small weight keeps BM25's right
// first hits first.
var DefaultFusion = Fusion{K: rrfK, DenseWeight: 0.1}

// Check reports a fusion's out-of-range values.
func (f Fusion) Check() error {
	if !(f.K > 0) || !(f.DenseWeight >= 0 && f.DenseWeight <= 1) {
		return fmt.Errorf("rag: fusion k %g must be positive and dense weight %g within 0…1", f.K, f.DenseWeight)
	}
	return nil
}

// Result is a retrieved chunk. Score is the mode's: BM25 score, cosine, or
// the fused reciprocal-rank score. Coverage is the IDF-weighted share of
// the query's terms found in the chunk (0…1), the same scale for every
// mode, which the answerer's "not found" threshold reads.
type Result struct {
	Chunk    *Chunk
	Score    float64
	Coverage float64
}

// rrfK is the fusion constant of Cormack et al.
const rrfK = 60

// Search implements Store.
func (s *DirStore) Search(ctx context.Context, q Query) ([]Result, error) {
	if q.K <= 0 {
		q.K = 5
	}
	if q.Mode == "" {
		q.Mode = Hybrid
		if s.meta.Dim == 0 {
			q.Mode = BM25
		}
	}
	if q.Mode != BM25 && s.meta.Dim == 0 {
		return nil, fmt.Errorf("rag: store %s has no embedder: only --mode bm25 searches it", s.dir)
	}
	if q.Mode != BM25 && q.Vec == nil {
		vs, err := s.opt.Embedder.Embed(ctx, []string{q.Text})
		if err != nil {
			return nil, fmt.Errorf("rag: embedding the query: %w", err)
		}
		if len(vs) != 1 || len(vs[0]) != s.meta.Dim {
			return nil, fmt.Errorf("rag: the embedder gave no vector of %d for the query", s.meta.Dim)
		}
		q.Vec = vs[0]
	}
	if q.Vec != nil {
		q.Vec = append([]float32(nil), q.Vec...)
		normalize(q.Vec)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// no store holds more results than chunks; a huge k from a flag must
	// not size the heaps
	q.K = min(q.K, max(1, len(s.slots)))
	var keep func(int32) bool
	if !q.Filter.empty() {
		keep = func(n int32) bool { c := s.slots[n]; return c != nil && q.Filter.keep(c) }
	}
	terms := Terms(q.Text)
	var hits []hit
	switch q.Mode {
	case BM25:
		hits = s.bm.search(terms, q.K, keep)
	case Dense:
		hits = s.dense(q.Vec, q.K, keep)
	case Hybrid:
		// each list deeper than k, so that a chunk ranked moderately by
		// both can rise above one ranked first by a single list
		n := max(4*q.K, 50)
		fu := DefaultFusion
		if s.opt.Fusion != nil {
			fu = *s.opt.Fusion
		}
		if q.Fusion != nil {
			fu = *q.Fusion
		}
		if err := fu.Check(); err != nil {
			return nil, err
		}
		hits = fuse(s.bm.search(terms, n, keep), s.dense(q.Vec, n, keep), q.K, fu)
	default:
		return nil, fmt.Errorf("rag: unknown mode %q", q.Mode)
	}
	out := make([]Result, len(hits))
	for i, h := range hits {
		c := s.slots[h.slot]
		out[i] = Result{Chunk: c, Score: float64(h.score), Coverage: s.coverage(terms, c)}
	}
	return out, nil
}

// dense searches the graph, or every vector when a filter is set (a
// selective filter would leave the graph's candidate list empty).
func (s *DirStore) dense(q []float32, k int, keep func(int32) bool) []hit {
	if keep != nil {
		return s.g.Exact(q, k, keep)
	}
	return s.g.Search(q, k, nil)
}

// fuse merges the BM25 ranking a and the dense ranking b by weighted
// reciprocal rank (Fusion), ties by slot.
func fuse(a, b []hit, k int, fu Fusion) []hit {
	score := map[int32]float64{}
	for i, l := range [][]hit{a, b} {
		w := 1 - fu.DenseWeight
		if i == 1 {
			w = fu.DenseWeight
		}
		if w == 0 {
			continue
		}
		for r, h := range l {
			score[h.slot] += w / (fu.K + float64(r+1))
		}
	}
	top := topK{k: k}
	for s, v := range score {
		top.push(hit{s, float32(v)})
	}
	return top.sorted()
}

func isCJKTerm(t string) bool {
	for _, r := range t {
		return isCJK(r)
	}
	return false
}

// coverage is the IDF-weighted share of the query's distinct terms that c
// contains (heading included).
func (s *DirStore) coverage(query []string, c *Chunk) float64 {
	have := map[string]bool{}
	for _, t := range Terms(c.Heading + "\n" + c.Text) {
		have[t] = true
	}
	var got, all float64
	seen := map[string]bool{}
	for _, t := range query {
		if seen[t] || stopwords[t] {
			continue
		}
		seen[t] = true
		n := 0
		for _, p := range s.bm.post[t] {
			if s.bm.length[p.slot] >= 0 {
				n++
			}
		}
		if n == 0 && isCJKTerm(t) {
			// a bigram found nowhere mostly spans a word boundary of the
			// question ("白在" of "李白在哪"): segmentation noise, not a
			// missing concept, unlike an absent word
			continue
		}
		idf := 1.0
		if s.bm.live > 0 {
			idf = max(0.01, logIDF(s.bm.live, n))
		}
		all += idf
		if have[t] {
			got += idf
		}
	}
	if all == 0 {
		return 0
	}
	return got / all
}
