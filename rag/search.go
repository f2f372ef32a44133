// Reference: docs/rag.md "Retrieval": BM25 (bm25.go), dense (hnsw.go) or both fused (fusion.go:
// weighted reciprocal rank fusion, or the convex combination of normalised scores of Bruch,
// Gai & Ingber, ACM TOIS 2023).

package rag

import (
	"context"
	"fmt"
	"time"
)

// Mode picks the retrieval.
type Mode string

const (
	Hybrid Mode = "hybrid" // BM25 and dense lists fused (Fusion)
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

// Result is a retrieved chunk. Score is the mode's: BM25 score, cosine, or
// the fused score (reciprocal-rank, or the convex combination's 0…1). Coverage is the IDF-weighted share of
// the query's terms found in the chunk (0…1), the same scale for every
// mode, which the answerer's "not found" threshold reads.
type Result struct {
	Chunk    *Chunk
	Score    float64
	Coverage float64
}

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
		if fu.Method == FuseCC {
			hits = s.fuseCC(terms, q.Vec, n, q.K, keep, fu)
		} else {
			hits = fuse(s.bm.search(terms, n, keep), s.dense(q.Vec, n, keep), q.K, fu)
		}
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

// fuseCC is hybrid search by the convex combination (fuseCC): the n best
// of each retriever are the candidates, and a candidate missing from one
// list gets that retriever's exact score (BM25 0 where it holds no query
// term, its cosine to the query), so no score is guessed.
func (s *DirStore) fuseCC(terms []string, q []float32, n, k int, keep func(int32) bool, fu Fusion) []hit {
	bm := s.bm.scores(terms, keep)
	lex := ranking{hits: topOf(bm, n), floor: 0,
		score: func(slot int32) (float64, bool) { return bm[slot], true }}
	dense := ranking{hits: s.dense(q, n, keep), floor: -1,
		score: func(slot int32) (float64, bool) {
			v := s.g.Vec(slot)
			if len(v) != len(q) {
				return 0, false
			}
			return float64(dotRow(q, v)), true
		}}
	return fuseCC(lex, dense, k, fu)
}

// dense searches the graph, or every vector when a filter is set (a
// selective filter would leave the graph's candidate list empty).
func (s *DirStore) dense(q []float32, k int, keep func(int32) bool) []hit {
	if keep != nil {
		return s.g.Exact(q, k, keep)
	}
	return s.g.Search(q, k, nil)
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
