// Reference: LLaMA-Factory's SFT arguments (template, train_on_prompt, packing, val_size, num_train_epochs)
// and Stanford Alpaca's train.py defaults; the layout follows Config (config.go), whose optimizer section
// it shares.

package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

// SFTRunConfig is one `gptgo train sft` run as --config reads it (JSON;
// unknown keys are errors) and --print-config prints it.
type SFTRunConfig struct {
	Data  SFTDataConfig `json:"data"`
	Model struct {
		// Base is the GGUF model to fine-tune; "" is the embedded default model.
		Base string `json:"base"`
	} `json:"model"`
	Optim OptimConfig    `json:"optim"`
	Run   SFTRunSettings `json:"run"`
	LoRA  LoRAConfig     `json:"lora"` // adapters instead of every weight when enabled (lora.go)
	// PromptTuning trains virtual tokens over the frozen base when its
	// virtual_tokens is positive (prompt_tuning.go).
	PromptTuning PromptTuningConfig `json:"prompt_tuning"`
	// PrefixTuning trains every layer's keys and values of virtual tokens
	// over the frozen base when its virtual_tokens is positive
	// (prefix_tuning.go).
	PrefixTuning PrefixTuningConfig `json:"prefix_tuning"`
}

// SFTDataConfig says which conversations, and how they are rendered.
type SFTDataConfig struct {
	Train       []string `json:"train"`        // Alpaca, ShareGPT or OpenAI-messages files (JSON or JSONL)
	Val         []string `json:"val"`          // held-out files; empty: ValFraction of Train
	ValFraction float64  `json:"val_fraction"` // of the examples, chosen by a seeded shuffle
	// Template names a built-in chat template (tokenizer/chat: chatml,
	// llama3, …); "" is the model's own (ChatML for the default model,
	// whose own template ends no turn).
	Template      string `json:"template"`
	TrainOnPrompt bool   `json:"train_on_prompt"` // loss on every token, not the assistant's only
	Packing       bool   `json:"packing"`         // several examples per sequence; false pads one per sequence
}

// SFTRunSettings is the length of the run and what it writes.
type SFTRunSettings struct {
	Steps  int     `json:"steps"`  // optimizer steps; 0: from Epochs
	Epochs float64 `json:"epochs"` // passes over the training examples, when Steps is 0
	Batch  int     `json:"batch"`  // sequences per micro-batch
	Seq    int     `json:"seq"`    // positions per sequence; longer examples are cut by whole turns
	Seed   uint64  `json:"seed"`
	// Threads: worker threads, 0 for all cores.
	Threads         int      `json:"threads"`
	Out             string   `json:"out"`
	EvalEvery       int      `json:"eval_every"` // validation loss (one pass) and sample answers; 0: at the end only
	CheckpointEvery int      `json:"checkpoint_every"`
	SamplePrompts   []string `json:"sample_prompts"` // answered greedily at each evaluation
	SampleTokens    int      `json:"sample_tokens"`  // at most this many tokens per answer
	ExportType      string   `json:"export_type"`    // f32, f16 or bf16
	// CheckpointActivations and ActivationDType are RunConfig's.
	CheckpointActivations bool   `json:"checkpoint_activations"`
	ActivationDType       string `json:"activation_dtype"`
}

// DefaultSFTConfig is a short full fine-tune: one epoch, packing, loss
// on the assistant's turns, a peak learning rate of 1e-4 (small models take
// more than Alpaca's 2e-5 for 7B) with no weight decay.
func DefaultSFTConfig() SFTRunConfig {
	var c SFTRunConfig
	c.Data = SFTDataConfig{ValFraction: 0.05, Packing: true}
	c.Optim = OptimConfig{LR: 1e-4, MinLR: 1e-5, Warmup: 10, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0, Clip: 1, Accum: 1}
	c.Run = SFTRunSettings{Epochs: 1, Batch: 8, Seq: 256, Seed: 1337, Out: "out", EvalEvery: 50, CheckpointEvery: 50,
		SamplePrompts: []string{"What is the capital of France?", "Write a short poem about the sea."}, SampleTokens: 48,
		ExportType: "f32", ActivationDType: "f32"}
	c.LoRA = DefaultLoRA
	return c
}

// LoadSFTConfig reads path over the defaults (unknown keys are errors).
func LoadSFTConfig(path string) (SFTRunConfig, error) { return loadOver(path, DefaultSFTConfig()) }

// loadOver decodes the JSON file path over c: keys the file leaves out
// keep c's values; unknown keys are an error.
func loadOver[C any](path string, c C) (C, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// JSON is c indented, as --print-config shows it and the run saves it.
func (c SFTRunConfig) JSON() []byte {
	b, _ := json.MarshalIndent(c, "", "  ") // plain data; Validate refuses the non-finite numbers first
	return append(b, '\n')
}

// asConfig is c in pretraining's terms, for the checks and derivations
// the two share (optimizer, schedule, memory).
func (c SFTRunConfig) asConfig(steps int) Config {
	d := DefaultConfig()
	d.Data.Train, d.Data.ValFraction = []string{"-"}, c.Data.ValFraction
	d.Model.Init = "-" // the shape comes from the base model
	d.Optim = c.Optim
	r := c.Run
	d.Run = RunConfig{Steps: steps, Batch: r.Batch, Seq: r.Seq, Seed: r.Seed, Threads: r.Threads, Out: r.Out,
		EvalEvery: r.EvalEvery, EvalBatches: 1, SampleTokens: r.SampleTokens, CheckpointEvery: r.CheckpointEvery,
		ExportType: r.ExportType, CheckpointActivations: r.CheckpointActivations, ActivationDType: r.ActivationDType}
	return d
}

// Validate lists every out-of-range setting in one error, with pretraining's
// wording for the settings the two share.
func (c SFTRunConfig) Validate() error {
	var errs []string
	if math.IsNaN(c.Run.Epochs) || math.IsInf(c.Run.Epochs, 0) || c.Run.Epochs < 0 || (c.Run.Steps == 0 && c.Run.Epochs == 0) {
		errs = append(errs, fmt.Sprintf("run.epochs (--epochs) %g must be positive when run.steps is 0", c.Run.Epochs))
	}
	if c.Run.Steps < 0 {
		errs = append(errs, fmt.Sprintf("run.steps (--steps) %d must not be negative", c.Run.Steps))
	}
	if len(c.Data.Train) == 0 {
		errs = append(errs, "data.train is empty: name the conversation files (DATA...)")
	}
	if err := c.asConfig(max(c.Run.Steps, 1)).Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "train: bad config: "))
	}
	if err := c.LoRA.Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "train: "))
	}
	errs = append(errs, c.PromptTuning.check(c.LoRA, c.Run.Seq)...)                 // prompt_tuning.go
	errs = append(errs, c.PrefixTuning.check(c.LoRA, c.PromptTuning, c.Run.Seq)...) // prefix_tuning.go
	if len(errs) > 0 {
		return fmt.Errorf("train: bad sft config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Loop is the loop's configuration for a run of steps optimizer steps,
// checkpointing to checkpoint.
func (c SFTRunConfig) Loop(steps int, checkpoint string) PretrainConfig {
	p := c.asConfig(steps).Pretrain(checkpoint)
	if c.Run.EvalEvery == 0 {
		p.EvalEvery = steps // evaluate once, at the end
	}
	return p
}
