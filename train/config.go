// Reference: nanoGPT config/train_shakespeare_char.py and train.py's globals (every setting of a run, with
// its default, in one place); llm.c train_gpt2.c's flags.

package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// Config is one pretraining run as `gptgo train pretrain --config FILE`
// reads it (JSON; unknown keys are errors). DefaultConfig fills every
// field, and `gptgo train pretrain --print-config` prints it.
type Config struct {
	Data  DataConfig  `json:"data"`
	Model ModelConfig `json:"model"`
	Optim OptimConfig `json:"optim"`
	Run   RunConfig   `json:"run"`
	LoRA  LoRAConfig  `json:"lora"` // adapters over model.init instead of every weight (lora.go)
}

// DataConfig says where tokens come from.
type DataConfig struct {
	// Train lists GPTGOTOK token shards (data.CreateShard, `gptgo data
	// tokenize`) or text files (.txt; .jsonl/.json records) that are
	// tokenized with Vocab before training starts.
	Train []string `json:"train"`
	// Val lists validation shards or text. Empty: for text, the last
	// ValFraction of the training tokens; for shards, no validation.
	Val         []string `json:"val"`
	ValFraction float64  `json:"val_fraction"`
	// Vocab is a tokenizer file (GGUF vocabulary, tokenizer.json, …); the
	// model's vocabulary and the exported file's tokenizer. Empty: the
	// tokenizer of Model.Init.
	Vocab string `json:"vocab"`
	Field string `json:"field"` // JSON records: the text field ("" : "text", else every string)
	// Random draws windows at random offsets (nanoGPT); false walks the
	// shards in order (llm.c).
	Random bool `json:"random"`
}

// ModelConfig is the architecture and shape of a new model, or the file
// to start from.
type ModelConfig struct {
	Init    string  `json:"init"` // a GGUF model to continue training (its shape overrides the fields below)
	Arch    string  `json:"arch"` // llama, qwen2 or gpt2
	Dim     int     `json:"dim"`  // C
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	KVHeads int     `json:"kv_heads"` // 0: Heads
	FF      int     `json:"ff"`       // 0: llama2.c's rule, 2/3·4·C rounded up to a multiple of 32 (SwiGLU), 4·C (GELU)
	Ctx     int     `json:"ctx"`      // context_length written to the file; 0: Run.Seq
	Tied    bool    `json:"tied"`     // llama, qwen2: the head reuses token_embd
	Std     float64 `json:"std"`      // init standard deviation (GPT-2: 0.02)
}

// OptimConfig is AdamW, the schedule and clipping.
type OptimConfig struct {
	LR          float64 `json:"lr"`     // peak learning rate
	MinLR       float64 `json:"min_lr"` // reached at DecaySteps
	Warmup      int     `json:"warmup"`
	DecaySteps  int     `json:"decay_steps"` // 0: Run.Steps
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
	Clip        float64 `json:"clip"` // global gradient norm; 0: no clipping
	Accum       int     `json:"accum"`
}

// RunConfig is the length of the run and what it writes.
type RunConfig struct {
	Steps           int    `json:"steps"`
	Batch           int    `json:"batch"` // B sequences per micro-batch
	Seq             int    `json:"seq"`   // T tokens per sequence
	Seed            uint64 `json:"seed"`
	Threads         int    `json:"threads"` // 0: all cores
	Out             string `json:"out"`     // directory: checkpoint, log, loss.svg, model.gguf
	EvalEvery       int    `json:"eval_every"`
	EvalBatches     int    `json:"eval_batches"`
	SampleEvery     int    `json:"sample_every"` // 0: no samples
	SampleTokens    int    `json:"sample_tokens"`
	SamplePrompt    string `json:"sample_prompt"`
	CheckpointEvery int    `json:"checkpoint_every"`
	ExportType      string `json:"export_type"`   // f32, f16 or bf16
	ChatTemplate    string `json:"chat_template"` // written when the vocabulary has none
	// CheckpointActivations keeps only each layer's input for the backward
	// and reruns the layer there (autograd.Memory.Checkpoint): less memory,
	// one more forward of compute, the same gradients bit for bit.
	CheckpointActivations bool `json:"checkpoint_activations"`
	// ActivationDType holds those kept layer inputs in f32, bf16 or f16
	// (16 bits need checkpoint_activations); 16 bits move the gradients
	// by about the format's rounding.
	ActivationDType string `json:"activation_dtype"`
}

// DefaultChatTemplate is ChatML, which a model trained from scratch may as
// well learn; `gptgo chat` and llama.cpp both render it.
const DefaultChatTemplate = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// DefaultConfig is a small LLaMA-style run: nanoGPT's Shakespeare
// settings scaled to a 4-layer, 128-wide model that trains on a laptop.
func DefaultConfig() Config {
	return Config{
		Data:  DataConfig{ValFraction: 0.1, Random: true},
		Model: ModelConfig{Arch: "llama", Dim: 128, Layers: 4, Heads: 4, Std: 0.02},
		Optim: OptimConfig{
			LR: 1e-3, MinLR: 1e-4, Warmup: 100,
			Beta1: DefaultAdamW.Beta1, Beta2: DefaultAdamW.Beta2, Eps: DefaultAdamW.Eps, WeightDecay: DefaultAdamW.WeightDecay,
			Clip: 1, Accum: 1,
		},
		Run: RunConfig{
			Steps: 2000, Batch: 16, Seq: 128, Seed: 1337, Out: "out",
			EvalEvery: 100, EvalBatches: 10, SampleEvery: 200, SampleTokens: 64,
			CheckpointEvery: 100, ExportType: "f32", ChatTemplate: DefaultChatTemplate,
			ActivationDType: "f32",
		},
		LoRA: DefaultLoRA,
	}
}

// LoadConfig reads path over the defaults: keys the file leaves out keep
// their default values; unknown keys are an error. The result is not
// validated, so that flags may still complete it; call Validate after.
func LoadConfig(path string) (Config, error) { return loadOver(path, DefaultConfig()) } // sftconfig.go

// JSON is c indented, as --print-config shows it and the run saves it.
// JSON has no NaN or infinity: check Finite first, or such a setting makes
// the result empty.
func (c Config) JSON() []byte {
	b, _ := json.MarshalIndent(c, "", "  ") // plain data: fails only on the non-finite numbers Finite reports
	return append(b, '\n')
}

// flagOf names the command-line flag that sets a config key, for messages.
var flagOf = map[string]string{"optim.lr": "--lr"}

// Finite reports every floating-point setting that is NaN or infinite, by
// its key (and flag): such a value would make every loss NaN, and JSON
// (the saved config, the log) cannot hold it.
func (c Config) Finite() error {
	var bad []string
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"data.val_fraction", c.Data.ValFraction}, {"model.std", c.Model.Std},
		{"optim.lr", c.Optim.LR}, {"optim.min_lr", c.Optim.MinLR}, {"optim.beta1", c.Optim.Beta1},
		{"optim.beta2", c.Optim.Beta2}, {"optim.eps", c.Optim.Eps}, {"optim.weight_decay", c.Optim.WeightDecay},
		{"optim.clip", c.Optim.Clip},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			key := f.key
			if fl, ok := flagOf[key]; ok {
				key += " (" + fl + ")"
			}
			bad = append(bad, fmt.Sprintf("%s is %g, not a finite number", key, f.v))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("train: bad config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Validate lists every out-of-range setting in one error.
func (c Config) Validate() error {
	if err := c.Finite(); err != nil {
		return err // the range checks below say nothing sensible about NaN
	}
	var errs []string
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, a...))
		}
	}
	check(len(c.Data.Train) > 0, "data.train is empty")
	check(c.Data.ValFraction >= 0 && c.Data.ValFraction < 1, "data.val_fraction %g is not in [0, 1)", c.Data.ValFraction)
	if c.Model.Init == "" {
		check(c.Model.Dim > 0 && c.Model.Layers > 0 && c.Model.Heads > 0, "model.dim, layers and heads must be positive (%d, %d, %d)", c.Model.Dim, c.Model.Layers, c.Model.Heads)
		check(c.Model.KVHeads >= 0 && c.Model.FF >= 0 && c.Model.Ctx >= 0, "model.kv_heads, ff and ctx must not be negative")
		check(c.Model.Std > 0, "model.std %g must be positive", c.Model.Std)
	}
	o := c.Optim
	check(o.LR > 0, "optim.lr (--lr) %g must be positive", o.LR)
	check(o.MinLR >= 0 && (o.MinLR <= o.LR || o.LR <= 0), "optim.min_lr %g must be in [0, optim.lr %g]", o.MinLR, o.LR)
	check(o.Warmup >= 0 && o.DecaySteps >= 0, "optim.warmup and decay_steps must not be negative")
	check(o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1 && o.Eps > 0 && o.WeightDecay >= 0, "optim.beta1, beta2 in [0, 1), eps > 0, weight_decay ≥ 0")
	check(o.Clip >= 0 && o.Accum >= 1, "optim.clip ≥ 0 and accum ≥ 1")
	r := c.Run
	check(r.Steps > 0, "run.steps (--steps) %d must be positive", r.Steps)
	check(r.Batch > 0, "run.batch (--batch) %d must be positive", r.Batch)
	check(r.Seq > 0, "run.seq (--seq) %d must be positive", r.Seq)
	check(r.Threads >= 0, "run.threads (--threads) %d must not be negative", r.Threads)
	check(r.EvalEvery >= 0 && r.EvalBatches >= 0 && r.SampleEvery >= 0 && r.SampleTokens >= 0 && r.CheckpointEvery >= 0,
		"run.eval_every, eval_batches, sample_every, sample_tokens and checkpoint_every must not be negative")
	check(r.Out != "", "run.out is empty")
	switch strings.ToLower(r.ExportType) {
	case "f32", "f16", "bf16":
	default:
		errs = append(errs, fmt.Sprintf("run.export_type %q is not f32, f16 or bf16", r.ExportType))
	}
	if _, err := r.Memory(); err != nil {
		errs = append(errs, err.Error())
	}
	if err := c.LoRA.Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "train: "))
	}
	check(!c.LoRA.Enabled || c.Model.Init != "", "lora.enabled (--lora) needs model.init (--init): adapters train over an existing model")
	if len(errs) > 0 {
		return fmt.Errorf("train: bad config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Memory is how the run's tape keeps activations for the backward.
func (r RunConfig) Memory() (autograd.Memory, error) {
	m := autograd.Memory{Checkpoint: r.CheckpointActivations}
	switch strings.ToLower(r.ActivationDType) {
	case "f32", "":
	case "bf16":
		m.Store = tensor.BF16
	case "f16":
		m.Store = tensor.F16
	default:
		return m, fmt.Errorf("run.activation_dtype %q is not f32, bf16 or f16", r.ActivationDType)
	}
	if m.Store != tensor.F32 && !m.Checkpoint {
		return m, fmt.Errorf("run.activation_dtype %s needs run.checkpoint_activations (it is how the checkpointed layer inputs are kept)", r.ActivationDType)
	}
	return m, nil
}

// Schedule is the run's learning-rate schedule.
func (c Config) Schedule() Schedule {
	decay := c.Optim.DecaySteps
	if decay == 0 {
		decay = c.Run.Steps
	}
	return Schedule{MaxLR: c.Optim.LR, MinLR: c.Optim.MinLR, Warmup: c.Optim.Warmup, Decay: max(decay, c.Optim.Warmup)}
}

// Pretrain is the loop's configuration; the checkpoint lives in Run.Out.
func (c Config) Pretrain(checkpoint string) PretrainConfig {
	o := c.Optim
	mem, _ := c.Run.Memory() // Validate reports a bad one; Pretrain's SetMemory refuses it again
	return PretrainConfig{
		Steps: c.Run.Steps, Accum: o.Accum, Schedule: c.Schedule(),
		AdamW:     AdamWConfig{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay},
		ClipNorm:  o.Clip,
		EvalEvery: c.Run.EvalEvery, EvalBatches: max(c.Run.EvalBatches, 1),
		CheckpointPath: checkpoint, CheckpointEvery: c.Run.CheckpointEvery,
		Memory: mem,
	}
}
