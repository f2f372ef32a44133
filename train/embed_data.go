// Reference: SQuAD 2.0's JSON (Rajpurkar et al. 2018: data[].paragraphs[].{context, qas[].{question,
// is_impossible}}; CMRC 2018 uses the same layout) and DPR's retriever JSON (Karpukhin et al. 2020:
// [{question, positive_ctxs[{title, text}], hard_negative_ctxs[…]}]); recall@k as DPR's Table 2 reports it.

package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// QASet is a question-answering file turned into retrieval data: training
// pairs (question → its paragraph) from some paragraphs, and held-out
// questions over the other paragraphs, so that evaluation asks about text
// the model never trained on.
type QASet struct {
	Train    []EmbedPair
	Held     []string // held-out questions
	Passages []string // the held-out paragraphs, each once
	Answer   []int    // Answer[i]: the index in Passages of Held[i]'s paragraph

	// A validation split (ReadQASetSplit), trained on neither: for
	// choices made after training (hybrid fusion weights) that must not
	// look at the held-out questions.
	Val         []string
	ValPassages []string
	ValAnswer   []int
}

// ReadQASet reads a SQuAD-layout file (SQuAD 2.0, CMRC 2018) or a DPR
// retriever file and holds out every heldEvery-th paragraph (1-based: with
// 5, paragraphs 5, 10, …; 0 holds out none) with all its questions.
// SQuAD 2.0's unanswerable questions are left out: their paragraph does
// not answer them. A DPR question's paragraph is its first positive
// context, and its first hard negative becomes the pair's negative when
// every question has one.
func ReadQASet(path string, heldEvery int) (*QASet, error) {
	return ReadQASetSplit(path, heldEvery, 0)
}

// ReadQASetSplit is ReadQASet with a validation split as well: of the
// paragraphs not held out, those numbered 3, 3+valEvery, 3+2·valEvery, …
// (1-based; with held-out 5 and validation 10: 3, 13, 23, …, never a
// held-out one) go to Val with their questions instead of Train. 0 makes
// no validation split.
func ReadQASetSplit(path string, heldEvery, valEvery int) (*QASet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if heldEvery < 0 || valEvery < 0 {
		return nil, fmt.Errorf("train: %s: held-out interval %d, validation interval %d", path, heldEvery, valEvery)
	}
	type para struct {
		text      string
		questions []string
		negative  string
	}
	var paras []para
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var items []struct {
			Question     string `json:"question"`
			PositiveCtxs []struct {
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"positive_ctxs"`
			HardNegativeCtxs []struct {
				Text string `json:"text"`
			} `json:"hard_negative_ctxs"`
		}
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("train: %s: not a DPR retriever file: %w", path, err)
		}
		byText := map[string]int{}
		for _, it := range items {
			if it.Question == "" || len(it.PositiveCtxs) == 0 || it.PositiveCtxs[0].Text == "" {
				continue
			}
			text := it.PositiveCtxs[0].Text
			i, ok := byText[text]
			if !ok {
				i = len(paras)
				byText[text] = i
				paras = append(paras, para{text: text})
			}
			paras[i].questions = append(paras[i].questions, it.Question)
			if len(it.HardNegativeCtxs) > 0 && paras[i].negative == "" {
				paras[i].negative = it.HardNegativeCtxs[0].Text
			}
		}
	} else {
		var doc struct {
			Data []struct {
				Paragraphs []struct {
					Context string `json:"context"`
					QAs     []struct {
						Question     string `json:"question"`
						IsImpossible bool   `json:"is_impossible"`
					} `json:"qas"`
				} `json:"paragraphs"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("train: %s: not a SQuAD-layout file: %w", path, err)
		}
		for _, a := range doc.Data {
			for _, p := range a.Paragraphs {
				pa := para{text: p.Context}
				for _, q := range p.QAs {
					if !q.IsImpossible && q.Question != "" {
						pa.questions = append(pa.questions, q.Question)
					}
				}
				if pa.text != "" && len(pa.questions) > 0 {
					paras = append(paras, pa)
				}
			}
		}
	}
	if len(paras) == 0 {
		return nil, fmt.Errorf("train: %s: no paragraph with a question", path)
	}
	allNeg := true
	for _, p := range paras {
		allNeg = allNeg && p.negative != ""
	}
	s := &QASet{}
	for i, p := range paras {
		if heldEvery > 0 && (i+1)%heldEvery == 0 {
			for _, q := range p.questions {
				s.Held = append(s.Held, q)
				s.Answer = append(s.Answer, len(s.Passages))
			}
			s.Passages = append(s.Passages, p.text)
			continue
		}
		if valEvery > 0 && (i+1)%valEvery == 3%valEvery {
			for _, q := range p.questions {
				s.Val = append(s.Val, q)
				s.ValAnswer = append(s.ValAnswer, len(s.ValPassages))
			}
			s.ValPassages = append(s.ValPassages, p.text)
			continue
		}
		for _, q := range p.questions {
			pair := EmbedPair{Query: q, Positive: p.text}
			if allNeg {
				pair.Negative = p.negative
			}
			s.Train = append(s.Train, pair)
		}
	}
	return s, nil
}

// RecallAtK returns, for each k of ks, the share of queries whose right
// passage (answer[i]) is among the k passages of highest dot product with
// query i (unit vectors: cosine). Ties rank by passage index.
func RecallAtK(queries, passages [][]float32, answer []int, ks []int) []float64 {
	hits := make([]int, len(ks))
	scores := make([]float64, len(passages))
	idx := make([]int, len(passages))
	for i, q := range queries {
		for j, p := range passages {
			var dot float64
			for c := range q {
				dot += float64(q[c]) * float64(p[c])
			}
			scores[j], idx[j] = dot, j
		}
		sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
		rank := 0
		for r, j := range idx {
			if j == answer[i] {
				rank = r + 1
				break
			}
		}
		for n, k := range ks {
			if rank <= k {
				hits[n]++
			}
		}
	}
	out := make([]float64, len(ks))
	for n := range ks {
		if len(queries) > 0 {
			out[n] = float64(hits[n]) / float64(len(queries))
		}
	}
	return out
}

// EmbedAll embeds seqs with the trainer's current weights, 32 texts per
// pass, as unit vectors.
func (tr *EmbedTrainer) EmbedAll(seqs [][]int32) ([][]float32, error) {
	var out [][]float32
	for i := 0; i < len(seqs); i += 32 {
		v, err := tr.Embed(seqs[i:min(i+32, len(seqs))])
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}
