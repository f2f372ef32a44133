// Reference: llama.cpp tools/perplexity/perplexity.cpp (perplexity(): chunks of n_ctx tokens with BOS
// first, the second half scored; --kl-divergence-base/--kl-divergence) through eval/perplexity.go and
// eval/kld.go; nanoGPT's estimate_loss (every position of a window scored) for --mode all. Bits per byte
// as in the Chinchilla and The Pile papers.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/eval"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "perplexity",
		summary: "score a text or token shard with a model: loss per token, perplexity, bits per byte; KL divergence",
		usage: `[MODEL.gguf] FILE [--ctx N] [--mode llama|all] [--chunks N] [--json]
       [MODEL.gguf] FILE --kl-divergence-base BASE      (save the logits)
       [MODEL.gguf] --kl-divergence --kl-divergence-base BASE  (compare)

--mode llama (the default for a text FILE) computes what llama-perplexity
computes for the same file and -c: the text tokenized with BOS, cut into
chunks of --ctx tokens (default 512, at most the model's context), each
run from an empty cache with BOS first, and the second half of each chunk
scored; the perplexity is printed with llama-perplexity's "+/-".
--mode all (the default for a GPTGOTOK shard of the model's vocabulary)
scores every token after a window's first, windows of --ctx tokens (default:
the model's context): a training run's validation loss. Bits per byte divide
the total negative log-likelihood by the UTF-8 bytes of the scored tokens.

--kl-divergence-base BASE with FILE saves the log-probabilities of every
scored position in llama-perplexity's file format; with --kl-divergence
(and no FILE) the model, say a quantized one, is run over BASE's tokens
and compared: mean KL divergence, top-token agreement, Δp and
PPL(Q) − PPL(base), as llama-perplexity prints them. Without MODEL the
embedded default model is used.`,
		run: runPerplexity,
	})
}

// perplexityResult is the --json output.
type perplexityResult = eval.PPLResult

func runPerplexity(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "perplexity", "[MODEL.gguf] FILE [--ctx N] [--json]")
	f := addLoadFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr")
	mode := fs.String("mode", "", "llama (llama-perplexity's chunks, second halves scored) or all (every position); default: llama for text, all for a token shard")
	chunks := fs.Int("chunks", 0, "score only the first N chunks (llama-perplexity's --chunks; 0: all)")
	kldBase := fs.String("kl-divergence-base", "", "the file of base log-probabilities: written with FILE, read with --kl-divergence")
	kld := fs.Bool("kl-divergence", false, "compare the model with --kl-divergence-base's log-probabilities")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if *chunks < 0 {
		return fmt.Errorf("--chunks %d: want 0 or more", *chunks)
	}
	if *kld {
		if *kldBase == "" || len(pos) != 0 {
			return fmt.Errorf("--kl-divergence: give --kl-divergence-base BASE and no text file (the tokens are BASE's)")
		}
		return runKLDivergence(ctx, e, path, f, *kldBase, *quiet)
	}
	if len(pos) != 1 {
		return errUsage
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	shard := hasMagic(pos[0], data.ShardMagic)
	m := eval.PPLMode(*mode)
	switch {
	case m == "" && shard:
		m = eval.PPLAll
	case m == "":
		m = eval.PPLLlama
	case m != eval.PPLLlama && m != eval.PPLAll:
		return fmt.Errorf("--mode %q: want llama or all", *mode)
	}
	toks, err := perplexityTokens(pos[0], in.tok, m == eval.PPLLlama)
	if err != nil {
		return err
	}
	n := in.st.Ctx()
	if m == eval.PPLLlama && *f.ctx == 0 {
		n = min(512, n) // llama-perplexity's default -c
	}
	o := eval.PPLOptions{Mode: m, Ctx: n, Chunks: *chunks, BOS: -1, TokenBytes: func(id int32) int { return tokenBytes(in.tok, id) }}
	if in.tok.AddBOS() && !shard {
		o.BOS = in.tok.BOS()
	}
	bar := newProgressBar(e.stderr)
	defer bar.end()
	o.Progress = func(done, total int, ppl float64) {
		if !*quiet {
			bar.draw(int64(done), int64(total), fmt.Sprintf("window %d of %d, perplexity so far %.3f", done, total, ppl))
		}
		e.at(fmt.Sprintf("perplexity: window %d of %d", done, total))
	}
	var base *atomicfile.File
	if *kldBase != "" {
		if m != eval.PPLLlama {
			return fmt.Errorf("--kl-divergence-base: the base is saved in --mode llama only")
		}
		if base, err = atomicfile.Create(*kldBase); err != nil {
			return err
		}
		defer base.Abort()
		o.Base = base
	}
	res, err := eval.Perplexity(ctx, in.st, toks, o)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if base != nil {
		if err := base.Commit(); err != nil {
			return err
		}
	}
	bar.end()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "%s: %s scored in %s of %d: loss %.4f nats/token, perplexity %.3f, %.4f bits/byte (%s)\n",
		pos[0], plural(res.Tokens, "1 token", "%d tokens"), plural(res.Windows, "1 window", "%d windows"), n, res.Loss, res.Perplexity, res.BitsPerByte, plural(res.Bytes, "1 byte", "%d bytes"))
	if m == eval.PPLLlama {
		fmt.Fprintf(e.stdout, "Final estimate: PPL = %.4f +/- %.5f\n", res.Perplexity, res.PerplexityErr)
	}
	if base != nil {
		fmt.Fprintf(e.stdout, "saved the base log-probabilities to %s\n", *kldBase)
	}
	return nil
}

func runKLDivergence(ctx context.Context, e *env, path string, f *inferFlags, basePath string, quiet bool) error {
	fh, err := os.Open(basePath)
	if err != nil {
		return err
	}
	defer fh.Close()
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	o := eval.KLDOptions{BOS: -1, Vocab: in.m.Vocab}
	if in.tok.AddBOS() {
		o.BOS = in.tok.BOS()
	}
	bar := newProgressBar(e.stderr)
	defer bar.end()
	o.Progress = func(done, total int) {
		if !quiet {
			bar.draw(int64(done), int64(total), fmt.Sprintf("chunk %d of %d", done, total))
		}
		e.at(fmt.Sprintf("perplexity: KL divergence chunk %d of %d", done, total))
	}
	r, err := eval.KLDivergence(ctx, in.st, fh, o)
	if err != nil {
		return fmt.Errorf("%s: %w", basePath, err)
	}
	bar.end()
	r.Report(e.stdout)
	return nil
}

// perplexityTokens reads a GPTGOTOK shard of the model's vocabulary, or
// tokenizes a text file as one document (special tokens as text; BOS first
// when withBOS and the model adds one, as llama-perplexity tokenizes). In
// llama mode one final newline is dropped first, as llama.cpp's -f does
// when it reads the file: the token counts then agree to the last.
func perplexityTokens(path string, tok *tokenizer.Tokenizer, withBOS bool) ([]int32, error) {
	if !hasMagic(path, data.ShardMagic) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text := string(b)
		if withBOS {
			text = strings.TrimSuffix(text, "\n")
		}
		return tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: withBOS && tok.AddBOS()}), nil
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
