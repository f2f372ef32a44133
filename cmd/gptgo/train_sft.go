// Reference: LLaMA-Factory's `llamafactory-cli train` with stage sft (dataset, template, cutoff_len,
// train_on_prompt, packing, val_size) and Stanford Alpaca's train.py; the loop is train.SFT, the log and loss
// curve are `gptgo train pretrain`'s (train.go).

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/autograd"
)

const sftUsage = "DATA... [--model BASE.gguf] [--out DIR] [--template NAME] [--train-on-prompt] [--no-packing] [--steps N | --epochs E] [--resume] [flags]\n\n" +
	"Fine-tunes BASE (the embedded default model when omitted) on conversations: Alpaca ({instruction, input, output, system, history}), " +
	"ShareGPT ({conversations: [{from, value}]}) or OpenAI ({messages: [{role, content}]}) records, as a JSON array or JSONL. " +
	"Each conversation is rendered through the model's chat template (or --template NAME); the loss is on the assistant's turns only, " +
	"end-of-turn tokens included. Writes OUT/checkpoint.ckpt, OUT/log.jsonl, OUT/loss.svg and OUT/model.gguf (with the template used)."

func runSFT(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train sft", sftUsage)
	configPath := fs.String("config", "", "JSON run configuration (see --print-config); flags override it")
	printConfig := fs.Bool("print-config", false, "print the configuration (defaults, the file, then flags) and exit")
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoint (settings from OUT/config.json, then flags)")
	base := fs.String("model", "", "GGUF model to fine-tune (default: the embedded default model)")
	out := fs.String("out", "", "output directory (checkpoint, log, loss.svg, model.gguf)")
	tmpl := fs.String("template", "", "built-in chat template to train with ("+strings.Join(chat.BuiltinNames(), ", ")+"); default: the model's")
	onPrompt := fs.Bool("train-on-prompt", false, "loss on every token, not only on the assistant's turns")
	noPacking := fs.Bool("no-packing", false, "one conversation per sequence, padded (default: several per sequence, attention kept inside each)")
	seq := fs.Int("seq", 0, "tokens per sequence; longer conversations are cut by whole turns")
	batch := fs.Int("batch", 0, "sequences per micro-batch")
	steps := fs.Int("steps", 0, "optimizer steps in all (overrides --epochs)")
	epochs := fs.Float64("epochs", 0, "passes over the training conversations (when --steps is not given)")
	lr := fs.Float64("lr", 0, "peak learning rate")
	valFrac := fs.Float64("val-fraction", 0, "fraction of the conversations held out for the validation loss")
	seed := fs.Uint64("seed", 0, "seed of the example order and the validation split")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	lf := addLoRATrainFlags(fs)    // --lora, --lora-rank, … (lora.go)
	pf := addPromptTuningFlags(fs) // --prompt-tuning, --prompt-tuning-init (prompt_tuning.go)
	xf := addPrefixTuningFlags(fs) // --prefix-tuning, --prefix-tuning-init (prefix_tuning.go)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := train.DefaultSFTConfig()
	dir := cfg.Run.Out
	if set["out"] {
		dir = *out
	}
	if cfg, err = loadRunConfig(cfg, dir, *resume, *configPath, train.LoadSFTConfig); err != nil {
		return err
	}
	if *resume && len(pos) > 0 {
		return fmt.Errorf("--resume trains on the run's own data; drop %s", strings.Join(pos, " "))
	}
	cfg.Data.Train = append(cfg.Data.Train, pos...)
	for name, apply := range map[string]func(){
		"model": func() { cfg.Model.Base = *base }, "out": func() { cfg.Run.Out = *out },
		"template": func() { cfg.Data.Template = *tmpl }, "train-on-prompt": func() { cfg.Data.TrainOnPrompt = *onPrompt },
		"no-packing": func() { cfg.Data.Packing = !*noPacking }, "seq": func() { cfg.Run.Seq = *seq },
		"batch": func() { cfg.Run.Batch = *batch }, "steps": func() { cfg.Run.Steps = *steps },
		"epochs": func() { cfg.Run.Epochs, cfg.Run.Steps = *epochs, 0 }, "lr": func() { cfg.Optim.LR = *lr },
		"val-fraction": func() { cfg.Data.ValFraction = *valFrac }, "seed": func() { cfg.Run.Seed = *seed },
		"threads": func() { cfg.Run.Threads = *threads },
	} {
		if set[name] {
			apply()
		}
	}
	if set["steps"] && set["epochs"] {
		return fmt.Errorf("give --steps or --epochs, not both")
	}
	if err := lf.apply(set, &cfg.LoRA); err != nil {
		return err
	}
	pf.apply(set, &cfg.PromptTuning)
	xf.apply(set, &cfg.PrefixTuning)
	if *printConfig {
		check := cfg // the settings may be printed before any data is named
		if len(check.Data.Train) == 0 {
			check.Data.Train = []string{"DATA"}
		}
		if err := check.Validate(); err != nil {
			return err
		}
		_, err := e.stdout.Write(cfg.JSON())
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	r, err := newSFTRun(cfg, *resume, e)
	if err != nil {
		return err
	}
	defer r.close()
	return r.run(ctx)
}

// sftRun is one `gptgo train sft`: the model, its tokenizer and template,
// the encoded examples, and the pretraining run's log and loss curve
// (holder: only its log fields are used).
type sftRun struct {
	cfg         train.SFTRunConfig
	e           *env
	pool        *tensor.Pool
	m           *model.Trainable
	enc         *train.Encoder
	tokKV       []gguf.KV
	baseName    string
	trainEx     []train.Example
	valEx       []train.Example
	steps       int
	holder      *pretrainRun // the log and loss curve, and the last losses
	started     time.Time
	finishedEOT int // sample answers that ended with an end-of-turn token, at the last evaluation

	// loraBase, with --lora, is the base the adapters train over, read in
	// place until close.
	loraBase *gguf.File
	// head, when set, is a reward model's value head: export writes it
	// after the model's tensors (gptgo train rm, train_dpo.go).
	head *model.ValueHead
}

func newSFTRun(cfg train.SFTRunConfig, resume bool, e *env) (*sftRun, error) {
	dir := cfg.Run.Out
	if err := checkRunDir(dir, resume); err != nil {
		return nil, err
	}
	r := &sftRun{cfg: cfg, e: e}
	if err := r.loadBase(); err != nil {
		return nil, err
	}
	if r.m.LearnedPos && cfg.Data.Packing {
		return nil, fmt.Errorf("%s has learned absolute positions (%s): packed examples would sit at other positions than alone; use --no-packing", r.baseName, r.m.Arch)
	}
	if cfg.Run.Seq > r.m.CtxTrain {
		return nil, fmt.Errorf("--seq %d exceeds the context of %s (%d tokens)", cfg.Run.Seq, r.baseName, r.m.CtxTrain)
	}
	if err := r.loadData(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := removePartialCheckpoints(dir); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, configName), cfg.JSON()); err != nil {
		return nil, err
	}
	r.holder = &pretrainRun{e: e, dir: dir, resuming: resume, m: r.m, lastEval: math.NaN()}
	r.pool = tensor.NewPool(cfg.Run.Threads)
	return r, nil
}

// loadBase reads the base model, its tokenizer and the chat template.
func (r *sftRun) loadBase() error {
	var f *gguf.File
	var err error
	if r.cfg.Model.Base == "" {
		r.baseName = models.DefaultName
		f, err = models.OpenDefault()
	} else {
		r.baseName = r.cfg.Model.Base
		f, err = openGGUF(r.cfg.Model.Base) // a file, or an embedded model's name (default-base)
	}
	if err != nil {
		return err
	}
	var release func()
	if r.cfg.PromptTuning.Enabled() {
		r.m, release, err = promptTrainableFrom(f, r.cfg.PromptTuning, r.cfg.Run.Seed, &r.loraBase) // prompt_tuning.go
	} else if r.cfg.PrefixTuning.Enabled() {
		r.m, release, err = prefixTrainableFrom(f, r.cfg.PrefixTuning, r.cfg.Run.Seed, &r.loraBase) // prefix_tuning.go
	} else {
		r.m, release, err = trainableFrom(f, r.cfg.LoRA, r.cfg.Run.Seed, &r.loraBase) // lora.go
	}
	defer release()
	if err != nil {
		return fmt.Errorf("%s: %w", r.baseName, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", r.baseName, err)
	}
	if r.tokKV, _, err = model.TokenizerKV(f); err != nil {
		return fmt.Errorf("%s: %w", r.baseName, err)
	}
	name := r.cfg.Data.Template
	if name == "" && r.cfg.Model.Base == "" {
		// The default base model's own template only continues text; its
		// vocabulary has ChatML's markers.
		name = "chatml"
	}
	var t *chat.Template
	if name != "" {
		t, err = chat.Builtin(name)
	} else {
		t, err = chat.FromGGUF(f)
	}
	if err != nil {
		return fmt.Errorf("--template: %w", err)
	}
	r.enc = &train.Encoder{Template: t, Tok: tok, TrainOnPrompt: r.cfg.Data.TrainOnPrompt}
	return nil
}

// loadData reads, encodes and splits the conversations, and works out the
// number of steps; what was cut or dropped is said, never done silently.
func (r *sftRun) loadData() error {
	d := r.cfg.Data
	read := func(paths []string) ([]train.Conversation, error) {
		var all []train.Conversation
		for _, p := range paths {
			cs, err := train.ReadConversations(p)
			if err != nil {
				return nil, err
			}
			all = append(all, cs...)
		}
		return all, nil
	}
	encode := func(what string, paths []string) ([]train.Example, error) {
		convs, err := read(paths)
		if err != nil {
			return nil, err
		}
		P := r.cfg.VirtualTokens() // prompt or prefix tuning: each example behind P virtual tokens
		ex, st, err := train.PrepareSFT(r.enc, convs, r.cfg.Run.Seq+1-P)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(r.e.stderr, "%s: %s\n", what, st)
		return train.PrependVirtual(ex, P), nil
	}
	var err error
	r.trainEx, r.valEx, err = trainAndVal(d.Train, d.Val, encode, func(ex []train.Example) ([]train.Example, []train.Example) { // train_dpo.go
		return train.SplitSFT(ex, d.ValFraction, r.cfg.Run.Seed)
	})
	if err != nil {
		return err
	}
	if len(r.trainEx) == 0 {
		return fmt.Errorf("no conversation fits --seq %d: nothing to train on", r.cfg.Run.Seq)
	}
	rows := train.PackedRows(r.trainEx, r.cfg.Run.Seq, d.Packing)
	perStep := r.cfg.Run.Batch * r.cfg.Optim.Accum
	r.steps = r.cfg.Run.Steps
	if r.steps == 0 {
		r.steps = max(1, int(math.Ceil(r.cfg.Run.Epochs*float64(rows)/float64(perStep))))
	}
	fmt.Fprintf(r.e.stderr, "template %s, loss on %s; %d training and %d validation examples in %d sequences of %d (%s); %d %s of %d sequences (%.2f epochs)\n",
		templateName(r.enc.Template), map[bool]string{true: "every token", false: "the assistant's turns"}[d.TrainOnPrompt],
		len(r.trainEx), len(r.valEx), rows, r.cfg.Run.Seq, map[bool]string{true: "packed", false: "padded"}[d.Packing],
		r.steps, oneOrMany(r.steps, "step", "steps"), perStep, float64(r.steps*perStep)/float64(rows))
	return nil
}

func templateName(t *chat.Template) string {
	if t.Name() != "" {
		return t.Name()
	}
	return "of the model"
}

func (r *sftRun) close() {
	if r.pool != nil {
		r.pool.Close()
	}
	if r.holder != nil && r.holder.logFile != nil {
		r.holder.logFile.Close()
	}
	if r.loraBase != nil {
		r.loraBase.Close()
	}
}

func (r *sftRun) run(ctx context.Context) error {
	cfg, dir := r.cfg, r.cfg.Run.Out
	if err := r.holder.openLog(); err != nil {
		return err
	}
	pad := max(r.enc.Tok.EOS(), 0)
	sc := train.SFTConfig{PretrainConfig: cfg.Loop(r.steps, filepath.Join(dir, ckptName)), B: cfg.Run.Batch, T: cfg.Run.Seq,
		Pack: cfg.Data.Packing, Seed: cfg.Run.Seed, Pad: pad}
	path, dt, params, err := r.runLoop(ctx, "sft", cfg.JSON(), &sc.PretrainConfig, func() error {
		return train.SFT(ctx, r.m, r.pool, r.trainEx, r.valEx, sc, r.report)
	})
	if err != nil {
		return err
	}
	val := "no validation data"
	if !math.IsNaN(r.holder.lastEval) {
		val = fmt.Sprintf("val loss %.4f", r.holder.lastEval)
	}
	if n := len(r.cfg.Run.SamplePrompts); n > 0 && !math.IsNaN(r.holder.lastEval) {
		val += fmt.Sprintf(", %d of %d sample answers ended their turn", r.finishedEOT, n)
	}
	fmt.Fprintf(r.e.stdout, "%s: %s, %s parameters, %v, %d %s, final train loss %.6g, %s, %.1fs\n",
		path, r.m.Arch, benchCount(int64(params)), dt, r.holder.lastStep(), oneOrMany(r.holder.lastStep(), "step", "steps"), r.holder.lastLoss, val, time.Since(r.started).Seconds())
	return nil
}

// runLoop keeps the run's configuration in the loop's checkpoints, runs
// the loop, draws loss.svg and exports the weights (export); an
// interruption is an error that says how to resume `gptgo train verb`.
// `gptgo train dpo` runs through it too.
func (r *sftRun) runLoop(ctx context.Context, verb string, config []byte, pc *train.PretrainConfig, loop func() error) (path string, dt tensor.DType, params int, err error) {
	dir := r.cfg.Run.Out
	pc.Meta = map[string]string{"config": string(config)}
	pc.Saved = func(step int) error { r.e.at(fmt.Sprintf("checkpoint saved at step %d", step)); return nil }
	r.started = time.Now()
	err = loop()
	svgErr := r.holder.writeSVG()
	if err != nil {
		fmt.Fprintln(r.e.stderr)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return "", 0, 0, fmt.Errorf("interrupted after step %d; checkpoint in %s (continue with: gptgo train %s --out %s --resume)",
				r.holder.lastStep(), filepath.Join(dir, ckptName), verb, dir)
		}
		return "", 0, 0, err
	}
	if svgErr != nil {
		return "", 0, 0, svgErr
	}
	fmt.Fprintln(r.e.stderr)
	return r.export(strings.ToUpper(verb))
}

// export writes the trained weights to OUT/model.gguf, with the template
// they were tuned with (so that `gptgo chat OUT/model.gguf` talks to the
// model the same way), or with LoRA the adapters alone to
// OUT/adapter.gguf; stage names the training in the file's name ("SFT").
// `gptgo train dpo` exports through it too.
func (r *sftRun) export(stage string) (path string, dt tensor.DType, params int, err error) {
	dir := r.cfg.Run.Out
	if dt, err = tensor.ParseDType(strings.ToUpper(r.cfg.Run.ExportType)); err != nil {
		return "", 0, 0, err
	}
	kv := slices.DeleteFunc(slices.Clone(r.tokKV), func(k gguf.KV) bool { return k.Key == "tokenizer.chat_template" })
	kv = append(kv, gguf.KV{Key: "tokenizer.chat_template", Value: gguf.NewValue(r.enc.Template.Source())})
	for _, p := range r.m.Params() {
		params += len(p.Data)
	}
	path = filepath.Join(dir, modelName)
	if r.head != nil && r.m.LoRA() {
		err = r.exportLoRAReward(path, kv, dt, stage)
	} else if r.head != nil {
		err = r.m.WriteRewardGGUF(path, kv, dt, fmt.Sprintf("gptgo %s %s reward model", r.m.Arch, benchCount(int64(params))), r.head)
	} else if r.m.LoRA() { // the adapters alone, in llama.cpp's layout; run with --lora, or gptgo lora merge
		path, dt = filepath.Join(dir, adapterName), tensor.F32
		err = r.m.WriteAdapter(path, fmt.Sprintf("gptgo %s %s %s", r.m.Arch, adapterRunKind(r.m), stage))
	} else {
		err = r.m.WriteGGUF(path, kv, dt, fmt.Sprintf("gptgo %s %s %s", r.m.Arch, benchCount(int64(params)), stage))
	}
	return path, dt, params, err
}

// exportLoRAReward writes a reward model trained with LoRA: its adapters
// to OUT/adapter.gguf, and to path the base with the adapters merged (in
// F32, then in dt) and the value head, so that `gptgo score` and `train
// ppo` read it as any reward model.
func (r *sftRun) exportLoRAReward(path string, kv []gguf.KV, dt tensor.DType, stage string) error {
	ad, err := r.m.Adapter(fmt.Sprintf("gptgo %s LoRA %s", r.m.Arch, stage))
	if err != nil {
		return err
	}
	if err := ad.WriteFile(filepath.Join(r.cfg.Run.Out, adapterName)); err != nil {
		return err
	}
	merged := path + ".merged.tmp"
	defer os.Remove(merged)
	if err := model.MergeAdapters(r.loraBase, []model.ScaledAdapter{{Adapter: ad, Scale: 1}}, merged, false); err != nil {
		return err
	}
	f, err := gguf.Open(merged)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := model.TrainableFromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", merged, err)
	}
	params := 0
	for _, p := range m.Params() {
		params += len(p.Data)
	}
	return m.WriteRewardGGUF(path, kv, dt, fmt.Sprintf("gptgo %s %s reward model (LoRA, merged)", m.Arch, benchCount(int64(params))), r.head)
}

// report prints the progress line, logs the step (in pretraining's
// log.jsonl format), and at each evaluation prints the validation loss and
// the sample answers.
func (r *sftRun) report(s train.StepReport) error {
	h := r.holder
	le, err := h.logStep(s)
	if err != nil {
		return err
	}
	eta := time.Since(r.started) / time.Duration(h.stepsNow) * time.Duration(r.steps-s.Step)
	fmt.Fprintf(r.e.stderr, "\rstep %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ", s.Step, r.steps, s.Loss, s.LR, le.TokPerSec, eta.Round(time.Second))
	if !math.IsNaN(s.EvalLoss) { // an evaluation, with or without validation data
		if le.ValLoss != nil {
			fmt.Fprintf(r.e.stderr, "\nstep %d: val loss %.4f", s.Step, *le.ValLoss)
		}
		fmt.Fprintln(r.e.stderr)
		if err := r.samples(s.Step); err != nil {
			return err
		}
	}
	if r.cfg.Run.CheckpointEvery > 0 && s.Step%r.cfg.Run.CheckpointEvery == 0 {
		return h.writeSVG()
	}
	return nil
}

// samples answers each sample prompt greedily with the current weights,
// as a user turn through the template, and prints the answers.
func (r *sftRun) samples(step int) error {
	r.finishedEOT = 0
	for _, p := range r.cfg.Run.SamplePrompts {
		ids, err := r.enc.Prompt([]chat.Message{{Role: "user", Content: p}})
		if err != nil {
			return err
		}
		ans, ended, err := greedyAnswer(r.m, r.pool, r.enc.Tok, virtualPrefix(r.m, ids), r.cfg.Run.SampleTokens, r.cfg.Run.Seq) // prompt_tuning.go
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		mark := " [no end-of-turn]"
		if ended {
			mark = ""
			r.finishedEOT++
		}
		fmt.Fprintf(r.e.stderr, "sample at step %d: %q → %q%s\n", step, p, ans, mark)
	}
	return nil
}

// greedyAnswer continues prompt with the most likely token, up to n
// tokens or an end-of-generation token (ended), each token a forward of
// the last window tokens on a tape without gradients (no KV cache: a few
// dozen tokens of a small model). The answer is decoded without the
// end-of-turn token.
func greedyAnswer(m *model.Trainable, pool *tensor.Pool, tok *tokenizer.Tokenizer, prompt []int32, n, window int) (answer string, ended bool, err error) {
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	ids := slices.Clone(prompt)
	for len(ids)-len(prompt) < n {
		w := ids[max(0, len(ids)-window):]
		tp.Reset()
		logits := m.Logits(tp, w, len(w))
		if err := tp.Err(); err != nil {
			return "", false, err
		}
		row := logits.Data[(len(w)-1)*m.Vocab:]
		next := int32(slices.Index(row, slices.Max(row)))
		if tok.IsEOG(next) {
			ended = true
			break
		}
		ids = append(ids, next)
	}
	return tok.Decode(ids[len(prompt):]), ended, nil
}
