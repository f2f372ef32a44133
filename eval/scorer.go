// Reference: llama.cpp tools/perplexity/perplexity.cpp (log-softmax of a token's logits; the options of one
// task sharing their common prefix in the KV cache) and lm-evaluation-harness's loglikelihood requests
// (a continuation scored given its context, context and continuation tokenized together).

package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// Scorer computes log-probabilities of token sequences with one model
// state. It remembers which tokens its KV cache holds, so that scoring the
// options of one question, which share the question's tokens, runs the
// shared prefix through the model once (State.Truncate back to it).
type Scorer struct {
	st     *model.State
	tok    *tokenizer.Tokenizer
	cached []int32 // the tokens at positions 0…len-1 of st's KV cache

	// Evaluated counts the tokens pushed through the model; Reused the
	// tokens a shared prefix saved. Both are for reports and tests.
	Evaluated, Reused int
}

// NewScorer scores with st (which it resets) and tok.
func NewScorer(st *model.State, tok *tokenizer.Tokenizer) *Scorer {
	st.Reset()
	return &Scorer{st: st, tok: tok}
}

// Tokenizer is the tokenizer the scorer was made with.
func (s *Scorer) Tokenizer() *tokenizer.Tokenizer { return s.tok }

// Ctx is the most tokens one sequence may have.
func (s *Scorer) Ctx() int { return s.st.Ctx() }

// LogProbs returns log p(tokens[i] | tokens[:i]) for every i in [from,
// len(tokens)), in order. from must be at least 1 (the first token has no
// context). The cached prefix is reused up to from-1 tokens: the logits
// that predict tokens[from] come from position from-1, which must be
// computed.
func (s *Scorer) LogProbs(ctx context.Context, tokens []int32, from int) ([]float64, error) {
	if from < 1 || from > len(tokens) {
		return nil, fmt.Errorf("eval: score from token %d of %d (want 1…%d)", from, len(tokens), len(tokens))
	}
	if len(tokens) > s.st.Ctx() {
		return nil, fmt.Errorf("eval: a sequence of %d tokens is longer than the context of %d", len(tokens), s.st.Ctx())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from == len(tokens) {
		return nil, nil
	}
	keep := commonPrefix(s.cached, tokens)
	keep = min(keep, from-1)
	if err := s.st.Truncate(keep); err != nil {
		s.st.Reset()
		keep = 0
	}
	s.cached = s.cached[:keep]
	out := make([]float64, 0, len(tokens)-from)
	feed := tokens[keep:]
	err := s.st.ForwardAll(feed, func(i int, logits []float32) error {
		at := keep + i // the position whose logits these are: they predict tokens[at+1]
		if at+1 >= from && at+1 < len(tokens) {
			out = append(out, LogSoftmax(logits, tokens[at+1]))
		}
		return nil
	})
	if err != nil {
		s.st.Reset()
		s.cached = s.cached[:0]
		return nil, err
	}
	s.cached = append(s.cached, feed...)
	s.Evaluated += len(feed)
	s.Reused += keep
	return out, nil
}

// Reset forgets the cache (another user of the state ran it).
func (s *Scorer) Reset() {
	s.st.Reset()
	s.cached = s.cached[:0]
}

// LogSoftmax is log softmax(logits)[tok] in float64: logit − log Σ exp.
func LogSoftmax(logits []float32, tok int32) float64 {
	return float64(logits[tok]) - LogSumExp(logits)
}

// LogSumExp is log Σ exp(x) in float64, shifted by the maximum so that no
// term overflows.
func LogSumExp(x []float32) float64 {
	m := float64(x[0])
	for _, v := range x {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// commonPrefix is the number of leading tokens a and b share.
func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
