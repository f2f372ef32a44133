// Reference: Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond"
// (2009), eq. 3.15 with Lucene's idf = ln(1 + (N - n + 0.5)/(n + 0.5)); k1 = 1.2, b = 0.75.

package rag

import "math"

// bm25 is an inverted index over the store's slots. A removed slot is
// marked dead (its length -1) and leaves the statistics at once; its
// postings stay until the store compacts, and searches skip them.
type bm25 struct {
	k1, b  float64
	post   map[string][]posting
	length []int32 // per slot: number of terms, -1 when dead
	live   int
	total  int64 // terms over live slots
}

type posting struct {
	slot int32
	tf   int32
}

func newBM25() *bm25 { return &bm25{k1: 1.2, b: 0.75, post: map[string][]posting{}} }

// add indexes slot (which must be the next one: slots are appended).
func (x *bm25) add(slot int32, terms []string) {
	for int(slot) >= len(x.length) {
		x.length = append(x.length, -1)
	}
	tf := map[string]int32{}
	for _, t := range terms {
		tf[t]++
	}
	for t, n := range tf {
		x.post[t] = append(x.post[t], posting{slot, n})
	}
	x.length[slot] = int32(len(terms))
	x.live++
	x.total += int64(len(terms))
}

func (x *bm25) remove(slot int32) {
	if int(slot) >= len(x.length) || x.length[slot] < 0 {
		return
	}
	x.live--
	x.total -= int64(x.length[slot])
	x.length[slot] = -1
}

// search scores every live slot holding a query term (and passing keep,
// when given) and returns the k best.
func (x *bm25) search(query []string, k int, keep func(int32) bool) []hit {
	return topOf(x.scores(query, keep), k)
}

// scores is the score of every live slot holding a query term (and
// passing keep, when given); a slot absent from it scores 0.
func (x *bm25) scores(query []string, keep func(int32) bool) map[int32]float64 {
	if x.live == 0 {
		return nil
	}
	avg := float64(x.total) / float64(x.live)
	if avg == 0 {
		avg = 1
	}
	scores := map[int32]float64{}
	seen := map[string]bool{}
	for _, t := range query {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := x.post[t]
		n := 0
		for _, p := range ps {
			if x.length[p.slot] >= 0 {
				n++
			}
		}
		if n == 0 {
			continue
		}
		idf := math.Log(1 + (float64(x.live)-float64(n)+0.5)/(float64(n)+0.5))
		for _, p := range ps {
			dl := x.length[p.slot]
			if dl < 0 || (keep != nil && !keep(p.slot)) {
				continue
			}
			tf := float64(p.tf)
			scores[p.slot] += idf * tf * (x.k1 + 1) / (tf + x.k1*(1-x.b+x.b*float64(dl)/avg))
		}
	}
	return scores
}

// logIDF is the idf of a term in n of N slots.
func logIDF(N, n int) float64 {
	return math.Log(1 + (float64(N)-float64(n)+0.5)/(float64(n)+0.5))
}
