// Reference: Rajpurkar et al., SQuAD 1.1/2.0 JSON format (data → paragraphs → context, qas);
// Karpukhin et al., "Dense Passage Retrieval" (2020): the DPR JSON format (question,
// positive_ctxs, negative_ctxs, hard_negative_ctxs) and top-k retrieval accuracy.

package rag

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// EvalSet is a retrieval benchmark: passages and questions, each question
// with the passages that hold its answer.
type EvalSet struct {
	Docs      []EvalDoc
	Questions []EvalQuestion
}

type EvalDoc struct{ ID, Text string }

type EvalQuestion struct {
	Text string
	Gold []string // ids of the passages holding the answer
}

// LoadEvalSet reads a SQuAD-format file (every paragraph a passage, every
// answerable question with its paragraph as gold) or a DPR-format file
// (positive, negative and hard-negative contexts are the passages,
// positives the gold).
func LoadEvalSet(path string) (*EvalSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rag: %w", err)
	}
	set := &EvalSet{}
	var squad struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					Question   string `json:"question"`
					Impossible bool   `json:"is_impossible"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &squad); err == nil && len(squad.Data) > 0 {
		for _, a := range squad.Data {
			for _, p := range a.Paragraphs {
				id := fmt.Sprintf("p%05d", len(set.Docs))
				set.Docs = append(set.Docs, EvalDoc{id, p.Context})
				for _, q := range p.QAs {
					if !q.Impossible {
						set.Questions = append(set.Questions, EvalQuestion{q.Question, []string{id}})
					}
				}
			}
		}
		return set, nil
	}
	type ctx struct{ Title, Text string }
	var dpr []struct {
		Question string `json:"question"`
		Pos      []ctx  `json:"positive_ctxs"`
		Neg      []ctx  `json:"negative_ctxs"`
		Hard     []ctx  `json:"hard_negative_ctxs"`
	}
	if err := json.Unmarshal(b, &dpr); err != nil || len(dpr) == 0 {
		return nil, fmt.Errorf("rag: %s: neither SQuAD ({\"data\": [...]}) nor DPR ([{\"question\", \"positive_ctxs\"...}]) JSON", path)
	}
	ids := map[string]string{}
	add := func(c ctx) string {
		key := c.Title + "\n" + c.Text
		if id, ok := ids[key]; ok {
			return id
		}
		id := fmt.Sprintf("p%05d", len(set.Docs))
		ids[key] = id
		set.Docs = append(set.Docs, EvalDoc{id, c.Title + "\n\n" + c.Text})
		return id
	}
	for _, q := range dpr {
		var gold []string
		for _, c := range q.Pos {
			gold = append(gold, add(c))
		}
		for _, c := range append(q.Neg, q.Hard...) {
			add(c)
		}
		set.Questions = append(set.Questions, EvalQuestion{q.Question, gold})
	}
	return set, nil
}

// EvalResult is recall@k per mode: the share of questions with a gold
// passage among the first k distinct passages retrieved.
type EvalResult struct {
	Docs, Chunks, Questions int
	Ingest                  time.Duration
	K                       []int
	Recall                  map[Mode][]float64
	Search                  map[Mode]time.Duration // total over the questions
	// Fused is hybrid's recall@k for each fusion Evaluate was given (then
	// Recall[Hybrid] is the first one's).
	Fused []FusedRecall `json:",omitempty"`
}

// FusedRecall is hybrid search's recall@k under one fusion.
type FusedRecall struct {
	Fusion Fusion
	Recall []float64
}

// Evaluate ingests the set's passages with in (its Store must be empty)
// and measures recall@k of each mode; hybrid is measured under each of
// fusions (none: the store's own), on the same index, each question
// embedded once.
func Evaluate(ctx context.Context, in *Ingester, set *EvalSet, modes []Mode, ks []int, fusions ...Fusion) (*EvalResult, error) {
	r := &EvalResult{Docs: len(set.Docs), Questions: len(set.Questions), K: ks, Recall: map[Mode][]float64{}, Search: map[Mode]time.Duration{}}
	start := time.Now()
	for _, d := range set.Docs {
		fr := in.IngestBytes(ctx, d.ID+".txt", []byte(d.Text))
		if fr.Err != nil {
			return nil, fr.Err
		}
		r.Chunks += fr.Chunks
	}
	r.Ingest = time.Since(start)
	maxK := 0
	for _, k := range ks {
		maxK = max(maxK, k)
	}
	var vecs [][]float32 // the questions' embeddings, when fusions are swept
	if len(fusions) > 1 && in.Embedder != nil {
		for i := 0; i < len(set.Questions); i += 32 {
			var texts []string
			for _, q := range set.Questions[i:min(i+32, len(set.Questions))] {
				texts = append(texts, q.Text)
			}
			v, err := in.Embedder.Embed(ctx, texts)
			if err != nil {
				return nil, fmt.Errorf("rag: embedding the questions: %w", err)
			}
			vecs = append(vecs, v...)
		}
	}
	type run struct {
		m  Mode
		fu *Fusion
	}
	var runs []run
	for _, m := range modes {
		if m != Hybrid || len(fusions) == 0 {
			runs = append(runs, run{m, nil})
			continue
		}
		for i := range fusions {
			runs = append(runs, run{m, &fusions[i]})
		}
	}
	for _, ru := range runs {
		m := ru.m
		hits := make([]int, len(ks))
		t0 := time.Now()
		for qi, q := range set.Questions {
			// chunks, not passages, are retrieved: ask for more and keep
			// each passage's first appearance
			query := Query{Text: q.Text, K: 4 * maxK, Mode: m, Fusion: ru.fu}
			if vecs != nil && m != BM25 {
				query.Vec = vecs[qi]
			}
			res, err := in.Store.Search(ctx, query)
			if err != nil {
				return nil, err
			}
			var order []string
			seen := map[string]bool{}
			for _, x := range res {
				id := strings.TrimSuffix(x.Chunk.Source, ".txt")
				if !seen[id] {
					seen[id] = true
					order = append(order, id)
				}
			}
			for i, k := range ks {
				for _, id := range order[:min(k, len(order))] {
					if containsString(q.Gold, id) {
						hits[i]++
						break
					}
				}
			}
		}
		rec := make([]float64, len(ks))
		for i := range ks {
			rec[i] = float64(hits[i]) / float64(max(1, len(set.Questions)))
		}
		if ru.fu != nil {
			r.Fused = append(r.Fused, FusedRecall{*ru.fu, rec})
			if len(r.Fused) > 1 {
				continue // Recall and Search are the first fusion's
			}
		}
		r.Search[m] = time.Since(t0)
		r.Recall[m] = rec
	}
	return r, nil
}

func containsString(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}
