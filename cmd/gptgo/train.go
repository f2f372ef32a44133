// Reference: nanoGPT train.py (config → data → model → loop with eval, samples and checkpoints; resume) and
// llm.c train_gpt2.c (val loss every N steps, a generated sample every M); the loop itself is train.Pretrain.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
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

func hasKey(kv []gguf.KV, key string) bool {
	for _, e := range kv {
		if e.Key == key {
			return true
		}
	}
	return false
}
