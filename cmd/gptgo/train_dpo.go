// Reference: LLaMA-Factory's `llamafactory-cli train` with stage dpo (pref_beta, pref_loss, dpo_label_smoothing)
// and TRL's DPOTrainer (precompute_ref_log_probs; the logged rewards and accuracies); the model, template,
// log, loss curve, samples and export are `gptgo train sft`'s (train_sft.go), the loop train.DPO.

package main

import (
	"context"
	"encoding/json"
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
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

const dpoUsage = "DATA... [--model SFT.gguf] [--out DIR] [--beta B] [--loss sigmoid|ipo] [--label-smoothing E] [--reference precomputed|model] [--lora] [--steps N | --epochs E] [--resume] [flags]\n\n" +
	"Aligns MODEL (the embedded default model when omitted) to preference pairs with DPO: ShareGPT or OpenAI records with " +
	"\"chosen\" and \"rejected\" answers, hh-rlhf {chosen, rejected} transcripts, or Alpaca records whose \"output\" ranks answers best first " +
	"(each ranking gives all its pairs), as a JSON array or JSONL, .gz allowed. MODEL is also the reference: its log-probs of every answer are " +
	"computed once before training, so no second model is held (--reference model keeps one, to compare). Writes OUT/checkpoint.ckpt, " +
	"OUT/log.jsonl (the DPO loss), OUT/dpo.jsonl (rewards, margins, accuracy), OUT/loss.svg and OUT/model.gguf (OUT/adapter.gguf with --lora)."

const rmUsage = "DATA... [--model SFT.gguf] [--out DIR] [--margin M] [--lora] [--steps N | --epochs E] [--resume] [flags]\n\n" +
	"Trains a reward model on preference pairs (the formats of gptgo train dpo; a ranking of K answers gives its K(K-1)/2 pairs, " +
	"kept in one batch where --batch allows): MODEL with its LM head replaced by a scalar value head, scored at the answer's " +
	"end-of-turn token, with the pairwise loss -log σ(r_chosen - r_rejected - margin). Reports held-out accuracy beside the share a " +
	"length-only ranking gets. Writes OUT/checkpoint.ckpt, OUT/log.jsonl, OUT/rm.jsonl (scores, margin, accuracy), OUT/loss.svg and " +
	"OUT/model.gguf (the model and the head, cls.output.weight/bias; score with gptgo score). With --lora only the adapters and " +
	"the head train; OUT/adapter.gguf holds the adapters and OUT/model.gguf the base with them merged, and the head."

// prefLogName is the run's preference-metrics log in OUT: dpo.jsonl, rm.jsonl.
func prefLogName(method string) string { return method + ".jsonl" }

// dpoName is DPO's preference-metrics log.
var dpoName = prefLogName("dpo")

func runDPO(ctx context.Context, e *env, args []string) error { return runPref(ctx, e, args, "dpo") }

func runRM(ctx context.Context, e *env, args []string) error { return runPref(ctx, e, args, "rm") }

// runPref is `gptgo train dpo` and `gptgo train rm`: the same data,
// flags, run directory and logs; method says which loss.
func runPref(ctx context.Context, e *env, args []string, method string) error {
	usage, cfg, load := dpoUsage, train.DefaultDPOConfig(), train.LoadDPOConfig
	if method == "rm" {
		usage, cfg, load = rmUsage, train.DefaultRMConfig(), train.LoadRMConfig
	}
	fs := newFlags(e, "train "+method, usage)
	configPath := fs.String("config", "", "JSON run configuration (see --print-config); flags override it")
	printConfig := fs.Bool("print-config", false, "print the configuration (defaults, the file, then flags) and exit")
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoint (settings from OUT/config.json, then flags)")
	// Overrides, written into set and copied over the loaded configuration
	// only when given, so that a config file's values stand otherwise.
	str := func(name, usage string, dst *string) { fs.StringVar(dst, name, "", usage) }
	num := func(name, usage string, dst *float64) { fs.Float64Var(dst, name, 0, usage) }
	integer := func(name, usage string, dst *int) { fs.IntVar(dst, name, 0, usage) }
	var set train.PrefRunConfig
	str("model", "GGUF model to align, also the reference (default: the embedded default model)", &set.Model.Base)
	str("out", "output directory (checkpoint, logs, loss.svg, model.gguf)", &set.Run.Out)
	str("template", "built-in chat template ("+strings.Join(chat.BuiltinNames(), ", ")+"); default: the model's", &set.Data.Template)
	if method == "dpo" {
		str("loss", "sigmoid (DPO), ipo, or kto (unpaired answers labelled desirable or not: {messages, label})", &set.DPO.Loss)
		str("reference", "precomputed (the reference's log-probs once, before training) or model (a second model at every step)", &set.DPO.Reference)
		num("beta", "DPO's β: the strength of the KL penalty to the reference", &set.DPO.Beta)
		num("label-smoothing", "cDPO's ε: the probability that a label is wrong (sigmoid loss)", &set.DPO.LabelSmoothing)
	} else {
		num("margin", "the chosen answer should score this much above the rejected one", &set.RM.Margin)
	}
	num("lr", "peak learning rate", &set.Optim.LR)
	num("val-fraction", "fraction of the prompts held out for validation", &set.Data.ValFraction)
	num("epochs", "passes over the training pairs (when --steps is not given)", &set.Run.Epochs)
	integer("seq", "tokens per sequence (prompt and answer); longer answers are cut", &set.Run.Seq)
	integer("batch", "pairs per micro-batch (two sequences each)", &set.Run.Batch)
	integer("steps", "optimizer steps in all (overrides --epochs)", &set.Run.Steps)
	integer("threads", "worker threads (0: all cores)", &set.Run.Threads)
	seed := fs.Uint64("seed", 0, "seed of the pair order and the validation split")
	lf := addLoRATrainFlags(fs) // --lora, --lora-rank, … (lora.go)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["steps"] && given["epochs"] {
		return fmt.Errorf("give --steps or --epochs, not both")
	}
	dir := cfg.Run.Out
	if given["out"] {
		dir = fs.Lookup("out").Value.String()
	}
	if cfg, err = loadRunConfig(cfg, dir, *resume, *configPath, load); err != nil {
		return err
	}
	if *resume && len(pos) > 0 {
		return fmt.Errorf("--resume trains on the run's own data; drop %s", strings.Join(pos, " "))
	}
	cfg.Data.Train = append(cfg.Data.Train, pos...)
	copyOver(&cfg, &set, given)
	if given["seed"] {
		cfg.Run.Seed = *seed
	}
	if err := lf.apply(given, &cfg.LoRA); err != nil {
		return err
	}
	check := cfg // the settings may be printed before any data is named
	if len(check.Data.Train) == 0 {
		check.Data.Train = []string{"DATA"}
	}
	if done, err := printOrValidate(e, cfg, check, *printConfig); done || err != nil {
		return err
	}
	r, err := newDPORun(cfg, method, *resume, e)
	if err != nil {
		return err
	}
	defer r.close()
	return r.run(ctx)
}

// printOrValidate checks a run's configuration: with --print-config
// (print) check, which may stand in for the data files, and prints cfg,
// and the command is done; otherwise cfg itself.
func printOrValidate[C interface {
	Validate() error
	JSON() []byte
}](e *env, cfg, check C, print bool) (done bool, err error) {
	if !print {
		return false, cfg.Validate()
	}
	if err := check.Validate(); err != nil {
		return true, err
	}
	_, err = e.stdout.Write(cfg.JSON())
	return true, err
}

// copyOver moves the given flags' values from set into cfg.
func copyOver(cfg, set *train.PrefRunConfig, given map[string]bool) {
	for name, f := range map[string]func(){
		"model": func() { cfg.Model.Base = set.Model.Base }, "out": func() { cfg.Run.Out = set.Run.Out },
		"template": func() { cfg.Data.Template = set.Data.Template }, "loss": func() { cfg.DPO.Loss = set.DPO.Loss },
		"reference": func() { cfg.DPO.Reference = set.DPO.Reference }, "beta": func() { cfg.DPO.Beta = set.DPO.Beta },
		"label-smoothing": func() { cfg.DPO.LabelSmoothing = set.DPO.LabelSmoothing }, "lr": func() { cfg.Optim.LR = set.Optim.LR },
		"margin":       func() { cfg.RM.Margin = set.RM.Margin },
		"val-fraction": func() { cfg.Data.ValFraction = set.Data.ValFraction },
		"epochs":       func() { cfg.Run.Epochs, cfg.Run.Steps = set.Run.Epochs, 0 },
		"seq":          func() { cfg.Run.Seq = set.Run.Seq }, "batch": func() { cfg.Run.Batch = set.Run.Batch },
		"steps": func() { cfg.Run.Steps = set.Run.Steps }, "threads": func() { cfg.Run.Threads = set.Run.Threads },
	} {
		if given[name] {
			f()
		}
	}
}

// dpoRun is one `gptgo train dpo`: an sftRun for the model, template, log,
// samples and export, the encoded pairs, and the preference metrics.
type dpoRun struct {
	cfg            train.PrefRunConfig
	method         string // dpo or rm
	s              *sftRun
	ref            *model.Trainable // --reference model; nil: precomputed
	trainEx, valEx []train.PrefExample
	metrics        []dpoLogEntry // the whole run's, earlier sessions' included
	lastEval       train.PrefMetrics
	firstEval      train.PrefMetrics // this session's first evaluation
	evals          int               // in this session
}

// dpoLogEntry is one line of OUT/dpo.jsonl: the step's training pairs and,
// at an evaluation, the validation pairs.
type dpoLogEntry struct {
	Step  int                `json:"step"`
	Train train.PrefMetrics  `json:"train"`
	Val   *train.PrefMetrics `json:"val,omitempty"`
}

func newDPORun(cfg train.PrefRunConfig, method string, resume bool, e *env) (*dpoRun, error) {
	dir := cfg.Run.Out
	if err := checkRunDir(dir, resume); err != nil {
		return nil, err
	}
	r := &dpoRun{cfg: cfg, method: method, s: &sftRun{cfg: cfg.SFT(), e: e}}
	if method == "rm" {
		r.s.cfg.Run.SamplePrompts = nil // a reward model's LM head is not trained: its answers say nothing
	}
	if err := r.s.loadBase(); err != nil {
		return nil, err
	}
	if cfg.Run.Seq > r.s.m.CtxTrain {
		return nil, fmt.Errorf("--seq %d exceeds the context of %s (%d tokens)", cfg.Run.Seq, r.s.baseName, r.s.m.CtxTrain)
	}
	if method == "dpo" && cfg.DPO.Reference == "model" {
		if err := r.loadReference(); err != nil {
			return nil, err
		}
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
	if resume {
		if err := r.readMetrics(); err != nil {
			return nil, err
		}
	}
	r.s.holder = &pretrainRun{e: e, dir: dir, resuming: resume, m: r.s.m, lastEval: math.NaN()}
	r.s.pool = tensor.NewPool(cfg.Run.Threads)
	return r, nil
}

// loadReference reads a second, frozen copy of the base (the two-model
// method). With LoRA the base itself is the reference.
func (r *dpoRun) loadReference() error {
	var f *gguf.File
	var err error
	if r.cfg.Model.Base == "" {
		f, err = models.OpenDefault()
	} else {
		f, err = gguf.Open(r.cfg.Model.Base)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if r.ref, err = model.TrainableFromGGUF(f); err != nil {
		return fmt.Errorf("%s: reference: %w", r.s.baseName, err)
	}
	return nil
}

// loadData reads, encodes and splits the pairs, and works out the steps.
func (r *dpoRun) loadData() error {
	d, e := r.cfg.Data, r.s.e
	encode := func(what string, paths []string) ([]train.PrefExample, error) {
		var all []train.Preference
		for _, p := range paths {
			read := train.ReadPreferences
			if r.method == "dpo" && r.cfg.DPO.Loss == "kto" {
				read = train.ReadKTO // unpaired, labelled answers
			}
			ps, err := read(p)
			if err != nil {
				return nil, err
			}
			for i := range ps { // groups stay apart across files
				ps[i].Group += len(all)
			}
			all = append(all, ps...)
		}
		ex, st, err := train.PreparePreferences(r.s.enc, all, r.cfg.Run.Seq+1)
		if r.method == "rm" {
			ex, st, err = train.PrepareRM(r.s.enc, all, r.cfg.Run.Seq, r.pad())
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", what, st)
		return ex, nil
	}
	var err error
	r.trainEx, r.valEx, err = trainAndVal(d.Train, d.Val, encode, func(ex []train.PrefExample) ([]train.PrefExample, []train.PrefExample) {
		return train.SplitPreferences(ex, d.ValFraction, r.cfg.Run.Seed)
	})
	if err != nil {
		return err
	}
	if len(r.trainEx) == 0 {
		return fmt.Errorf("no pair fits --seq %d: nothing to train on", r.cfg.Run.Seq)
	}
	perStep := r.cfg.Run.Batch * r.cfg.Optim.Accum
	r.s.steps = r.cfg.Run.Steps
	if r.s.steps == 0 {
		r.s.steps = max(1, int(math.Ceil(r.cfg.Run.Epochs*float64(len(r.trainEx))/float64(perStep))))
	}
	how := fmt.Sprintf("pairwise loss, margin %g; the length-only baseline ranks %.3f of the validation pairs right", r.cfg.RM.Margin, train.LengthBaseline(r.valEx))
	if r.method == "dpo" {
		ref := "precomputed once"
		if r.ref != nil {
			ref = "a second model"
		}
		how = fmt.Sprintf("%s loss, β %g, reference %s", r.cfg.DPO.Loss, r.cfg.DPO.Beta, ref)
	}
	fmt.Fprintf(e.stderr, "template %s; %d training and %d validation pairs; %s; %d %s of %d pairs (%.2f epochs)\n",
		templateName(r.s.enc.Template), len(r.trainEx), len(r.valEx), how,
		r.s.steps, oneOrMany(r.s.steps, "step", "steps"), perStep, float64(r.s.steps*perStep)/float64(len(r.trainEx)))
	return nil
}

// trainAndVal encodes the training files and the validation files, or,
// with none of the latter, holds out part of the training examples with
// split. SFT, DPO and the reward model share it.
func trainAndVal[X any](trainFiles, valFiles []string, encode func(what string, paths []string) ([]X, error), split func([]X) ([]X, []X)) (tr, va []X, err error) {
	ex, err := encode("data", trainFiles)
	if err != nil {
		return nil, nil, err
	}
	if len(valFiles) > 0 {
		va, err = encode("validation data", valFiles)
		return ex, va, err
	}
	tr, va = split(ex)
	return tr, va, nil
}

// pad is the token of padding positions (and the reward model's marker).
func (r *dpoRun) pad() int32 { return max(r.s.enc.Tok.EOS(), 0) }

// readMetrics reads an earlier session's dpo.jsonl (the entries past the
// checkpoint are dropped when the first resumed step reports).
func (r *dpoRun) readMetrics() error {
	b, err := os.ReadFile(filepath.Join(r.cfg.Run.Out, prefLogName(r.method)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var le dpoLogEntry
		if line != "" && json.Unmarshal([]byte(line), &le) == nil {
			r.metrics = append(r.metrics, le)
		}
	}
	return nil
}

func (r *dpoRun) close() { r.s.close() }

func (r *dpoRun) run(ctx context.Context) error {
	cfg, dir, s := r.cfg, r.cfg.Run.Out, r.s
	if err := s.holder.openLog(); err != nil {
		return err
	}
	loop := cfg.SFT().Loop(s.steps, filepath.Join(dir, ckptName))
	var train1 func() error
	pc := &loop
	switch r.method {
	case "dpo":
		dc := train.DPOConfig{PretrainConfig: loop, DPOOptions: cfg.DPO.Options(), P: cfg.Run.Batch, T: cfg.Run.Seq, Seed: cfg.Run.Seed, Pad: r.pad()}
		if r.ref != nil {
			dc.Reference = r.ref
		}
		pc = &dc.PretrainConfig
		train1 = func() error { return train.DPO(ctx, s.m, s.pool, r.trainEx, r.valEx, dc, r.report) }
	case "rm":
		head, err := model.NewValueHead(s.m.Embd, cfg.Run.Seed)
		if err != nil {
			return err
		}
		s.head = head // exported with the model
		rc := train.RMConfig{PretrainConfig: loop, RMOptions: train.RMOptions{Margin: cfg.RM.Margin}, P: cfg.Run.Batch, T: cfg.Run.Seq, Seed: cfg.Run.Seed, Pad: r.pad()}
		pc = &rc.PretrainConfig
		rm := &train.RewardModel{Base: s.m, Head: head}
		train1 = func() error { return train.TrainRM(ctx, rm, s.pool, r.trainEx, r.valEx, rc, r.report) }
	}
	path, dt, params, err := s.runLoop(ctx, r.method, cfg.JSON(), pc, train1)
	if err != nil {
		return err
	}
	val := "no validation pairs"
	if r.lastEval.Pairs > 0 {
		val = fmt.Sprintf("held-out reward margin %.4f, accuracy %.3f over %d pairs", r.lastEval.Margin, r.lastEval.Accuracy, r.lastEval.Pairs)
		if r.method == "rm" {
			val += fmt.Sprintf(" (length-only baseline %.3f)", train.LengthBaseline(r.valEx))
		}
		if r.evals > 1 {
			val += fmt.Sprintf(" (first evaluation of this session: margin %.4f, accuracy %.3f)", r.firstEval.Margin, r.firstEval.Accuracy)
		}
	}
	fmt.Fprintf(s.e.stdout, "%s: %s, %s parameters, %v, %d %s, final %s loss %.6g, %s, %.1fs\n",
		path, s.m.Arch, benchCount(int64(params)), dt, s.holder.lastStep(), oneOrMany(s.holder.lastStep(), "step", "steps"), strings.ToUpper(r.method), s.holder.lastLoss, val, time.Since(s.started).Seconds())
	return nil
}

// report is the SFT run's report (progress line, log.jsonl, samples at
// each evaluation, loss.svg), then the preference metrics: a line in
// dpo.jsonl, and the validation pairs' at each evaluation.
func (r *dpoRun) report(d train.PrefReport) error {
	if d.Resumed && r.s.holder.stepsNow == 0 {
		kept := r.metrics[:0]
		for _, le := range r.metrics {
			if le.Step < d.Step {
				kept = append(kept, le)
			}
		}
		r.metrics = kept
	}
	if err := r.s.report(d.StepReport); err != nil {
		return err
	}
	le := dpoLogEntry{Step: d.Step, Train: d.Train}
	if d.Eval.Pairs > 0 {
		v := d.Eval
		le.Val, r.lastEval = &v, v
		if r.evals++; r.evals == 1 {
			r.firstEval = v
		}
		if r.method == "rm" {
			fmt.Fprintf(r.s.e.stderr, "step %d: held-out pairs: score chosen %.4f, rejected %.4f, margin %.4f, accuracy %.3f (length-only %.3f)\n",
				d.Step, v.Chosen, v.Rejected, v.Margin, v.Accuracy, train.LengthBaseline(r.valEx))
		} else {
			fmt.Fprintf(r.s.e.stderr, "step %d: held-out pairs: reward chosen %.4f, rejected %.4f, margin %.4f, accuracy %.3f, log-prob margin %.3f\n",
				d.Step, v.Chosen, v.Rejected, v.Margin, v.Accuracy, v.LogpMargin)
		}
	}
	r.metrics = append(r.metrics, le)
	var b strings.Builder
	for _, m := range r.metrics {
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		b.Write(append(line, '\n'))
	}
	// Rewritten whole, atomically: a few hundred short lines, and a kill
	// never leaves half a line.
	return atomicfile.WriteBytes(filepath.Join(r.cfg.Run.Out, prefLogName(r.method)), []byte(b.String()))
}
