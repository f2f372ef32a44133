// Reference: Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and
// individual Rank Learning Methods" (SIGIR 2009): score = Σ 1/(k + rank), k = 60; Bruch, Gai &
// Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval" (ACM TOIS 2023): §4 the convex
// combination α·dense + (1−α)·lexical of min-max or theoretical-min-max normalised scores, §5 the
// weighted reciprocal rank fusion.

package rag

import (
	"fmt"
	"math"
	"slices"
)

// Fusion says how hybrid search merges the BM25 and the dense rankings.
//
// Method "rrf" (or "", which older code and stores meant) is weighted
// reciprocal rank fusion: a chunk scores (1 − DenseWeight)/(K + its BM25
// rank) + DenseWeight/(K + its dense rank), ranks from 1, nothing for a
// list it is not in. DenseWeight 0.5 is plain reciprocal rank fusion. It
// throws the scores away: BM25's confident first hit and a near tie look
// the same.
//
// Method "cc" is the convex combination of normalised scores (Bruch et
// al. §4): (1 − DenseWeight)·lexical + DenseWeight·dense, each normalised
// over the candidates (fuseCC says which, and how). A dense ranking much
// weaker than BM25's then only reorders BM25's near ties and leaves a
// clear first hit first; K is not used.
type Fusion struct {
	Method      string  `json:",omitempty"` // "rrf" ("" too) or "cc"
	K           float64 // rrf: > 0
	DenseWeight float64 // 0…1; BM25 has the rest
	Norm        string  `json:",omitempty"` // cc: "minmax" ("" too) or "tmm"
}

// The fusion methods and the normalisations of "cc".
const (
	FuseRRF = "rrf"
	FuseCC  = "cc"
	// NormMinMax maps a ranking's scores over the candidates to 0…1,
	// lowest to highest.
	NormMinMax = "minmax"
	// NormTMM (theoretical min-max) maps the score's floor (BM25 0, cosine
	// −1) to 0 and the best candidate's score to 1, so that a list of
	// uniformly poor scores stays low instead of being stretched.
	NormTMM = "tmm"
)

// DefaultRRF is the weighted reciprocal rank fusion chosen with the
// default embedder (models/embed.gguf) on the validation split of the
// SQuAD and CMRC sets (`kb eval --rrf-k 1,3,10,20,60 --dense-weight
// 0,0.1,…,0.6` on bake/embed/eval/*-val.json: the best mean recall@1, the
// smallest dense weight among equals), never on their held-out questions
// (docs/rag.md, "Retrieval quality"): k 60 as Cormack et al., the dense
// ranking a tenth.
var DefaultRRF = Fusion{Method: FuseRRF, K: rrfK, DenseWeight: 0.1}

// DefaultCC is the convex combination used where "cc" is asked for
// without a weight or normalisation: min-max, the dense ranking 0.6, the
// best "cc" setting of the same validation files (`kb eval --fusion cc
// --fusion-norm minmax,tmm --dense-weight 0,0.05,…,0.7`, the same rule),
// fixed before any held-out figure of "cc" was measured. The default
// embedder trained on those validation questions, so its dense ranking
// looks as good as BM25's there and the rule gives it a share that the
// held-out questions do not bear out (models/embed.md, "Choosing the
// fusion"). The K it carries is DefaultRRF's, unused by "cc".
var DefaultCC = Fusion{Method: FuseCC, K: rrfK, DenseWeight: 0.6, Norm: NormMinMax}

// DefaultFusion is hybrid search's fusion when neither the query nor the
// store sets one: DefaultRRF, because over the whole validation grid (both
// methods) the rule chose reciprocal rank fusion; "cc" is there to ask
// for (models/embed.md, "Choosing the fusion").
var DefaultFusion = DefaultRRF

// rrfK is the fusion constant of Cormack et al.
const rrfK = 60

// Defaults returns the method's default fusion (DefaultRRF or DefaultCC),
// for flags that set only some of the fields.
func (f Fusion) Defaults() Fusion {
	if f.Method == FuseCC {
		return DefaultCC
	}
	return DefaultRRF
}

// Check reports an unknown method or normalisation and out-of-range
// values.
func (f Fusion) Check() error {
	if !(f.DenseWeight >= 0 && f.DenseWeight <= 1) {
		return fmt.Errorf("rag: fusion dense weight %g must be within 0…1", f.DenseWeight)
	}
	switch f.Method {
	case "", FuseRRF:
		if !(f.K > 0) || math.IsInf(f.K, 0) {
			return fmt.Errorf("rag: fusion rrf k %g must be positive and finite", f.K)
		}
		if f.Norm != "" {
			return fmt.Errorf("rag: fusion rrf takes no normalisation (%q is for cc)", f.Norm)
		}
	case FuseCC:
		if f.Norm != "" && f.Norm != NormMinMax && f.Norm != NormTMM {
			return fmt.Errorf("rag: fusion normalisation %q is not minmax or tmm", f.Norm)
		}
	default:
		return fmt.Errorf("rag: fusion method %q is not rrf or cc", f.Method)
	}
	return nil
}

// String names the fusion as kb eval's table and errors show it.
func (f Fusion) String() string {
	if f.Method == FuseCC {
		n := f.Norm
		if n == "" {
			n = NormMinMax
		}
		return fmt.Sprintf("cc %s w %g", n, f.DenseWeight)
	}
	return fmt.Sprintf("rrf k %g w %g", f.K, f.DenseWeight)
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

// ranking is one retriever's answer, as the convex combination reads it.
type ranking struct {
	hits []hit // its best chunks, best first
	// score, when set, is the retriever's exact score of any chunk (false:
	// none, e.g. a chunk without vector); a candidate outside hits that it
	// cannot score takes the lowest score of hits.
	score func(slot int32) (float64, bool)
	floor float64 // the lowest score the retriever can give (NormTMM)
}

// fuseCC merges the lexical and dense rankings by the convex combination
// of normalised scores and returns the k best, best first.
//
// The candidates are the union of the two rankings' hits. Each candidate
// has a score in both rankings: its own where it is in the list, else the
// retriever's exact score of it (ranking.score), else the list's lowest.
// Each ranking's scores are normalised over the candidates, min-max ((s −
// min)/(max − min)) or theoretical min-max ((s − floor)/(max − floor));
// where the denominator is not positive (one candidate, all scores equal,
// an empty list) every candidate gets 0 from that ranking, which then does
// not order them, so no NaN can arise; a non-finite score counts as the
// floor of the normalisation. The fused score is (1 − w)·lexical +
// w·dense in float64; equal fused scores are ordered by slot, lowest
// first, so a result never depends on map order. Empty rankings give no
// result.
func fuseCC(lex, dense ranking, k int, fu Fusion) []hit {
	if k <= 0 {
		return nil
	}
	var slots []int32
	seen := map[int32]bool{}
	for _, l := range []ranking{lex, dense} {
		for _, h := range l.hits {
			if !seen[h.slot] {
				seen[h.slot] = true
				slots = append(slots, h.slot)
			}
		}
	}
	if len(slots) == 0 {
		return nil
	}
	fused := make([]float64, len(slots))
	for i, l := range []ranking{lex, dense} {
		w := 1 - fu.DenseWeight
		if i == 1 {
			w = fu.DenseWeight
		}
		if w == 0 {
			continue
		}
		norm := normalized(l, slots, fu.Norm)
		for j := range fused {
			fused[j] += w * norm[j]
		}
	}
	order := make([]int, len(slots))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case fused[a] > fused[b]:
			return -1
		case fused[a] < fused[b]:
			return 1
		}
		return int(slots[a]) - int(slots[b])
	})
	out := make([]hit, 0, min(k, len(order)))
	for _, i := range order[:min(k, len(order))] {
		out = append(out, hit{slots[i], float32(fused[i])})
	}
	return out
}

// normalized is l's score of each of slots, normalised as fuseCC says.
func normalized(l ranking, slots []int32, norm string) []float64 {
	listMin := math.Inf(1)
	in := make(map[int32]float64, len(l.hits))
	for _, h := range l.hits {
		v := float64(h.score)
		in[h.slot] = v
		if v < listMin {
			listMin = v
		}
	}
	raw := make([]float64, len(slots))
	for i, s := range slots {
		v, ok := in[s]
		if !ok && l.score != nil {
			v, ok = l.score(s)
		}
		if !ok {
			v = listMin // +Inf for an empty list: not finite, so the floor below
		}
		raw[i] = v
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range raw {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if norm == NormTMM {
		lo = l.floor
	}
	out := make([]float64, len(slots))
	d := hi - lo
	if !(d > 0) || math.IsInf(d, 0) {
		return out
	}
	for i, v := range raw {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			continue // the floor: 0
		}
		out[i] = min(1, max(0, (v-lo)/d))
	}
	return out
}

// topOf is the k best of scores, best first, ties by slot.
func topOf(scores map[int32]float64, k int) []hit {
	top := topK{k: k}
	for s, v := range scores {
		top.push(hit{s, float32(v)})
	}
	return top.sorted()
}
