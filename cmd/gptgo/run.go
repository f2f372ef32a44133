// Reference: llama.cpp examples/main/main.cpp and common/arg.cpp (flag names and defaults of the sampler,
// context and batch options) and examples/main's timing summary.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "run",
		summary: "generate a continuation of a prompt with a model (one shot)",
		usage:   "MODEL [PROMPT] [flags]   (PROMPT defaults to stdin; see 'gptgo run -h')",
		run:     runRun,
	})
}

// inferFlags are the options shared by run and chat: which model, how big a
// context, and how to sample.
type inferFlags struct {
	model     *string
	ctx       *int
	batch     *int
	threads   *int
	kvType    *string
	maxTokens *int
	temp      *float64
	topK      *int
	topP      *float64
	minP      *float64
	repeat    *float64
	lastN     *int
	freq      *float64
	presence  *float64
	seed      *int64
	stops     stringList
	ignoreEOS *bool
	truncate  *bool
	verbose   *bool
	loras     stringList // --lora FILE[:SCALE] (lora.go)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// addLoadFlags registers the flags that load a model and size its state
// (every command that runs a model has them).
func addLoadFlags(fs *flag.FlagSet) *inferFlags {
	f := &inferFlags{}
	f.model = fs.String("model", "", "the GGUF model file (or give it as the first argument)")
	f.ctx = fs.Int("ctx", 0, "context length in tokens (0: the model's, at most 4096)")
	f.batch = fs.Int("batch", model.DefaultBatch, "prompt tokens pushed through the model at once")
	f.threads = fs.Int("threads", 0, "worker threads (0: all cores)")
	f.kvType = fs.String("kv-type", "f16", "KV cache type: f16 (as llama.cpp) or f32")
	f.verbose = fs.Bool("verbose", false, "print load time, tokens/s and memory on stderr")
	fs.Var(&f.loras, "lora", "apply a LoRA adapter FILE[:SCALE] (llama.cpp's GGUF adapter; scale 1 unless given) without merging; repeatable")
	return f
}

// addInferFlags registers the load flags and the generation ones (sampler,
// stops, length), for the commands that generate text.
func addInferFlags(fs *flag.FlagSet, maxTokens int) *inferFlags {
	f := addLoadFlags(fs)
	f.maxTokens = fs.Int("n", maxTokens, "most tokens to generate (-1: until end of generation or a full context)")
	f.temp = fs.Float64("temp", 0.8, "temperature (0: greedy)")
	f.topK = fs.Int("top-k", 40, "keep the K most likely tokens (0: off)")
	f.topP = fs.Float64("top-p", 0.95, "keep the smallest set of tokens reaching probability P (1: off)")
	f.minP = fs.Float64("min-p", 0.05, "drop tokens less likely than P × the most likely (0: off)")
	f.repeat = fs.Float64("repeat-penalty", 1.0, "penalise tokens seen in the last --repeat-last-n (1: off)")
	f.lastN = fs.Int("repeat-last-n", 64, "tokens the penalties look back on (0: off, -1: all)")
	f.freq = fs.Float64("frequency-penalty", 0, "subtract count × this from recent tokens' logits")
	f.presence = fs.Float64("presence-penalty", 0, "subtract this from every recent token's logit")
	f.seed = fs.Int64("seed", -1, "random seed (-1: a random one, printed with --verbose)")
	fs.Var(&f.stops, "stop", "stop before this string (repeatable)")
	f.ignoreEOS = fs.Bool("ignore-eos", false, "keep generating past end-of-generation tokens")
	f.truncate = fs.Bool("truncate", false, "drop the oldest prompt tokens when the prompt does not fit (reported on stderr)")
	return f
}

// options turns the flags into generation options, choosing a seed if asked.
// Only for flags made by addInferFlags.
func (f *inferFlags) options() (generate.Options, uint64) {
	seed := uint64(*f.seed)
	if *f.seed < 0 {
		seed = rand.Uint64() >> 1
	}
	return generate.Options{
		Sampler: generate.SamplerOptions{
			Temperature: float32(*f.temp), TopK: *f.topK, TopP: float32(*f.topP), MinP: float32(*f.minP),
			RepeatPenalty: float32(*f.repeat), FrequencyPenalty: float32(*f.freq), PresencePenalty: float32(*f.presence),
			RepeatLastN: *f.lastN, Seed: seed,
		},
		MaxTokens:      *f.maxTokens,
		Stop:           f.stops,
		IgnoreEOG:      *f.ignoreEOS,
		TruncatePrompt: *f.truncate,
	}, seed
}

// samplerFlags names each generate.ParamError's setting by its flag.
var samplerFlags = map[string]string{
	"temperature": "--temp", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p",
	"repeat_penalty": "--repeat-penalty", "frequency_penalty": "--frequency-penalty",
	"presence_penalty": "--presence-penalty", "repeat_last_n": "--repeat-last-n",
}

// validate rejects flag values that cannot mean anything, naming the flag;
// the sampler's are checked by generate, as the chat's /set and the server's
// requests are.
func (f *inferFlags) validate() error {
	var errs []error
	bad := func(flag string, v any, want string) { errs = append(errs, fmt.Errorf("%s %v: %s", flag, v, want)) }
	if *f.ctx < 0 {
		bad("--ctx", *f.ctx, "must be ≥ 0 (0: the model's)")
	}
	if *f.batch < 1 {
		bad("--batch", *f.batch, "must be ≥ 1")
	}
	if *f.threads < 0 {
		bad("--threads", *f.threads, "must be ≥ 0 (0: all cores)")
	}
	if f.temp != nil { // the generation flags are registered
		if n := *f.maxTokens; n < -1 || n == 0 {
			bad("-n", n, "must be ≥ 1, or -1 for until the end of generation or a full context")
		}
		o, _ := f.options()
		for _, err := range unjoin(o.Sampler.Validate()) {
			var pe *generate.ParamError
			if errors.As(err, &pe) {
				bad(samplerFlags[pe.Param], pe.Value, pe.Want)
			} else {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unjoin returns the errors joined in err (err itself when it is not a join).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// parseModelArgs parses args (flags may follow positionals) and picks the
// model from --model, else from the first positional argument when it names
// a GGUF file (a .gguf name, or a file that starts with the GGUF magic),
// returning the remaining positionals. Without either the path is "": the
// embedded default model (package models). A first positional that was
// surely meant as the model (a .gguf name, a directory, or the first of two
// or more positionals) but is no model file is an error that says why,
// rather than a prompt or a usage text.
func (f *inferFlags) parseModelArgs(fs *flag.FlagSet, args []string) (string, []string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", nil, err
	}
	if err := f.validate(); err != nil {
		return "", nil, err
	}
	if *f.model != "" {
		return *f.model, pos, checkModelFile(*f.model)
	}
	if len(pos) == 0 {
		return "", pos, nil
	}
	if isGGUF(pos[0]) || looksLikeModelPath(pos[0]) || isDir(pos[0]) || len(pos) > 1 {
		// An existing file that is not GGUF goes on to model.Open, which
		// names what it lacks.
		return pos[0], pos[1:], checkModelFile(pos[0])
	}
	return "", pos, nil
}

// openModel opens the GGUF model at path, or the embedded default for "".
func openModel(path string) (*model.Model, error) {
	if open, ok := embeddedModel(path); ok && path != "" { // --model default-base (modelpath.go)
		f, err := open()
		if err != nil {
			return nil, err
		}
		m, err := model.OpenFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	}
	if path != "" {
		if err := checkModelFile(path); err != nil {
			return nil, err
		}
		return model.Open(path)
	}
	f, err := models.OpenDefault()
	if err != nil {
		return nil, err
	}
	m, err := model.OpenFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", models.DefaultName, err)
	}
	return m, nil
}

// displayName is path, or the default model's name for "".
func displayName(path string) string {
	if path == "" {
		return models.DefaultName
	}
	return path
}

// inference is a loaded model ready to generate.
type inference struct {
	m       *model.Model
	tok     *tokenizer.Tokenizer
	st      *model.State
	loadDur time.Duration
}

func (in *inference) Close() {
	if in.st != nil {
		in.st.Close()
	}
	in.m.Close()
}

// loadInference opens the model, its tokenizer and a state. Files over
// 1 GiB are paged in up front with progress on stderr.
func loadInference(e *env, path string, f *inferFlags) (*inference, error) {
	start := time.Now()
	kvF32, err := parseKVType(*f.kvType)
	if err != nil {
		return nil, err
	}
	m, err := openModel(path)
	if err != nil {
		return nil, err
	}
	if m, err = applyLoRA(m, f.loras); err != nil { // lora.go; closes m on error
		return nil, err
	}
	if err := checkVirtualUse(m, f); err != nil { // prompt_tuning.go
		m.Close()
		return nil, err
	}
	in := &inference{m: m}
	if size := int64(len(m.File().Bytes())); size >= 1<<30 || *f.verbose {
		m.Touch(func(done, total int64) {
			fmt.Fprintf(e.stderr, "\rloading %s: %3d%%", displayName(path), done*100/max(total, 1))
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		})
	}
	if in.tok, err = tokenizer.FromGGUF(m.File()); err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", displayName(path), err)
	}
	if in.st, err = m.NewState(model.Options{Ctx: *f.ctx, Batch: *f.batch, Threads: *f.threads, KVF32: kvF32}); err != nil {
		in.Close()
		return nil, err
	}
	in.loadDur = time.Since(start)
	if *f.verbose {
		c := m.Config
		fmt.Fprintf(e.stderr, "model: %s, %d layers, %d embd, %d heads (%d KV), vocab %d; weights %s, KV cache %s (%s, %d slots), buffers %s; loaded in %v\n",
			c.Arch, c.Layers, c.Embd, c.Heads, c.KVHeads, c.Vocab, inferMiB(m.WeightBytes()), inferMiB(in.st.KVBytes()), strings.ToUpper(*f.kvType),
			in.st.Ctx(), inferMiB(in.st.BufferBytes()), in.loadDur.Round(time.Millisecond))
	}
	return in, nil
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "[MODEL.gguf] [PROMPT] [flags]\n\nGenerates a continuation of PROMPT (or of stdin) with MODEL, or with the embedded default model when none is given. The prompt is tokenized with BOS as the model asks and special tokens parsed.")
	f := addInferFlags(fs, -1)
	asJSON := fs.Bool("json", false, "print one JSON object: prompt and generated ids, text, stop reason, timings")
	cf := addConstraintFlags(fs)
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errUsage
	}
	if err := cf.compile(); err != nil {
		return err
	}
	prompt, err := promptText(ctx, e, pos)
	if err != nil {
		return err
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	ids := in.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if len(ids) == 0 {
		return errors.New("the prompt is empty and the model adds no BOS token")
	}
	opts, seed := f.options()
	if opts.Constraint, err = cf.constraint(in.tok, in.m.File()); err != nil {
		return err
	}
	sess := generate.NewSession(in.st, generate.FromTokenizer(in.tok))
	var onToken func(generate.Token) error
	if !*asJSON && *cf.toolsFile == "" { // calls are printed once parsed
		onToken = func(t generate.Token) error {
			_, err := io.WriteString(e.stdout, t.Text)
			return err
		}
	}
	r, err := sess.Generate(ctx, ids, opts, onToken)
	if err != nil {
		return err
	}
	if opts.Constraint != nil && !opts.Constraint.Done() && r.Stop != generate.StopEOG {
		fmt.Fprintf(e.stderr, "warning: generation stopped (%s) before the output was complete under the schema or grammar\n", r.Stop)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(e.stderr, "warning: the prompt did not fit the context of %d; dropped %d tokens after the first\n", in.st.Ctx(), r.Dropped)
	}
	if *asJSON {
		return writeRunJSON(e.stdout, in, r, seed)
	}
	if *cf.toolsFile != "" {
		if err := cf.printCalls(e.stdout, r.Text); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout)
	}
	if *f.verbose {
		printTimings(e.stderr, r, seed)
	}
	return nil
}

// printTimings is the --verbose summary, after llama.cpp's.
func printTimings(w io.Writer, r *generate.Result, seed uint64) {
	fmt.Fprintf(w, "prompt: %d tokens (%d cached) in %v, %.1f tokens/s\n", len(r.Prompt), r.Reused, r.PromptTime.Round(time.Microsecond), r.PromptTokensPerSecond())
	fmt.Fprintf(w, "generation: %d tokens in %v, %.1f tokens/s; stopped: %s; seed %d\n", len(r.Tokens), r.GenerateTime.Round(time.Microsecond), r.TokensPerSecond(), r.Stop, seed)
	if rss, ok := residentBytes(); ok {
		fmt.Fprintf(w, "memory: %s resident\n", inferMiB(rss))
	}
}

func writeRunJSON(w io.Writer, in *inference, r *generate.Result, seed uint64) error {
	out := struct {
		PromptIDs []int32 `json:"prompt_ids"`
		IDs       []int32 `json:"ids"`
		Text      string  `json:"text"`
		Stop      string  `json:"stop"`
		Dropped   int     `json:"dropped,omitempty"`
		Seed      uint64  `json:"seed"`
		Timings   struct {
			LoadMS          float64 `json:"load_ms"`
			PromptMS        float64 `json:"prompt_ms"`
			GenerateMS      float64 `json:"generate_ms"`
			PromptPerSecond float64 `json:"prompt_tokens_per_second"`
			PerSecond       float64 `json:"tokens_per_second"`
		} `json:"timings"`
		ResidentBytes int64 `json:"resident_bytes,omitempty"`
	}{PromptIDs: r.Prompt, IDs: r.Tokens, Text: r.Text, Stop: string(r.Stop), Dropped: r.Dropped, Seed: seed}
	if out.IDs == nil {
		out.IDs = []int32{}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out.Timings.LoadMS = ms(in.loadDur)
	out.Timings.PromptMS = ms(r.PromptTime)
	out.Timings.GenerateMS = ms(r.GenerateTime)
	out.Timings.PromptPerSecond = r.PromptTokensPerSecond()
	out.Timings.PerSecond = r.TokensPerSecond()
	out.ResidentBytes, _ = residentBytes()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// residentBytes reads the process's resident set size from /proc (Linux).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

func inferMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// promptText is the positional prompt (or text), or all of stdin (less one
// final newline) when there is none. Stdin is read in a goroutine so that Ctrl-C
// or SIGTERM ends a command left waiting on a terminal; the goroutine stays
// blocked in its read until the process exits, which is at once.
func promptText(ctx context.Context, e *env, pos []string) (string, error) {
	if len(pos) == 1 {
		return pos[0], nil
	}
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		e.at("reading the prompt from stdin")
		b, err := io.ReadAll(e.stdin)
		done <- read{b, err}
	}()
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("interrupted while reading the prompt from stdin")
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("reading stdin: %w", r.err)
		}
		return strings.TrimSuffix(string(r.b), "\n"), nil
	}
}

// parseKVType reads --kv-type: f16 (llama.cpp's default) or f32.
func parseKVType(s string) (f32 bool, err error) {
	switch strings.ToLower(s) {
	case "f16":
		return false, nil
	case "f32":
		return true, nil
	}
	return false, fmt.Errorf("--kv-type %q: want f16 or f32", s)
}
