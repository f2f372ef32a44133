// Reference: ymcui/Chinese-LLaMA-Alpaca scripts/merge_tokenizer/
// merge_tokenizers.py (append the pieces of a Chinese SentencePiece model
// that LLaMA lacks, score 0, keeping every LLaMA id) and Cui, Yang & Yao
// 2023, "Efficient and Effective Text Encoding for Chinese LLaMA and Alpaca".

package tokenizer

import "fmt"

// ExtendOptions configure Extend.
type ExtendOptions struct {
	// Scores of the pieces added to a SentencePiece vocabulary:
	//   "zero" (default): 0, as Chinese-LLaMA's merge script sets them; the
	//       base's scores are negative, so added pieces merge first;
	//   "add": the pieces' own scores in the added vocabulary;
	//   "below": below every base score, in the added vocabulary's order,
	//       so base merges keep their priority.
	Scores string
}

// ExtendReport says what Extend did.
type ExtendReport struct {
	Base, Added, Skipped int // base size, pieces appended, pieces already present (or structural)
	MergesAdded          int // byte-level BPE: merge rules appended
}

// Extend returns base with the pieces of add that base lacks appended after
// it: every base id keeps its token, and the added pieces follow in add's
// order. Both must be of one kind. For SentencePiece (llama) vocabularies
// the added pieces are normal tokens scored as o.Scores says; add's
// control, unknown, byte and unused pieces are structural and skipped (a
// unigram model's pieces may be added too). For byte-level BPE (gpt2)
// vocabularies add's missing tokens are appended, then its merge rules that
// base lacks, ranked after base's; base's pre-tokenizer is kept.
func Extend(base, add *Vocab, o ExtendOptions) (*Vocab, ExtendReport, error) {
	rep := ExtendReport{Base: len(base.Tokens)}
	if base.Model != add.Model {
		return nil, rep, fmt.Errorf("tokenizer: cannot extend a %s vocabulary with a %s one", base.Model, add.Model)
	}
	if base.Unigram {
		return nil, rep, fmt.Errorf("tokenizer: the base vocabulary is a SentencePiece unigram model; only BPE bases can be extended")
	}
	if len(add.Types) != len(add.Tokens) || (add.Scores != nil && len(add.Scores) != len(add.Tokens)) {
		return nil, rep, fmt.Errorf("tokenizer: added vocabulary has %d tokens, %d types, %d scores", len(add.Tokens), len(add.Types), len(add.Scores))
	}
	if err := base.check(); err != nil {
		return nil, rep, err
	}
	out := *base
	out.Tokens = append([]string(nil), base.Tokens...)
	out.Types = append([]TokenType(nil), base.Types...)
	if base.Scores != nil {
		out.Scores = append([]float32(nil), base.Scores...)
	}
	out.Merges = append([]string(nil), base.Merges...)
	have := make(map[string]bool, len(base.Tokens)+len(add.Tokens))
	for _, t := range base.Tokens {
		have[t] = true
	}
	lowest := float32(0)
	for _, s := range out.Scores {
		lowest = min(lowest, s)
	}
	switch o.Scores {
	case "", "zero", "add", "below":
	default:
		return nil, rep, fmt.Errorf("tokenizer: extend scores %q (want zero, add or below)", o.Scores)
	}
	for i, t := range add.Tokens {
		ty := add.Types[i]
		if have[t] || (base.Model == "llama" && ty != TypeNormal && ty != TypeUserDefined) {
			rep.Skipped++
			continue
		}
		have[t] = true
		out.Tokens = append(out.Tokens, t)
		out.Types = append(out.Types, ty)
		if out.Scores != nil {
			s := float32(0)
			switch o.Scores {
			case "add":
				if add.Scores != nil {
					s = add.Scores[i]
				}
			case "below":
				lowest--
				s = lowest
			}
			out.Scores = append(out.Scores, s)
		}
		rep.Added++
	}
	if base.Model == "gpt2" {
		rules := make(map[string]bool, len(out.Merges))
		for _, m := range out.Merges {
			rules[m] = true
		}
		for _, m := range add.Merges {
			if !rules[m] {
				rules[m] = true
				out.Merges = append(out.Merges, m)
				rep.MergesAdded++
			}
		}
	}
	return &out, rep, nil
}
