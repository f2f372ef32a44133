// Reference: Karpukhin et al. 2020, "Dense Passage Retrieval" §3.2 and Table 3 (a BM25 passage
// that does not hold the answer as each question's hard negative); Qu et al. 2021, RocketQA
// §4.2 (false negatives among the very top: sample from the top ranks instead of taking the first).

package rag

import (
	"math/rand/v2"
	"strings"
)

// MineNegatives gives each (query, positive) pair a hard negative for
// contrastive training: a passage that BM25, the lexical baseline an
// embedder is measured against, ranks high for the query but that is not
// the query's positive. In-batch negatives are random passages, mostly
// easy; a model trained on them alone learns topic, not the finer word
// overlap BM25 exploits, and is beaten by BM25 on sets whose questions
// reuse their paragraph's words.
//
// The candidates are the distinct positives of the pairs with the same
// group (a source: a QA set's paragraphs, one corpus's passages), indexed
// with the knowledge base's BM25 and Terms. For pair i the negative is
// drawn, by (seed, i), from the first depth passages of its query's
// ranking that differ from its positive and do not contain the query
// text (an inverse cloze sentence left in another passage would be a
// false negative); the very first is often another right answer, which
// sampling from a few dilutes. A pair whose query ranks no other passage
// gets a random one of its group (not one holding the query); a group
// with one passage gives "".
func MineNegatives(queries, positives []string, groups []int, depth int, seed uint64) []string {
	out := make([]string, len(queries))
	if depth < 1 {
		depth = 1
	}
	byGroup := map[int][]int{}
	var order []int
	for i, g := range groups {
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	for _, g := range order {
		idx := byGroup[g]
		var docs []string
		slotOf := map[string]int32{}
		x := newBM25()
		for _, i := range idx {
			p := positives[i]
			if _, ok := slotOf[p]; ok {
				continue
			}
			slotOf[p] = int32(len(docs))
			x.add(int32(len(docs)), Terms(p))
			docs = append(docs, p)
		}
		if len(docs) < 2 {
			continue
		}
		scores := make([]float64, len(docs))
		for _, i := range idx {
			r := rand.New(rand.NewPCG(seed, 0x6d696e65^uint64(i))) // "mine"
			own := slotOf[positives[i]]
			q := strings.TrimSpace(queries[i])
			var cands []string
			for _, h := range x.searchDense(Terms(queries[i]), depth+8, scores) {
				if h.slot == own || (q != "" && strings.Contains(docs[h.slot], q)) {
					continue
				}
				cands = append(cands, docs[h.slot])
				if len(cands) == depth {
					break
				}
			}
			if len(cands) == 0 {
				// no other passage shares a term: any other one (tried a
				// few times, never one holding the query)
				for range 8 {
					j := r.IntN(len(docs) - 1)
					if j >= int(own) {
						j++
					}
					if q == "" || !strings.Contains(docs[j], q) {
						out[i] = docs[j]
						break
					}
				}
				continue
			}
			out[i] = cands[r.IntN(len(cands))]
		}
	}
	return out
}

// searchDense is search for an index with no dead slots, accumulating
// into scores (one per slot, zero on entry and on return) instead of a
// map: mining ranks every pair's query, thousands of searches.
func (x *bm25) searchDense(query []string, k int, scores []float64) []hit {
	avg := float64(x.total) / float64(max(1, x.live))
	if avg == 0 {
		avg = 1
	}
	var touched []int32
	seen := map[string]bool{}
	for _, t := range query {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := x.post[t]
		if len(ps) == 0 {
			continue
		}
		idf := logIDF(x.live, len(ps))
		for _, p := range ps {
			if scores[p.slot] == 0 {
				touched = append(touched, p.slot)
			}
			tf := float64(p.tf)
			scores[p.slot] += idf * tf * (x.k1 + 1) / (tf + x.k1*(1-x.b+x.b*float64(x.length[p.slot])/avg))
		}
	}
	top := topK{k: k}
	for _, s := range touched {
		top.push(hit{s, float32(scores[s])})
		scores[s] = 0
	}
	return top.sorted()
}
