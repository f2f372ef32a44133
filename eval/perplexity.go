// Reference: llama.cpp tools/perplexity/perplexity.cpp (perplexity(): the text tokenized once with BOS,
// cut into len/n_ctx chunks of n_ctx tokens, each run from an empty cache with its first token replaced
// by BOS, the second half of each chunk scored: positions n_ctx/2 … n_ctx−2 predicting the next token;
// "Final estimate: PPL = exp(mean) +/- ppl·√((mean(nll²)−mean²)/(count−1))"); nanoGPT's estimate_loss
// for the every-position mode.

package eval

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/gptgo/gptgo/model"
)

// PPLMode is which positions of a window are scored.
type PPLMode string

const (
	// PPLLlama is llama-perplexity's: whole chunks of Ctx tokens, the first
	// made BOS (when the model adds one), the second half scored.
	PPLLlama PPLMode = "llama"
	// PPLAll scores every position after a window's first, windows of Ctx
	// tokens from 0, Ctx, 2·Ctx, … (the last may be short): a training
	// run's validation loss.
	PPLAll PPLMode = "all"
)

// PPLOptions configure Perplexity.
type PPLOptions struct {
	Mode   PPLMode
	Ctx    int   // window (n_ctx); at most the state's context
	Chunks int   // score only the first Chunks windows (llama-perplexity's --chunks); 0 means all
	BOS    int32 // PPLLlama: the token each chunk starts with; −1 when the model adds none
	// TokenBytes, when set, gives the bytes of text a token stands for,
	// for bits per byte.
	TokenBytes func(id int32) int
	// Base, when set in PPLLlama mode, receives the log-probabilities of
	// every scored position in llama-perplexity's --kl-divergence-base
	// file format (kld.go).
	Base io.Writer
	// Progress is called after each window.
	Progress func(done, total int, ppl float64)
}

// PPLResult is a perplexity run's outcome.
type PPLResult struct {
	Mode       PPLMode `json:"mode"`
	Ctx        int     `json:"ctx"`
	Windows    int     `json:"windows"`
	Tokens     int     `json:"tokens"` // scored
	Loss       float64 `json:"loss"`   // mean negative log-likelihood, nats per token
	Perplexity float64 `json:"perplexity"`
	// PerplexityErr is llama-perplexity's "+/-": the perplexity times the
	// standard error of the mean NLL.
	PerplexityErr float64 `json:"perplexity_err"`
	Bytes         int     `json:"bytes"` // bytes of the scored tokens
	BitsPerByte   float64 `json:"bits_per_byte"`
	nll2          float64
}

// Perplexity scores toks with st as o.Mode says.
func Perplexity(ctx context.Context, st *model.State, toks []int32, o PPLOptions) (*PPLResult, error) {
	n := o.Ctx
	if n < 2 {
		return nil, fmt.Errorf("eval: perplexity: a window of %d tokens (want at least 2)", n)
	}
	if n > st.Ctx() {
		return nil, fmt.Errorf("eval: perplexity: a window of %d tokens is more than the state's context of %d", n, st.Ctx())
	}
	r := &PPLResult{Mode: o.Mode, Ctx: n}
	var nll float64
	score := func(logits []float32, next int32) {
		v := -LogSoftmax(logits, next)
		nll += v
		r.nll2 += v * v
		r.Tokens++
		if o.TokenBytes != nil {
			r.Bytes += o.TokenBytes(next)
		}
	}
	switch o.Mode {
	case PPLLlama:
		if len(toks) < 2*n {
			return nil, fmt.Errorf("eval: perplexity: %d tokens; llama-perplexity's method needs at least 2×%d (twice the context)", len(toks), n)
		}
		chunks := len(toks) / n
		if o.Chunks > 0 {
			chunks = min(chunks, o.Chunks)
		}
		var base *kldWriter
		if o.Base != nil {
			var err error
			if base, err = newKLDWriter(o.Base, n, st.Model().Vocab, toks[:chunks*n]); err != nil {
				return nil, err
			}
		}
		first := n / 2
		w := make([]int32, n)
		for c := range chunks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			copy(w, toks[c*n:(c+1)*n])
			if o.BOS >= 0 {
				w[0] = o.BOS
			}
			st.Reset()
			err := st.ForwardAll(w, func(j int, logits []float32) error {
				if j < first || j >= n-1 {
					return nil
				}
				score(logits, w[j+1])
				if base != nil {
					return base.row(logits)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			r.Windows++
			if o.Progress != nil {
				o.Progress(r.Windows, chunks, math.Exp(nll/float64(r.Tokens)))
			}
		}
		if base != nil {
			if err := base.flush(); err != nil {
				return nil, err
			}
		}
	case PPLAll:
		if o.Base != nil {
			return nil, fmt.Errorf("eval: perplexity: the KL-divergence base is written in llama mode only")
		}
		if len(toks) < 2 {
			return nil, fmt.Errorf("eval: perplexity: %d token(s), nothing to score", len(toks))
		}
		windows := (len(toks)-2)/n + 1 // the starts 0, n, 2n, … up to len-2
		if o.Chunks > 0 {
			windows = min(windows, o.Chunks)
		}
		for start := 0; start+1 < len(toks) && r.Windows < windows; start += n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			w := toks[start:min(start+n, len(toks))]
			st.Reset()
			err := st.ForwardAll(w, func(i int, logits []float32) error {
				if i+1 < len(w) {
					score(logits, w[i+1])
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			r.Windows++
			if o.Progress != nil {
				o.Progress(r.Windows, windows, math.Exp(nll/float64(r.Tokens)))
			}
		}
	default:
		return nil, fmt.Errorf("eval: perplexity: mode %q is not llama or all", o.Mode)
	}
	st.Reset()
	r.Loss = nll / float64(r.Tokens)
	r.Perplexity = math.Exp(r.Loss)
	if v := r.nll2/float64(r.Tokens) - r.Loss*r.Loss; v > 0 && r.Tokens > 1 {
		r.PerplexityErr = math.Sqrt(v/float64(r.Tokens-1)) * r.Perplexity
	}
	if r.Bytes > 0 {
		r.BitsPerByte = nll / math.Ln2 / float64(r.Bytes)
	}
	return r, nil
}
