// Reference: Dolma's toolkit CLI (dolma tag / dedupe / mix) and datatrove's
// executors: one verb per stage plus `run` for a whole pipeline config.

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "data",
		summary: "clean a corpus: read, filter, de-duplicate, scrub PII, tokenize into shards",
		usage: `SUBCOMMAND [flags] ...

Subcommands:
  run CONFIG              run the pipeline a JSON config describes (see 'data config --default');
                          --runner beam runs it on Apache Beam (prism, Flink, Spark, Dataflow)
  config --default        print the default config, every option visible
  read INPUT...           read text/JSON/WARC/HTML into OUT/docs.jsonl (no filtering)
  filter INPUT...         language identification and quality rules
  dedup INPUT...          exact, line (--lines) and MinHash near-duplicate removal
  pii INPUT...            replace e-mails, phones, IPs, cards, IDs, URL secrets with <TYPE>
  tokenize INPUT...       encode into GPTGOTOK shards (--vocab MODEL.gguf or tokenizer file)
  self-instruct           generate Alpaca-format tasks from an OpenAI-compatible endpoint
                          (--url, --model, --seeds, --prompt, -o; Alpaca's filters and ROUGE-L)
  conversations INPUT...  prepare ShareGPT conversations for 'train sft': HTML to Markdown,
                          broken ones dropped, split to the context at turn boundaries (-o)

Every stage subcommand takes -o DIR, --config FILE (options; its stage list is
replaced), --stages (run just these, e.g. --stages language), --format,
--text-field, --text-unit, --workers and --quiet, and writes DIR/docs.jsonl,
DIR/rejected.jsonl, DIR/report.json and DIR/summary.txt.`,
		run: runData,
	})
}

func runData(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "run":
		return runDataRun(ctx, e, rest)
	case "config":
		return runDataConfig(e, rest)
	case "read":
		return runDataStage(ctx, e, sub, rest, nil)
	case "filter":
		return runDataStage(ctx, e, sub, rest, []string{data.StageLanguage, data.StageQuality})
	case "dedup":
		return runDataStage(ctx, e, sub, rest, []string{data.StageExactDedup, data.StageMinHash})
	case "pii":
		return runDataStage(ctx, e, sub, rest, []string{data.StagePII})
	case "tokenize":
		return runDataStage(ctx, e, sub, rest, []string{data.StageTokenize})
	case "self-instruct":
		return runDataSelfInstruct(ctx, e, rest)
	case "conversations":
		return runDataConversations(ctx, e, rest)
	case "-h", "--help", "help":
		c := commands["data"]
		printUsage(e.stdout, c)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (run, config, read, filter, dedup, pii, tokenize, self-instruct, conversations)", args[0])
}

func runDataConfig(e *env, args []string) error {
	fs := newFlags(e, "data config", "--default")
	def := fs.Bool("default", false, "print the default configuration")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if !*def {
		return fmt.Errorf("nothing to do: 'gptgo data config --default' prints the default config")
	}
	_, err := io.WriteString(e.stdout, data.DefaultConfig().JSON())
	return err
}

func runDataRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "data run", "CONFIG [--workers N] [--quiet] [--runner local|beam [--beam-runner NAME] [--beam-opt NAME=VALUE]...]")
	workers := fs.Int("workers", -1, "override the config's worker count (0 = all cores)")
	quiet := fs.Bool("quiet", false, "no progress line")
	runner := fs.String("runner", "local", "local (this process) or beam (the same stages as an Apache Beam pipeline, on --beam-runner; needs a build with -tags beam)")
	bf := addBeamFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	c, err := data.LoadConfig(pos[0])
	if err != nil {
		return err
	}
	if *workers >= 0 {
		c.Workers = *workers
	}
	switch *runner {
	case "local":
	case "beam":
		return bf.run(ctx, e, c, *quiet)
	default:
		return fmt.Errorf("--runner %q: want local or beam", *runner)
	}
	return runConfig(ctx, e, c, *quiet)
}

// runDataStage runs one stage (or a stage family) over the inputs on the command line.
func runDataStage(ctx context.Context, e *env, sub string, args []string, stages []string) error {
	fs := newFlags(e, "data "+sub, "INPUT... -o DIR [flags]")
	out := fs.String("o", "out", "output directory")
	cfgPath := fs.String("config", "", "JSON config whose options to use (its inputs, output and stages are ignored)")
	format := fs.String("format", "", "input format: auto, text, jsonl, json, warc, html")
	field := fs.String("text-field", "", "JSON field holding the text (default text)")
	unit := fs.String("text-unit", "", "plain text documents: file, blank (blank-line blocks) or line")
	workers := fs.Int("workers", 0, "parallel workers (0 = all cores)")
	quiet := fs.Bool("quiet", false, "no progress line")
	only := fs.String("stages", "", "comma-separated stages to run instead of the subcommand's own (e.g. --stages language)")
	var lines, noExact, noMinhash *bool
	var mode, vocab *string
	if sub == "dedup" {
		lines = fs.Bool("lines", false, "also remove lines repeated across the corpus")
		mode = fs.String("mode", "", "line dedup mode: first (keep the first copy) or all (remove every copy; reads input twice)")
		noExact = fs.Bool("no-exact", false, "skip exact document de-duplication")
		noMinhash = fs.Bool("no-minhash", false, "skip MinHash near-duplicate removal")
	}
	if sub == "tokenize" {
		vocab = fs.String("vocab", "", "tokenizer: a .gguf model or vocabulary, .tiktoken, tokenizer.json or .model")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errUsage
	}
	c := data.DefaultConfig()
	if *cfgPath != "" {
		if c, err = data.LoadConfig(*cfgPath); err != nil {
			return err
		}
	}
	c.Inputs, c.Output, c.Workers, c.WriteDocs = pos, *out, *workers, true
	if *format != "" {
		c.Read.Format = *format
	}
	if *field != "" {
		c.Read.TextField = *field
	}
	if *unit != "" {
		c.Read.TextUnit = *unit
	}
	c.Stages = stages
	if sub == "dedup" {
		c.Stages = nil
		if !*noExact {
			c.Stages = append(c.Stages, data.StageExactDedup)
		}
		if *lines {
			c.Stages = append(c.Stages, data.StageLineDedup)
		}
		if *mode != "" {
			c.LineDedup.Mode = *mode
		}
		if !*noMinhash {
			c.Stages = append(c.Stages, data.StageMinHash)
		}
	}
	if *only != "" {
		c.Stages = strings.Split(*only, ",")
	}
	if sub == "tokenize" {
		if *vocab != "" {
			c.Tokenize.Vocab = *vocab
		}
		if c.Tokenize.Vocab == "" {
			return fmt.Errorf("tokenize needs --vocab (a .gguf file or tokenizer file)")
		}
		c.WriteDocs = false
	}
	return runConfig(ctx, e, c, *quiet)
}

// tokEncoder adapts gptgo's tokenizer to data.Encoder: raw text is never
// parsed for special tokens, and each document ends with EOS (or EOT).
type tokEncoder struct{ t *tokenizer.Tokenizer }

func (te tokEncoder) Encode(s string) []int32 {
	return te.t.Encode(s, tokenizer.EncodeOptions{AddSpecial: false, ParseSpecial: false})
}

func (te tokEncoder) EOS() int32 {
	if id := te.t.EOS(); id >= 0 {
		return id
	}
	return te.t.EOT()
}

func (te tokEncoder) VocabSize() int { return te.t.VocabSize() }

func runConfig(ctx context.Context, e *env, c data.Config, quiet bool) error {
	var enc data.Encoder
	for _, s := range c.Stages {
		if s != data.StageTokenize {
			continue
		}
		if c.Tokenize.Vocab == "" {
			return fmt.Errorf("the tokenize stage needs tokenize.vocab in the config")
		}
		t, err := tokenizer.Load(c.Tokenize.Vocab)
		if err != nil {
			return err
		}
		enc = tokEncoder{t}
	}
	var progress func(data.Progress)
	if !quiet {
		progress = func(p data.Progress) {
			pass := ""
			if p.Pass == 0 {
				pass = "counting pass: "
			}
			fmt.Fprintf(e.stderr, "\r%s%d %s (%.0f/s)  %.1f MB (%.2f MB/s)  kept %d  %s   ", pass, p.Docs, oneOrMany(int(p.Docs), "doc", "docs"), p.DocsPS,
				float64(p.Bytes)/1e6, p.MBPS, p.Kept, p.Elapsed.Round(time.Second))
		}
	}
	rep, err := data.RunConfig(ctx, c, enc, progress)
	if !quiet {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	if err := rep.WriteSummary(e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nwrote %s\n", strings.Join(outputs(c), ", "))
	return nil
}

func outputs(c data.Config) []string {
	var out []string
	if c.WriteDocs {
		out = append(out, filepath.Join(c.Output, "docs.jsonl"))
	}
	out = append(out, filepath.Join(c.Output, "report.json"), filepath.Join(c.Output, "summary.txt"))
	for _, s := range c.Stages {
		if s == data.StageTokenize {
			dir := c.Tokenize.Dir
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(c.Output, dir)
			}
			out = append(out, filepath.Join(dir, c.Tokenize.Prefix+"-*.tok"))
		}
	}
	return out
}
