// Reference: nanoGPT train.py (config → data → model → loop with eval, samples and checkpoints; resume) and
// llm.c train_gpt2.c (val loss every N steps, a generated sample every M); the loop itself is train.Pretrain.

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/autograd"
)

func init() {
	register(&command{
		name:    "train",
		summary: "pretrain a Transformer from scratch (or from a GGUF model) on token shards or text, or fine-tune it on conversations (sft)",
		usage: `SUBCOMMAND [flags] ...

Subcommands:
  pretrain [FILE...] [--config RUN.json] [flags]   train on GPTGOTOK shards or .txt/.jsonl text
                                                   (tokenized with --vocab); writes OUT/checkpoint.ckpt,
                                                   OUT/log.jsonl, OUT/loss.svg and OUT/model.gguf
  pretrain --print-config                          print every setting with its default
  sft DATA... [--model BASE.gguf] [flags]          fine-tune on Alpaca/ShareGPT/OpenAI conversations, loss on the
                                                   assistant's turns (gptgo train sft -h)
  embed PAIRS.jsonl... --model BERT.gguf --out OUT.gguf
                                                   train a bert embedder on query/passage pairs (InfoNCE,
                                                   in-batch negatives; gptgo train embed -h)
  dpo DATA... [--model SFT.gguf] [flags]           align to chosen/rejected pairs with DPO, the reference's
                                                   log-probs precomputed once (gptgo train dpo -h)
  rm DATA... [--model SFT.gguf] [flags]            train a reward model (value head, pairwise loss) on the
                                                   same pairs (gptgo train rm -h; score with gptgo score)
  ppo PROMPTS... --reward RM.gguf [flags]          optimise against a reward model with PPO and a KL penalty
                                                   to the initial model (gptgo train ppo -h)`,
		run: runTrainCmd,
	})
}

func runTrainCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "pretrain":
		return runPretrain(ctx, e, args[1:])
	case "sft":
		return runSFT(ctx, e, args[1:]) // train_sft.go
	case "embed":
		return runTrainEmbed(ctx, e, args[1:]) // train_embed.go
	case "dpo":
		return runDPO(ctx, e, args[1:]) // train_dpo.go
	case "rm":
		return runRM(ctx, e, args[1:]) // train_dpo.go
	case "ppo":
		return runPPO(ctx, e, args[1:]) // train_ppo.go
	case "-h", "--help", "help":
		printUsage(e.stdout, commands["train"])
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (pretrain, sft, embed, dpo, rm, ppo)", args[0])
}

const pretrainUsage = "[FILE...] [--config RUN.json] [--vocab VOCAB] [--out DIR] [--steps N] [--resume] [flags]"

// Files a run writes in its output directory.
const (
	ckptName   = "checkpoint.ckpt"
	logName    = "log.jsonl"
	svgName    = "loss.svg"
	modelName  = "model.gguf"
	configName = "config.json"
)

func runPretrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train pretrain", pretrainUsage)
	configPath := fs.String("config", "", "JSON run configuration (see --print-config); flags override it")
	printConfig := fs.Bool("print-config", false, "print the configuration (defaults, the file, then flags) and exit")
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoint (settings from OUT/config.json, then flags)")
	// Overrides: applied only when given, so that a config file's values stand otherwise.
	steps := fs.Int("steps", 0, "optimizer steps in all")
	batch := fs.Int("batch", 0, "sequences per micro-batch (B)")
	seq := fs.Int("seq", 0, "tokens per sequence (T)")
	accum := fs.Int("accum", 0, "micro-batches per optimizer step (per rank when data-parallel)")
	lr := fs.Float64("lr", 0, "peak learning rate")
	out := fs.String("out", "", "output directory (checkpoint, log, loss.svg, model.gguf)")
	initFrom := fs.String("init", "", "GGUF model to start from instead of random weights (dequantized to F32)")
	seed := fs.Uint64("seed", 0, "seed of the initial weights and the batches")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	vocab := fs.String("vocab", "", "tokenizer (GGUF vocabulary, tokenizer.json, …) for text data and the exported model")
	ckptAct := fs.Bool("checkpoint-activations", false, "keep only each layer's input and rerun the layer in the backward (less memory, same gradients)")
	actDType := fs.String("activation-dtype", "", "f32, bf16 or f16: how the checkpointed layer inputs are kept")
	lf := addLoRATrainFlags(fs) // --lora, --lora-rank, … (lora.go)
	df := addDistFlags(fs)      // --data-parallel, --dist, --zero, --bucket-mb (train_dist.go)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := train.DefaultConfig()
	dir := cfg.Run.Out
	if set["out"] {
		dir = *out
	}
	if cfg, err = loadRunConfig(cfg, dir, *resume, *configPath, train.LoadConfig); err != nil {
		return err
	}
	if set["steps"] {
		cfg.Run.Steps = *steps
	}
	if set["batch"] {
		cfg.Run.Batch = *batch
	}
	if set["seq"] {
		cfg.Run.Seq = *seq
	}
	if set["accum"] {
		cfg.Optim.Accum = *accum
	}
	if set["lr"] {
		cfg.Optim.LR = *lr
	}
	if set["out"] {
		cfg.Run.Out = *out
	}
	if set["init"] {
		cfg.Model.Init = *initFrom
	}
	if set["seed"] {
		cfg.Run.Seed = *seed
	}
	if set["threads"] {
		cfg.Run.Threads = *threads
	}
	if set["vocab"] {
		cfg.Data.Vocab = *vocab
	}
	if set["checkpoint-activations"] {
		cfg.Run.CheckpointActivations = *ckptAct
	}
	if set["activation-dtype"] {
		cfg.Run.ActivationDType = *actDType
	}
	if err := lf.apply(set, &cfg.LoRA); err != nil {
		return err
	}
	if len(pos) > 0 {
		if *resume {
			return fmt.Errorf("--resume trains on the run's own data; drop %s", strings.Join(pos, " "))
		}
		cfg.Data.Train = append(cfg.Data.Train, pos...)
	}
	if *printConfig {
		if err := cfg.Finite(); err != nil {
			return err
		}
		_, err := e.stdout.Write(cfg.JSON())
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	dr, err := df.parse(set)
	if err != nil {
		return err
	}
	if dr != nil {
		return runPretrainDist(ctx, e, cfg, *resume, df, dr)
	}
	r, err := newPretrainRun(cfg, *resume, e)
	if err != nil {
		return err
	}
	defer r.close()
	return r.run(ctx)
}

// pretrainRun is one `gptgo train pretrain`: the model, its data, the
// tokenizer, and what the progress printer keeps between steps.
type pretrainRun struct {
	cfg      train.Config
	e        *env
	pool     *tensor.Pool
	m        *model.Trainable
	tok      *tokenizer.Tokenizer // nil: shards without a vocabulary (no samples, no tokenizer in the file)
	tokKV    []gguf.KV
	trainL   *train.Loader
	valL     *train.Loader // nil: no validation
	dir      string
	resuming bool

	// Set by gptgo bake: the checkpoint's meta (nil: the resolved config),
	// a step to stop after, and a hook after each checkpoint write.
	meta   map[string]string
	stopAt int
	onSave func(step int) error

	log      []logEntry // the whole run's steps, earlier sessions' included
	logFile  *os.File
	started  time.Time
	stepsNow int // steps done by this process
	lastLoss float64
	lastEval float64

	// loraBase, with --lora, is the base the adapters train over, read in
	// place until close.
	loraBase *gguf.File

	trainShards, valShards []string // the data, tokenized
	vocab                  int
	dist                   *distRun // data-parallel training (train_dist.go); nil: one process
}

// logEntry is one line of OUT/log.jsonl.
type logEntry struct {
	Step      int      `json:"step"`
	Loss      float64  `json:"loss"`
	LR        float64  `json:"lr"`
	GradNorm  float64  `json:"grad_norm"`
	TokPerSec float64  `json:"tok_per_s"`
	ValLoss   *float64 `json:"val_loss,omitempty"`
	StepS     float64  `json:"step_s,omitempty"`  // the step's seconds (a session's first pays its cold start)
	SetupS    float64  `json:"setup_s,omitempty"` // a session's first step only: seconds before it (train.StepReport.Setup)
}

// loadRunConfig returns a run's settings: def, or the --config file, or
// with --resume the run's own OUT/config.json (dir is OUT).
func loadRunConfig[C any](def C, dir string, resume bool, configPath string, load func(string) (C, error)) (C, error) {
	switch {
	case resume && configPath != "":
		return def, fmt.Errorf("--resume reads the run's own OUT/%s; drop --config", configName)
	case resume:
		c, err := load(filepath.Join(dir, configName))
		if err != nil {
			return def, fmt.Errorf("--resume: %w", err)
		}
		return c, nil
	case configPath != "":
		return load(configPath)
	}
	return def, nil
}

// checkRunDir refuses to start a run over another's checkpoint, and to
// resume one that has none.
func checkRunDir(dir string, resume bool) error {
	ckpt := filepath.Join(dir, ckptName)
	_, statErr := os.Stat(ckpt)
	switch {
	case resume && statErr != nil:
		return fmt.Errorf("--resume: no checkpoint: %w", statErr)
	case !resume && statErr == nil:
		return fmt.Errorf("%s exists: continue it with --resume, or choose another --out", ckpt)
	}
	return nil
}

func newPretrainRun(cfg train.Config, resume bool, e *env) (*pretrainRun, error) {
	r := &pretrainRun{cfg: cfg, e: e, dir: cfg.Run.Out, resuming: resume, lastEval: math.NaN()}
	if err := checkRunDir(r.dir, resume); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := removePartialCheckpoints(r.dir); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(r.dir, configName), cfg.JSON()); err != nil {
		return nil, err
	}
	if err := r.loadTokenizer(); err != nil {
		return nil, err
	}
	trainShards, valShards, vocab, err := r.prepareData()
	if err != nil {
		return nil, err
	}
	r.trainShards, r.valShards, r.vocab = trainShards, valShards, vocab
	if err := r.buildModel(vocab); err != nil {
		return nil, err
	}
	B, T := cfg.Run.Batch, cfg.Run.Seq
	if r.m.LearnedPos && T > r.m.CtxTrain {
		return nil, fmt.Errorf("--seq %d exceeds the model's %d learned positions", T, r.m.CtxTrain)
	}
	if r.trainL, err = train.NewLoader(trainShards, B, T, cfg.Data.Random, cfg.Run.Seed); err != nil {
		return nil, err
	}
	if len(valShards) > 0 {
		if r.valL, err = train.NewLoader(valShards, B, T, false, cfg.Run.Seed+1); err != nil {
			return nil, fmt.Errorf("validation data: %w (lower --batch/--seq or raise data.val_fraction)", err)
		}
	}
	r.pool = tensor.NewPool(cfg.Run.Threads)
	return r, nil
}

// removePartialCheckpoints deletes the temporary files of checkpoint
// writes that never reached their rename (the process was killed, or the
// machine went down, mid-write: internal/atomicfile names them
// ".checkpoint.ckpt.tmp-*"). Nothing reads them, and each is as large as a
// checkpoint.
func removePartialCheckpoints(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "."+ckptName+".tmp-") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *pretrainRun) close() {
	if r.pool != nil {
		r.pool.Close()
	}
	if r.logFile != nil {
		r.logFile.Close()
	}
	if r.loraBase != nil {
		r.loraBase.Close()
	}
}

// loadTokenizer reads data.vocab, else the tokenizer of model.init.
func (r *pretrainRun) loadTokenizer() error {
	path := r.cfg.Data.Vocab
	if path == "" {
		path = r.cfg.Model.Init
	}
	if path == "" {
		return nil
	}
	if isGGUF(path) {
		f, err := gguf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		kv, _, err := model.TokenizerKV(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		t, err := tokenizer.FromGGUF(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r.tok, r.tokKV = t, kv
		return nil
	}
	v, err := tokenizer.LoadVocab(path)
	if err != nil {
		return err
	}
	if r.tok, err = v.Tokenizer(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.tokKV = v.GGUFKV()
	return nil
}

func hasMagic(path, magic string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(magic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == magic
}

func isGGUF(path string) bool { return hasMagic(path, "GGUF") }

// prepareData returns the training and validation shards. Text is
// tokenized into OUT/data/{train,val}.tok (again on --resume: the same
// tokenizer gives the same tokens, so the saved loader position still
// points at the same batch).
func (r *pretrainRun) prepareData() (trainShards, valShards []string, vocab int, err error) {
	d := r.cfg.Data
	split := func(paths []string) (shards, text []string) {
		for _, p := range paths {
			if hasMagic(p, data.ShardMagic) {
				shards = append(shards, p)
			} else {
				text = append(text, p)
			}
		}
		return
	}
	trainShards, trainText := split(d.Train)
	valShards, valText := split(d.Val)
	if (len(trainText) > 0 || len(valText) > 0) && r.tok == nil {
		return nil, nil, 0, fmt.Errorf("text data needs a tokenizer: give --vocab (a GGUF vocabulary from `gptgo tokenizer train`, tokenizer.json, …)")
	}
	if len(trainText) > 0 {
		toks, err := r.tokenize(trainText)
		if err != nil {
			return nil, nil, 0, err
		}
		if len(d.Val) == 0 && d.ValFraction > 0 {
			cut := len(toks) - int(float64(len(toks))*d.ValFraction)
			p := filepath.Join(r.dir, "data", "val.tok")
			if err := r.writeShard(p, toks[cut:]); err != nil {
				return nil, nil, 0, err
			}
			valShards, toks = append(valShards, p), toks[:cut]
		}
		p := filepath.Join(r.dir, "data", "train.tok")
		if err := r.writeShard(p, toks); err != nil {
			return nil, nil, 0, err
		}
		trainShards = append(trainShards, p)
	}
	if len(valText) > 0 {
		toks, err := r.tokenize(valText)
		if err != nil {
			return nil, nil, 0, err
		}
		p := filepath.Join(r.dir, "data", "val.tok")
		if err := r.writeShard(p, toks); err != nil {
			return nil, nil, 0, err
		}
		valShards = append(valShards, p)
	}
	for _, p := range append(append([]string(nil), trainShards...), valShards...) {
		h, err := shardHeader(p)
		if err != nil {
			return nil, nil, 0, err
		}
		switch {
		case vocab == 0:
			vocab = int(h.VocabSize)
		case vocab != int(h.VocabSize):
			return nil, nil, 0, fmt.Errorf("%s: vocabulary of %d, other shards have %d", p, h.VocabSize, vocab)
		}
	}
	if r.tok != nil && vocab != r.tok.VocabSize() {
		return nil, nil, 0, fmt.Errorf("the shards' vocabulary of %d differs from the tokenizer's %d", vocab, r.tok.VocabSize())
	}
	return trainShards, valShards, vocab, nil
}

func shardHeader(path string) (data.ShardHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return data.ShardHeader{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return data.ShardHeader{}, err
	}
	return data.ReadShardHeader(bufio.NewReader(f), st.Size(), path)
}

// tokenize encodes the files into one stream. A JSON record is a document
// and ends with EOS (when the vocabulary has one); a text file is one
// document, streamed in pieces cut where pre-tokenization restarts, so
// encoding the pieces gives the tokens of the whole.
func (r *pretrainRun) tokenize(paths []string) ([]int32, error) {
	var toks []int32
	eos := r.tok.EOS()
	for _, p := range paths {
		ext := strings.ToLower(filepath.Ext(p))
		records := ext == ".jsonl" || ext == ".ndjson" || ext == ".json"
		err := tokenizer.ForEachText(p, r.cfg.Data.Field, nil, func(s string) error {
			toks = append(toks, r.tok.Encode(s, tokenizer.EncodeOptions{})...)
			if records && eos >= 0 {
				toks = append(toks, eos)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !records && eos >= 0 {
			toks = append(toks, eos)
		}
	}
	return toks, nil
}

// writeShard writes toks as one shard without a separator of its own: the
// stream already holds the EOS tokens.
func (r *pretrainRun) writeShard(path string, toks []int32) error {
	w, err := data.CreateShard(path, r.tok.VocabSize(), -1)
	if err != nil {
		return err
	}
	if err := w.WriteDoc(toks); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// buildModel makes the model of model.init, or a new one of the
// configured shape (the random values `gptgo init` draws).
func (r *pretrainRun) buildModel(vocab int) error {
	mc := r.cfg.Model
	if mc.Init != "" {
		f, err := gguf.Open(mc.Init)
		if err != nil {
			return err
		}
		var release func()
		r.m, release, err = trainableFrom(f, r.cfg.LoRA, r.cfg.Run.Seed, &r.loraBase) // lora.go
		defer release()
		if err != nil {
			return fmt.Errorf("%s: %w", mc.Init, err)
		}
		if r.m.Vocab != vocab {
			return fmt.Errorf("%s: vocabulary of %d, the data's is %d", mc.Init, r.m.Vocab, vocab)
		}
		return nil
	}
	c, err := model.ArchConfig(mc.Arch)
	if err != nil {
		return err
	}
	c.Vocab, c.Embd, c.Layers, c.Heads = vocab, mc.Dim, mc.Layers, mc.Heads
	c.KVHeads = cmpOr(mc.KVHeads, mc.Heads)
	if mc.Dim%mc.Heads != 0 {
		return fmt.Errorf("model.dim %d is not a multiple of model.heads %d", mc.Dim, mc.Heads)
	}
	c.HeadDim = mc.Dim / mc.Heads
	c.RopeDims = c.HeadDim
	c.FF = mc.FF
	if c.FF == 0 {
		if c.FFN == model.FFNSwiGLU {
			c.FF = (8*mc.Dim/3 + 31) / 32 * 32 // llama2.c: 2/3 of 4·C, a multiple of 32
		} else {
			c.FF = 4 * mc.Dim
		}
	}
	c.CtxTrain = cmpOr(mc.Ctx, r.cfg.Run.Seq)
	r.m, err = model.NewRandomTrainable(c, model.InitOptions{Seed: r.cfg.Run.Seed, Std: mc.Std, Tied: mc.Tied, Threads: r.cfg.Run.Threads})
	return err
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func (r *pretrainRun) run(ctx context.Context) error {
	cfg := r.cfg
	var params int
	for _, p := range r.m.Params() {
		params += len(p.Data)
	}
	fmt.Fprintf(r.e.stderr, "model: %s, %d %s, C %d, %d %s, F %d, V %d, %s parameters; B %d × T %d × accum %d = %d tokens/step, %d %s\n",
		r.m.Arch, r.m.Layers, oneOrMany(r.m.Layers, "layer", "layers"), r.m.Embd, r.m.Heads, oneOrMany(r.m.Heads, "head", "heads"),
		r.m.FF, r.m.Vocab, benchCount(int64(params)),
		cfg.Run.Batch, cfg.Run.Seq, cfg.Optim.Accum, cfg.Run.Batch*cfg.Run.Seq*cfg.Optim.Accum, cfg.Run.Steps, oneOrMany(cfg.Run.Steps, "step", "steps"))
	fmt.Fprint(r.e.stderr, r.dist.describe())
	if err := r.openLog(); err != nil {
		return err
	}
	pc := cfg.Pretrain(r.ckptPath())
	r.dist.apply(&pc)
	pc.Meta = map[string]string{"config": string(cfg.JSON())}
	if r.meta != nil {
		pc.Meta = r.meta
	}
	pc.StopAt = r.stopAt
	pc.Saved = func(step int) error {
		r.e.at(fmt.Sprintf("checkpoint saved at step %d", step))
		if r.onSave != nil {
			return r.onSave(step)
		}
		return nil
	}
	r.started = time.Now()
	err := train.Pretrain(ctx, r.m, r.pool, r.trainL, r.valL, pc, r.report)
	svgErr := r.writeSVG()
	if err != nil {
		fmt.Fprintln(r.e.stderr)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return fmt.Errorf("interrupted after step %d; checkpoint in %s (continue with: gptgo train pretrain --out %s --resume)",
				r.lastStep(), filepath.Join(r.dir, ckptName), r.dir)
		}
		return err
	}
	if svgErr != nil {
		return svgErr
	}
	fmt.Fprintln(r.e.stderr)
	if r.lastStep() < cfg.Run.Steps {
		return nil // stopped early as asked (StopAt): no export
	}
	if cfg.Run.SampleEvery > 0 && cfg.Run.SampleTokens > 0 && r.tok != nil { // sample_every 0: no samples at all
		if err := r.sample(r.lastStep()); err != nil {
			return err
		}
	}
	dt, err := tensor.ParseDType(strings.ToUpper(cfg.Run.ExportType))
	if err != nil {
		return err
	}
	kv := append([]gguf.KV(nil), r.tokKV...)
	if r.tok != nil && cfg.Run.ChatTemplate != "" && !hasKey(kv, "tokenizer.chat_template") {
		kv = append(kv, gguf.KV{Key: "tokenizer.chat_template", Value: gguf.NewValue(cfg.Run.ChatTemplate)})
	}
	path := filepath.Join(r.dir, modelName)
	name := fmt.Sprintf("gptgo %s %s pretrained", r.m.Arch, benchCount(int64(params)))
	if r.m.LoRA() { // the adapters alone, in llama.cpp's layout; run with --lora, or gptgo lora merge
		path, dt = filepath.Join(r.dir, adapterName), tensor.F32
		err = r.m.WriteAdapter(path, fmt.Sprintf("gptgo %s LoRA continued pretraining", r.m.Arch))
	} else {
		err = r.m.WriteGGUF(path, kv, dt, name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(r.e.stdout, "%s: %s, %s parameters, %v, %d %s, final train loss %.9g, %s, %.1fs\n",
		path, r.m.Arch, benchCount(int64(params)), dt, r.lastStep(), oneOrMany(r.lastStep(), "step", "steps"), r.lastLoss, r.valSummary(), time.Since(r.started).Seconds())
	return nil
}

// valSummary words the last validation loss for the summary line, or why
// there is none (rather than "val loss NaN").
func (r *pretrainRun) valSummary() string {
	switch {
	case r.valL == nil:
		return "no validation data"
	case math.IsNaN(r.lastEval):
		return "no validation loss (eval_every 0)"
	}
	return fmt.Sprintf("val loss %.4f", r.lastEval)
}

func hasKey(kv []gguf.KV, key string) bool {
	for _, e := range kv {
		if e.Key == key {
			return true
		}
	}
	return false
}

func (r *pretrainRun) ckptPath() string { return filepath.Join(r.dir, ckptName) }

func (r *pretrainRun) lastStep() int {
	if len(r.log) == 0 {
		return 0
	}
	return r.log[len(r.log)-1].Step
}

// openLog reads an earlier session's log when resuming (the entries after
// the checkpoint are dropped when the first resumed step reports), and
// opens the log for writing.
func (r *pretrainRun) openLog() error {
	path := filepath.Join(r.dir, logName)
	r.log = nil
	if r.resuming {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var le logEntry
			if len(line) > 0 && json.Unmarshal(line, &le) == nil {
				r.log = append(r.log, le)
			}
		}
	}
	return r.rewriteLog()
}

// rewriteLog replaces the log with r.log as a whole (a kill mid-rewrite
// leaves the previous log, never a truncated one) and opens it for
// appending; a step's line torn by a kill is skipped by openLog.
func (r *pretrainRun) rewriteLog() error {
	if r.logFile != nil {
		r.logFile.Close()
		r.logFile = nil
	}
	var buf bytes.Buffer
	for _, le := range r.log {
		b, err := json.Marshal(le)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	path := filepath.Join(r.dir, logName)
	if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	r.logFile = f
	return nil
}

func (r *pretrainRun) appendLog(le logEntry, keep bool) error {
	b, err := json.Marshal(le)
	if err != nil {
		return err
	}
	if keep {
		r.log = append(r.log, le)
	}
	_, err = r.logFile.Write(append(b, '\n'))
	return err
}

// report prints the progress line, logs the step, and runs the samples
// and the loss curve on their schedule.
func (r *pretrainRun) report(s train.StepReport) error {
	cfg := r.cfg
	le, err := r.logStep(s)
	if err != nil {
		return err
	}
	tps := le.TokPerSec
	perStep := time.Since(r.started) / time.Duration(r.stepsNow)
	eta := perStep * time.Duration(cfg.Run.Steps-s.Step)
	fmt.Fprintf(r.e.stderr, "\rstep %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ", s.Step, cfg.Run.Steps, s.Loss, s.LR, tps, eta.Round(time.Second))
	if le.ValLoss != nil {
		fmt.Fprintf(r.e.stderr, "\nstep %d: val loss %.4f\n", s.Step, *le.ValLoss)
	}
	if cfg.Run.SampleEvery > 0 && s.Step%cfg.Run.SampleEvery == 0 && s.Step != cfg.Run.Steps && r.tok != nil {
		if err := r.sample(s.Step); err != nil {
			return err
		}
	}
	if cfg.Run.CheckpointEvery > 0 && s.Step%cfg.Run.CheckpointEvery == 0 {
		return r.writeSVG()
	}
	return nil
}

// logStep writes the step's line to OUT/log.jsonl (after dropping, on the
// first step of a resumed session, what an earlier session logged past its
// checkpoint) and keeps the last losses; `gptgo train sft` logs through it
// too.
func (r *pretrainRun) logStep(s train.StepReport) (logEntry, error) {
	if r.stepsNow == 0 && s.Resumed {
		// Steps an earlier session logged past its checkpoint are redone.
		kept := r.log[:0]
		for _, le := range r.log {
			if le.Step < s.Step {
				kept = append(kept, le)
			}
		}
		r.log = kept
		if err := r.rewriteLog(); err != nil {
			return logEntry{}, err
		}
		fmt.Fprintf(r.e.stderr, "resumed at step %d\n", s.Step-1)
	}
	r.stepsNow++
	le := logEntry{Step: s.Step, Loss: s.Loss, LR: s.LR, GradNorm: s.GradNorm, TokPerSec: float64(s.Tokens) / s.Elapsed.Seconds(),
		StepS: s.Elapsed.Seconds(), SetupS: s.Setup.Seconds()}
	r.lastLoss = s.Loss
	if !math.IsNaN(s.EvalLoss) {
		v := s.EvalLoss
		le.ValLoss, r.lastEval = &v, v
	}
	if err := r.appendLog(le, true); err != nil {
		return logEntry{}, err
	}
	if s.Saved {
		// The checkpoint holding this step is published after this returns:
		// the line must be on disk first (a crash then leaves the log one
		// step ahead, which a resume redoes, never one behind).
		if err := r.logFile.Sync(); err != nil {
			return logEntry{}, err
		}
	}
	return le, nil
}

// sample prints a greedy continuation of the sample prompt from the
// current weights. Each token reruns the whole window on a tape of its own
// with gradients off (no KV cache on the tape), which costs little at
// sample lengths and leaves the training tape and loaders untouched.
func (r *pretrainRun) sample(step int) error {
	cfg := r.cfg
	ids := r.tok.Encode(cfg.Run.SamplePrompt, tokenizer.EncodeOptions{})
	if len(ids) == 0 {
		ids = []int32{max(r.tok.BOS(), r.tok.EOS(), 0)}
	}
	prompt := len(ids)
	tp := autograd.NewTape(r.pool)
	tp.NoGrad(true)
	window := cfg.Run.Seq
	if r.m.LearnedPos {
		window = min(window, r.m.CtxTrain)
	}
	for range cfg.Run.SampleTokens {
		ctxIDs := ids[max(0, len(ids)-window):]
		tp.Reset()
		logits := r.m.Logits(tp, ctxIDs, len(ctxIDs))
		if err := tp.Err(); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		last := logits.Data[(len(ctxIDs)-1)*r.m.Vocab:]
		best := 0
		for i, x := range last {
			if x > last[best] {
				best = i
			}
		}
		ids = append(ids, int32(best))
		if r.tok.IsEOG(int32(best)) {
			break
		}
	}
	fmt.Fprintf(r.e.stderr, "\nsample at step %d: %q\n", step, cfg.Run.SamplePrompt+r.tok.Decode(ids[prompt:]))
	return nil
}

// writeSVG draws OUT/loss.svg: the training loss per step and the
// validation loss at each evaluation, over step on x. Hand-written SVG: two
// polylines, axes with a few ticks, labels; no dependency.
func (r *pretrainRun) writeSVG() error {
	const W, H, left, right, top, bottom = 720, 420, 60, 20, 30, 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	maxStep, lo, hi := 1, math.Inf(1), math.Inf(-1)
	for _, le := range r.log {
		maxStep = max(maxStep, le.Step)
		for _, v := range []*float64{&le.Loss, le.ValLoss} {
			if v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
				lo, hi = min(lo, *v), max(hi, *v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	lo = math.Max(0, math.Floor(lo*2)/2)
	hi = math.Ceil(hi*2) / 2
	if hi <= lo {
		hi = lo + 1
	}
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	x := func(step int) float64 { return left + pw*float64(step)/float64(maxStep) }
	y := func(v float64) float64 { return top + ph*(1-(v-lo)/(hi-lo)) }
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">%s: loss by step</text>`+"\n", left, xmlEscape(r.m.Arch+" "+filepath.Base(r.dir)))
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" fill="none" stroke="black"/>`+"\n", left, top, H-bottom, W-right)
	for i := 0; i <= 5; i++ {
		v := lo + (hi-lo)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.2f</text>`+"\n",
			left, W-right, y(v), y(v), left-6, y(v)+4, v)
		s := int(math.Round(float64(maxStep) * float64(i) / 5))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(s), H-bottom+18, s)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">step</text>`+"\n", left+pw/2, H-12)
	var train, val strings.Builder
	for _, le := range r.log {
		if !math.IsNaN(le.Loss) && !math.IsInf(le.Loss, 0) {
			fmt.Fprintf(&train, "%.1f,%.1f ", x(le.Step), y(le.Loss))
		}
		if le.ValLoss != nil {
			fmt.Fprintf(&val, "%.1f,%.1f ", x(le.Step), y(*le.ValLoss))
		}
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`+"\n", strings.TrimSpace(train.String()))
	if val.Len() > 0 {
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#d62728" stroke-width="2"/>`+"\n", strings.TrimSpace(val.String()))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1f77b4">— train</text><text x="%d" y="%d" fill="#d62728">— validation</text>`+"\n", W-right-170, top+14, W-right-90, top+14)
	b.WriteString("</svg>\n")
	return atomicfile.WriteBytes(filepath.Join(r.dir, svgName), []byte(b.String()))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// summary is the run as gptgo bake reports it, from the whole log
// (earlier sessions' steps included): parameters, steps, losses, and the
// time the steps took (evaluations, samples and checkpoints excluded).
func (r *pretrainRun) summary() map[string]any {
	var params int
	for _, p := range r.m.Params() {
		params += len(p.Data)
	}
	var secs float64
	var tokens int
	best, bestStep := math.Inf(1), 0
	tokPerStep := r.cfg.Run.Batch * r.cfg.Run.Seq * r.cfg.Optim.Accum
	for _, le := range r.log {
		if le.TokPerSec > 0 {
			secs += float64(tokPerStep) / le.TokPerSec
		}
		tokens += tokPerStep
		if le.ValLoss != nil && *le.ValLoss < best {
			best, bestStep = *le.ValLoss, le.Step
		}
	}
	s := map[string]any{
		"parameters": params, "steps": r.lastStep(), "tokens": tokens,
		"step_seconds": math.Round(secs), "tokens_per_second": math.Round(float64(tokens) / max(secs, 1e-9)),
		"final_train_loss": r.lastLoss,
	}
	if n := len(r.log); n > 0 && r.log[n-1].ValLoss != nil {
		s["final_val_loss"] = *r.log[n-1].ValLoss
	}
	if bestStep > 0 {
		s["best_val_loss"], s["best_val_step"] = best, bestStep
	}
	return s
}
