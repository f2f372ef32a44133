// Reference: llama.cpp examples/perplexity (the text cut into windows of n_ctx tokens, each run from an
// empty cache; mean negative log-likelihood and its exponent); nanoGPT's estimate_loss (every position
// of a window scored). Bits per byte as in the Chinchilla and The Pile papers.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "perplexity",
		summary: "score a text or token shard with a model: loss per token, perplexity, bits per byte",
		usage: `[MODEL.gguf] FILE [--ctx N] [--json]

FILE is text, or a GPTGOTOK shard of the model's vocabulary. It is cut into
windows of --ctx tokens (default: the model's context), each run from an
empty cache, and every token after a window's first is scored. Bits per byte
divide the total negative log-likelihood by the UTF-8 bytes the scored
tokens decode to, so models with different vocabularies compare on the same
text. Without MODEL the embedded default model is used.`,
		run: runPerplexity,
	})
}

// perplexityResult is the --json output.
type perplexityResult struct {
	Tokens      int     `json:"tokens"` // scored
	Windows     int     `json:"windows"`
	Ctx         int     `json:"ctx"`
	Loss        float64 `json:"loss"` // mean negative log-likelihood, nats per token
	Perplexity  float64 `json:"perplexity"`
	Bytes       int     `json:"bytes"` // bytes of the scored tokens
	BitsPerByte float64 `json:"bits_per_byte"`
}

func runPerplexity(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "perplexity", "[MODEL.gguf] FILE [--ctx N] [--json]")
	f := addLoadFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	toks, err := perplexityTokens(pos[0], in.tok)
	if err != nil {
		return err
	}
	n := in.st.Ctx()
	if len(toks) < 2 {
		return fmt.Errorf("%s: %s: nothing to score", pos[0], plural(len(toks), "1 token", "%d tokens"))
	}
	var res perplexityResult
	res.Ctx = n
	var nll float64
	// A megabyte of text is tens of seconds of windows: show where it is,
	// on stderr so that --json's stdout stays one object.
	windows := (len(toks)-2)/n + 1 // the starts 0, n, 2n, … up to len-2
	bar := newProgressBar(e.stderr)
	defer bar.end()
	for start := 0; start+1 < len(toks); start += n {
		if err := ctx.Err(); err != nil {
			return err
		}
		w := toks[start:min(start+n, len(toks))]
		if len(w) < 2 {
			break
		}
		in.st.Reset()
		err := in.st.ForwardAll(w, func(i int, logits []float32) error {
			if i+1 < len(w) {
				nll += logSumExp(logits) - float64(logits[w[i+1]])
				res.Tokens++
				res.Bytes += tokenBytes(in.tok, w[i+1])
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Windows++
		if !*quiet {
			bar.draw(int64(res.Windows), int64(windows), fmt.Sprintf("window %d of %d, perplexity so far %.3f", res.Windows, windows, math.Exp(nll/float64(res.Tokens))))
		}
		e.at(fmt.Sprintf("perplexity: window %d of %d", res.Windows, windows))
	}
	bar.end()
	res.Loss = nll / float64(res.Tokens)
	res.Perplexity = math.Exp(res.Loss)
	if res.Bytes > 0 {
		res.BitsPerByte = nll / math.Ln2 / float64(res.Bytes)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(res)
	}
	fmt.Fprintf(e.stdout, "%s: %s scored in %s of %d: loss %.4f nats/token, perplexity %.3f, %.4f bits/byte (%s)\n",
		pos[0], plural(res.Tokens, "1 token", "%d tokens"), plural(res.Windows, "1 window", "%d windows"), n, res.Loss, res.Perplexity, res.BitsPerByte, plural(res.Bytes, "1 byte", "%d bytes"))
	return nil
}

// perplexityTokens reads a GPTGOTOK shard of the model's vocabulary, or
// tokenizes a text file as one document (no BOS, special tokens as text).
func perplexityTokens(path string, tok *tokenizer.Tokenizer) ([]int32, error) {
	if !hasMagic(path, data.ShardMagic) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return tok.Encode(string(b), tokenizer.EncodeOptions{}), nil
	}
	h, raw, err := data.ReadShard(path)
	if err != nil {
		return nil, err
	}
	if int(h.VocabSize) != tok.VocabSize() {
		return nil, fmt.Errorf("%s: a shard of a %d-token vocabulary, the model's has %d", path, h.VocabSize, tok.VocabSize())
	}
	toks := make([]int32, len(raw))
	for i, t := range raw {
		toks[i] = int32(t) // ForwardAll rejects an id outside the vocabulary
	}
	return toks, nil
}

// tokenBytes is how many bytes of text id stands for: its raw bytes (a
// partial UTF-8 sequence counts what it holds; SentencePiece's ▁ is a
// space), nothing for control tokens. Decode of one token would drop the
// leading space of an SPM piece, as at the start of a text.
func tokenBytes(t *tokenizer.Tokenizer, id int32) int {
	if t.IsControl(id) {
		return 0
	}
	return len(t.TokenBytes(id))
}

// logSumExp is log Σ exp(x) in float64.
func logSumExp(x []float32) float64 {
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
