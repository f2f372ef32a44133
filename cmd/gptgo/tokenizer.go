// Reference: Hugging Face tokenizers' BpeTrainer and SentencePiece's
// spm_train (the training options), ymcui/Chinese-LLaMA-Alpaca
// merge_tokenizers.py (extend), Cui et al. 2023 §2.2 (tokens per character).

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "tokenizer",
		summary: "train a tokenizer, extend a vocabulary, measure tokens per character",
		usage: `SUBCOMMAND [flags] ...

Subcommands:
  train FILE... -o OUT [-o OUT2]   learn a BPE vocabulary from text / JSON / JSONL files
                                   (byte-level GPT-2 style, or --spm for SentencePiece style);
                                   OUT by extension: .gguf (vocab-only GGUF), .json
                                   (tokenizer.json, byte-level), .model (SentencePiece, --spm)
  extend BASE ADD OUT              append the pieces of ADD that BASE lacks; every BASE id kept
  stats VOCAB FILE... [--vs BASE]  tokens per byte, character, word and Chinese character
                                   (tok/han counts only the tokens of Chinese text);
                                   with --vs, VOCAB's tokens against BASE's`,
		run: runTokenizerCmd,
	})
}

func runTokenizerCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "train":
		return runTokenizerTrain(ctx, e, args[1:])
	case "extend":
		return runTokenizerExtend(e, args[1:])
	case "stats":
		return runTokenizerStats(e, args[1:])
	case "-h", "--help", "help":
		printUsage(e.stdout, commands["tokenizer"])
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (train, extend, stats)", args[0])
}

func runTokenizerTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenizer train", "FILE... -o OUT [flags]")
	var outs, specials stringList
	fs.Var(&outs, "o", "output file, repeatable: .gguf, .json (tokenizer.json), .model (SentencePiece)")
	size := fs.Int("vocab-size", 32000, "vocabulary size, special and byte tokens included")
	fs.Var(&specials, "special", "special token, repeatable (default <|endoftext|> for byte-level, none for --spm)")
	minFreq := fs.Int64("min-frequency", 0, "never merge a pair seen fewer times")
	pre := fs.String("pre", "gpt-2", "byte-level pre-tokenizer (tokenizer.ggml.pre: gpt-2, llama-bpe, qwen2, …)")
	field := fs.String("field", "", "JSON/JSONL: the field holding the text (default: the text field when present, else every string of a record)")
	workers := fs.Int("workers", 0, "counting goroutines (0: one per CPU)")
	spm := fs.Bool("spm", false, "train SentencePiece-style BPE (▁ for space, scores): a llama vocabulary")
	coverage := fs.Float64("character-coverage", 0.9995, "--spm: share of character occurrences single characters must cover")
	byteFallback := fs.Bool("byte-fallback", true, "--spm: add <0x00>…<0xFF> for characters outside the vocabulary")
	splitDigits := fs.Bool("split-digits", true, "--spm: every digit its own piece")
	quiet := fs.Bool("quiet", false, "no progress lines")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || len(outs) == 0 {
		return errUsage
	}
	for _, out := range outs {
		if err := tokenizer.CheckVocabPath(out); err != nil {
			return err
		}
	}
	if len(specials) == 0 && !*spm {
		specials = stringList{"<|endoftext|>"}
	}
	o := tokenizer.TrainOptions{VocabSize: *size, Specials: specials, MinFrequency: *minFreq, Pre: *pre, Workers: *workers}
	if !*quiet {
		last := time.Time{}
		o.Progress = func(done, target int) {
			if time.Since(last) > 2*time.Second || done == target {
				fmt.Fprintf(e.stderr, "merges: %d of %d\n", done, target)
				last = time.Now()
			}
		}
	}
	var tr *tokenizer.Trainer
	if *spm {
		tr, err = tokenizer.NewSPMTrainer(o, tokenizer.SPMOptions{CharacterCoverage: *coverage, ByteFallback: *byteFallback, SplitDigits: *splitDigits})
	} else {
		tr, err = tokenizer.NewTrainer(o)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	var empty []string
	for _, p := range pos {
		before := tr.BytesFed()
		if err := tr.AddFile(ctx, p, *field); err != nil {
			tr.Close()
			return err
		}
		if tr.BytesFed() == before {
			empty = append(empty, p)
		}
	}
	if len(empty) == len(pos) {
		tr.Close()
		return fmt.Errorf("no text to train on: %s %s empty", strings.Join(empty, ", "), oneOrMany(len(empty), "is", "are"))
	}
	for _, p := range empty {
		fmt.Fprintf(e.stderr, "warning: %s holds no text\n", p)
	}
	v, err := tr.Train(ctx)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if why := tr.Short(); why != "" && len(v.Tokens) < *size {
		fmt.Fprintf(e.stderr, "warning: the vocabulary has %d tokens, not the %d asked for (--vocab-size): %s\n", len(v.Tokens), *size, why)
	}
	for _, out := range outs {
		if err := v.WriteFile(out); err != nil {
			return err
		}
	}
	mb := float64(tr.BytesFed()) / 1e6
	merges := max(len(v.Merges), countNormal(v))
	fmt.Fprintf(e.stdout, "trained %d tokens (%d %s) on %.2f MB in %.2fs: %.2f MB/s, peak RSS %.0f MiB; wrote %s\n",
		len(v.Tokens), merges, oneOrMany(merges, "merge", "merges"), mb, took.Seconds(), mb/took.Seconds(), float64(peakRSS())/(1<<20), strings.Join(outs, ", "))
	return nil
}

// oneOrMany picks the word that agrees with n ("1 merge", "2 merges").
func oneOrMany(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// countNormal counts the merged pieces of a SentencePiece vocabulary (its
// normal pieces longer than one character).
func countNormal(v *tokenizer.Vocab) int {
	if v.Model != "llama" {
		return 0
	}
	n := 0
	for i, t := range v.Tokens {
		if v.Types[i] == tokenizer.TypeNormal && len([]rune(t)) > 1 {
			n++
		}
	}
	return n
}

func runTokenizerExtend(e *env, args []string) error {
	fs := newFlags(e, "tokenizer extend", "BASE ADD OUT [--scores zero|add|below]")
	scores := fs.String("scores", "zero", "scores of added SentencePiece pieces: zero (Chinese-LLaMA), add (their own), below (after every base piece)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return errUsage
	}
	base, err := tokenizer.LoadVocab(pos[0])
	if err != nil {
		return err
	}
	add, err := tokenizer.LoadVocab(pos[1])
	if err != nil {
		return err
	}
	if base.Name == "" {
		base.Name = strings.TrimSuffix(filepath.Base(pos[2]), filepath.Ext(pos[2]))
	}
	if err := tokenizer.CheckVocabPath(pos[2]); err != nil {
		return err
	}
	v, rep, err := tokenizer.Extend(base, add, tokenizer.ExtendOptions{Scores: *scores})
	if err != nil {
		return err
	}
	if err := v.WriteFile(pos[2]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d tokens = %d of %s + %d of %s (%d already present or structural)",
		pos[2], len(v.Tokens), rep.Base, pos[0], rep.Added, pos[1], rep.Skipped)
	if rep.MergesAdded > 0 {
		fmt.Fprintf(e.stdout, ", %d %s added", rep.MergesAdded, oneOrMany(rep.MergesAdded, "merge", "merges"))
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func runTokenizerStats(e *env, args []string) error {
	fs := newFlags(e, "tokenizer stats", "VOCAB FILE... [--vs BASE] [--field F]")
	vs := fs.String("vs", "", "a second vocabulary to compare against (prints both and the ratio)")
	field := fs.String("field", "", "JSON/JSONL: the field holding the text (default: the text field when present, else every string of a record)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return errUsage
	}
	vocabs := []string{pos[0]}
	if *vs != "" {
		vocabs = append([]string{*vs}, vocabs...)
	}
	toks := make([]*tokenizer.Tokenizer, len(vocabs))
	for i, p := range vocabs {
		if toks[i], err = tokenizer.Load(p); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "file\tvocab\tbytes\tchars\twords\than\ttokens\ttok/byte\ttok/char\ttok/word\ttok/han\t")
	for _, f := range pos[1:] {
		var first int64
		for i, tk := range toks {
			s, err := tokenizer.FileStats(tk, f, *field)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t\n", filepath.Base(f), filepath.Base(vocabs[i]),
				s.Bytes, s.Chars, s.Words, s.Han, s.Tokens, tokenizer.Per(s.Tokens, s.Bytes), tokenizer.Per(s.Tokens, s.Chars),
				tokenizer.Per(s.Tokens, s.Words), tokenizer.Per(s.HanTokens, s.Han))
			if i == 0 {
				first = s.Tokens
			} else {
				fmt.Fprintf(w, "%s\t%s\t\t\t\t\t%s\t\t\t\t\t\n", filepath.Base(f), "ratio", tokenRatio(s.Tokens, first))
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "tok/han: tokens overlapping a Han character per Han character (Chinese text only)")
	if *vs != "" {
		fmt.Fprintf(e.stdout, "ratio: tokens of %s against %s (--vs)\n", filepath.Base(pos[0]), filepath.Base(*vs))
	}
	return nil
}

// tokenRatio words how many tokens a vocabulary gives against a base
// vocabulary's count: "2.12x fewer", "1.21x more" or "same".
func tokenRatio(tokens, base int64) string {
	switch {
	case tokens == base:
		return "same"
	case tokens == 0:
		return "no tokens"
	case tokens < base:
		return fmt.Sprintf("%.2fx fewer", tokenizer.Per(base, tokens))
	}
	if base == 0 {
		return "more"
	}
	return fmt.Sprintf("%.2fx more", tokenizer.Per(tokens, base))
}
