// Reference: lm-evaluation-harness (api/metrics.py and models/huggingface.py: acc, acc_norm by the
// choice's length in characters, acc_bytes by its UTF-8 bytes; a context's trailing spaces moved to the
// continuation; the continuation's tokens are those of context+continuation after the context's) and
// llama.cpp tools/perplexity/perplexity.cpp (hellaswag_score, winogrande_score, multiple_choice_score:
// "question + ' ' + answer" tokenized with BOS, scored after the options' common prefix, mean per token).

package eval

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gptgo/gptgo/tokenizer"
)

// Style is how an item's options are tokenized and which tokens count.
type Style int

const (
	// StyleHarness is lm-evaluation-harness's: the option is the
	// continuation of Context after Delim; the scored tokens are those of
	// Context+Delim+option that follow Context's own tokens.
	StyleHarness Style = iota
	// StyleLlama is llama-perplexity's --hellaswag and --multiple-choice:
	// Context+" "+option tokenized with BOS, scored from the first token
	// where the options' tokens differ.
	StyleLlama
	// StyleWinogrande is llama-perplexity's --winogrande: each option fills
	// the blank between Context and Suffix; the scored tokens are those
	// after the option (the sentence's rest), without the last, when both
	// sentences have more than 3 tokens after their common prefix, else the
	// tokens after the common prefix.
	StyleWinogrande
)

// Item is one multiple-choice question.
type Item struct {
	Context string   // the question, or the text the options continue
	Choices []string // the options as written
	Gold    int      // index of the correct option
	Delim   string   // between Context and an option (StyleHarness); lm-eval's target_delimiter, usually " "
	Suffix  string   // the sentence after the blank (StyleWinogrande)
	Style   Style
}

// Option is one scored option of an item.
type Option struct {
	Tokens   []int32 // the whole sequence: context and option
	From, To int     // the scored tokens are Tokens[From:To]
	LogLik   float64 // Σ log p over the scored tokens
}

// N is the number of scored tokens.
func (o Option) N() int { return o.To - o.From }

// ItemResult is an item's options after scoring and the picks by each rule.
type ItemResult struct {
	Options []Option
	Gold    int
	Pick    map[string]int // metric name → the option it picks
}

// Metric names of a multiple-choice task.
const (
	MetricAcc      = "acc"       // argmax of the summed log-likelihood
	MetricAccNorm  = "acc_norm"  // argmax of log-likelihood / the option's length in characters (lm-eval)
	MetricAccBytes = "acc_bytes" // argmax of log-likelihood / the option's length in UTF-8 bytes (lm-eval)
	MetricAccToken = "acc_token" // argmax of the mean log-likelihood per scored token (llama-perplexity's score)
)

// Prepare tokenizes the item's options as its Style says.
func (it *Item) Prepare(tok *tokenizer.Tokenizer) ([]Option, error) {
	if len(it.Choices) < 2 {
		return nil, fmt.Errorf("eval: an item needs at least 2 options, it has %d", len(it.Choices))
	}
	if it.Gold < 0 || it.Gold >= len(it.Choices) {
		return nil, fmt.Errorf("eval: answer %d is not one of the %d options", it.Gold, len(it.Choices))
	}
	enc := func(s string) []int32 { return tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true}) }
	opts := make([]Option, len(it.Choices))
	switch it.Style {
	case StyleHarness:
		// lm-eval moves the context's trailing spaces onto the continuation.
		c := it.Context
		cont := it.Delim
		trimmed := strings.TrimRight(c, " ")
		cont = c[len(trimmed):] + cont
		c = trimmed
		ctxToks := enc(c)
		for i, ch := range it.Choices {
			whole := enc(c + cont + ch)
			from := max(1, min(len(ctxToks), len(whole)-1))
			opts[i] = Option{Tokens: whole, From: from, To: len(whole)}
		}
	case StyleLlama:
		for i, ch := range it.Choices {
			opts[i].Tokens = enc(it.Context + " " + ch)
		}
		cp := sharedPrefix(opts)
		for i := range opts {
			// Each option is longer than the shared prefix unless two are
			// equal; score at least the last token so none is empty.
			opts[i].From = max(1, min(cp, len(opts[i].Tokens)-1))
			opts[i].To = len(opts[i].Tokens)
		}
	case StyleWinogrande:
		if len(it.Choices) != 2 {
			return nil, fmt.Errorf("eval: a Winogrande item has 2 options, this one %d", len(it.Choices))
		}
		base := make([]int, 2)
		for i, ch := range it.Choices {
			opts[i].Tokens = enc(it.Context + ch + it.Suffix)
			base[i] = len(enc(it.Context + ch))
		}
		cp := sharedPrefix(opts)
		const minTrailing = 3 // llama.cpp's k_min_trailing_ctx
		skipChoice := len(opts[0].Tokens)-cp > minTrailing && len(opts[1].Tokens)-cp > minTrailing
		for i := range opts {
			nb := cp
			if skipChoice {
				nb = base[i]
			}
			n := len(opts[i].Tokens)
			last := 0
			if n-nb > 1 {
				last = 1
			}
			opts[i].From, opts[i].To = max(1, min(nb, n-1)), max(n-last, 1)
			if opts[i].To <= opts[i].From {
				opts[i].To = n
			}
		}
	default:
		return nil, fmt.Errorf("eval: unknown item style %d", it.Style)
	}
	return opts, nil
}

// sharedPrefix is the number of leading tokens all options share.
func sharedPrefix(opts []Option) int {
	cp := len(opts[0].Tokens)
	for _, o := range opts[1:] {
		cp = min(cp, commonPrefix(opts[0].Tokens, o.Tokens))
	}
	return cp
}

// ScoreItem tokenizes and scores every option of it. Consecutive options
// share their prefix in the scorer's KV cache.
func (s *Scorer) ScoreItem(ctx context.Context, it *Item) (ItemResult, error) {
	opts, err := it.Prepare(s.tok)
	if err != nil {
		return ItemResult{}, err
	}
	for i := range opts {
		o := &opts[i]
		if len(o.Tokens) > s.Ctx() {
			return ItemResult{}, fmt.Errorf("eval: option %d is %d tokens, more than the context of %d (--ctx)", i+1, len(o.Tokens), s.Ctx())
		}
		lps, err := s.LogProbs(ctx, o.Tokens[:o.To], o.From)
		if err != nil {
			return ItemResult{}, err
		}
		for _, lp := range lps {
			o.LogLik += lp
		}
	}
	r := ItemResult{Options: opts, Gold: it.Gold, Pick: map[string]int{}}
	r.Pick[MetricAcc] = argmax(len(opts), func(i int) float64 { return opts[i].LogLik })
	r.Pick[MetricAccNorm] = argmax(len(opts), func(i int) float64 {
		return opts[i].LogLik / float64(max(1, utf8.RuneCountInString(it.Choices[i])))
	})
	r.Pick[MetricAccBytes] = argmax(len(opts), func(i int) float64 {
		return opts[i].LogLik / float64(max(1, len(it.Choices[i])))
	})
	r.Pick[MetricAccToken] = argmax(len(opts), func(i int) float64 {
		return opts[i].LogLik / float64(max(1, opts[i].N()))
	})
	return r, nil
}

// argmax is the first index of the largest f(i), as numpy's argmax and
// llama.cpp's strict '>' scan pick it.
func argmax(n int, f func(int) float64) int {
	best, bv := 0, f(0)
	for i := 1; i < n; i++ {
		if v := f(i); v > bv {
			best, bv = i, v
		}
	}
	return best
}
