// Reference: llama.cpp convert_hf_to_gguf.py (what a new model file holds) and llama2.c's model init.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

func init() {
	register(&command{
		name:    "init",
		summary: "write a randomly initialised model of a given architecture and shape to GGUF",
		usage:   initUsage,
		run:     runInit,
	})
}

const initUsage = "OUT.gguf --dim C --layers L --heads H [--kv-heads K] --ff F (--vocab-from VOCAB.gguf | --vocab V) [flags]"

// maxInitBytes is the largest file init writes without --force: a random
// model beyond it is more likely a slip in --dim or --layers than a wish.
const maxInitBytes = 32 << 30

// checkInitSize refuses, before a byte is written, a file of about size
// bytes that exceeds maxInitBytes or the free space where out would go.
func checkInitSize(out string, size int64, force bool) error {
	if force {
		return nil
	}
	if free, ok := freeBytes(out); ok && size > free {
		return fmt.Errorf("%s would take about %s, but only %s is free there (--force to try anyway)", out, humanBytes(size), humanBytes(free))
	}
	if size > maxInitBytes {
		return fmt.Errorf("%s would take about %s, more than the %s init writes without --force", out, humanBytes(size), humanBytes(maxInitBytes))
	}
	return nil
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "init", initUsage)
	arch := fs.String("arch", "llama", "architecture: "+strings.Join(append(model.Architectures(), model.EncoderArchitectures()...), ", "))
	dim := fs.Int("dim", 0, "embedding width (<arch>.embedding_length)")
	layers := fs.Int("layers", 0, "number of blocks (<arch>.block_count)")
	heads := fs.Int("heads", 0, "query heads (<arch>.attention.head_count)")
	kvHeads := fs.Int("kv-heads", 0, "key/value heads (0: as many as --heads; fewer is grouped-query attention)")
	headDim := fs.Int("head-dim", 0, "width of one head (0: dim / heads; llama only may differ)")
	ff := fs.Int("ff", 0, "feed-forward width (<arch>.feed_forward_length)")
	ctxLen := fs.Int("ctx", 2048, "context length the model is made for (<arch>.context_length)")
	vocabFrom := fs.String("vocab-from", "", "GGUF file whose tokenizer.* metadata (vocabulary, merges, chat template) the model takes")
	vocab := fs.Int("vocab", 0, "vocabulary size, without --vocab-from (the file then has no tokenizer, which llama.cpp needs)")
	typ := fs.String("type", "f16", "type of the matrices: f32, f16 or bf16 (norms and biases are f32); quantize afterwards for others")
	seed := fs.Uint64("seed", 1, "random seed: the same seed and shape give the same file")
	std := fs.Float64("std", 0.02, "standard deviation of the weights; projections into the residual stream get std/√(2·layers)")
	tied := fs.Bool("tied", false, "no output.weight: the head reuses token_embd (llama, qwen2)")
	name := fs.String("name", "", "general.name (default: \"<arch> <N>M random\")")
	eps := fs.Float64("eps", 0, "norm epsilon (0: the architecture's usual value)")
	ropeBase := fs.Float64("rope-base", 0, "RoPE frequency base (0: 10000 for llama, 1e6 for qwen2)")
	threads := fs.Int("threads", 0, "goroutines drawing weights (0: all cores); the file is the same for any value")
	force := fs.Bool("force", false, fmt.Sprintf("write the file even when it exceeds the free disk space or %s", humanBytes(maxInitBytes)))
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	out := pos[0]

	c, err := model.ArchConfig(*arch)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--dim", *dim}, {"--layers", *layers}, {"--heads", *heads}, {"--ff", *ff}, {"--ctx", *ctxLen}} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be given and positive (got %d)", f.name, f.v)
		}
	}
	if *kvHeads < 0 || *headDim < 0 || *vocab < 0 || *threads < 0 {
		return fmt.Errorf("--kv-heads, --head-dim, --vocab and --threads must not be negative")
	}
	c.Embd, c.Layers, c.Heads, c.FF, c.CtxTrain = *dim, *layers, *heads, *ff, *ctxLen
	c.KVHeads = *heads
	if *kvHeads > 0 {
		c.KVHeads = *kvHeads
	}
	c.HeadDim = *headDim
	if c.HeadDim == 0 {
		if c.Embd%c.Heads != 0 {
			return fmt.Errorf("--dim %d is not a multiple of --heads %d (give --head-dim for llama)", c.Embd, c.Heads)
		}
		c.HeadDim = c.Embd / c.Heads
	}
	c.RopeDims = c.HeadDim
	if *eps != 0 {
		c.NormEps = float32(*eps)
	}
	if *ropeBase != 0 {
		c.RopeBase = float32(*ropeBase)
	}

	o := model.InitOptions{Seed: *seed, Std: *std, Tied: *tied, Name: *name, Threads: *threads}
	if o.Type, err = tensor.ParseDType(strings.ToUpper(*typ)); err != nil {
		return err
	}
	if *std <= 0 {
		return fmt.Errorf("--std %g must be positive", *std)
	}
	switch {
	case *vocabFrom != "" && *vocab != 0:
		return fmt.Errorf("give --vocab-from or --vocab, not both")
	case *vocabFrom != "":
		vf, err := gguf.Open(*vocabFrom)
		if err != nil {
			return err
		}
		kv, n, err := model.TokenizerKV(vf)
		// The values are Go slices and strings copied out of the mapping by
		// the reader, so they outlive the file.
		vf.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *vocabFrom, err)
		}
		o.Tokenizer, c.Vocab = kv, n
	case *vocab > 0:
		c.Vocab = *vocab
		fmt.Fprintln(e.stderr, "warning: no --vocab-from: the file has no tokenizer; gptgo loads it, llama.cpp does not")
	default:
		return fmt.Errorf("give the vocabulary: --vocab-from FILE.gguf (or --vocab N for a model without a tokenizer)")
	}

	start := time.Now()
	h, src, err := model.RandomGGUF(c, o)
	if err != nil {
		return err
	}
	// The data section is all but the metadata (a few MB at most, for a
	// tokenizer): enough to refuse a file that cannot fit before writing it.
	data := h.DataSize()
	if err := checkInitSize(out, data, *force); err != nil {
		return err
	}
	removeStaleTemps(e.stderr, out)
	fmt.Fprintf(e.stderr, "writing %s: about %s, %s\n", out, humanBytes(data), plural(len(h.Tensors), "1 tensor", "%d tensors"))
	bar := newProgressBar(e.stderr)
	cw := &ctxWriter{ctx: ctx}
	if !*quiet {
		cw.onWrite = func(n int64) { bar.draw(n, data, humanBytes(n)) }
	}
	written := func(i int, w io.Writer) error {
		cw.w = w
		if err := src(i, cw); err != nil {
			return err
		}
		e.at(fmt.Sprintf("init: wrote tensor %d of %d", i+1, len(h.Tensors)))
		return nil
	}
	err = gguf.WriteFile(out, h, written)
	bar.end()
	if err != nil {
		return interrupted(ctx, err, out)
	}
	var params int64
	for _, ti := range h.Tensors {
		params += ti.Elements()
	}
	size := int64(0)
	if st, err := os.Stat(out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(e.stdout, "%s: %s, %s parameters, %v, %s, %s, seed %d, %.1fs\n",
		out, c.Arch, benchCount(params), o.Type, plural(len(h.Tensors), "1 tensor", "%d tensors"), benchBytes(size), *seed, time.Since(start).Seconds())
	return nil
}
