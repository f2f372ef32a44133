// Reference: LLaMA-Factory's stage dpo arguments (pref_beta, pref_loss sigmoid/ipo, dpo_label_smoothing,
// val_size) and TRL's DPOConfig (beta 0.1, learning rate 5e-7 for 7B models, precompute_ref_log_probs); the
// layout is SFTRunConfig's (sftconfig.go), whose checks and loop settings it reuses.

package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// PrefRunConfig is one `gptgo train dpo` or `gptgo train rm` run as --config reads it (JSON;
// unknown keys are errors) and --print-config prints it.
type PrefRunConfig struct {
	Data  PrefDataConfig `json:"data"`
	Model struct {
		// Base is the (SFT) model to align, which is also the reference;
		// "" is the embedded default model.
		Base string `json:"base"`
	} `json:"model"`
	Optim OptimConfig `json:"optim"`
	// Run's Batch counts pairs per micro-batch (each is two sequences).
	Run  SFTRunSettings `json:"run"`
	LoRA LoRAConfig     `json:"lora"`
	DPO  DPOSettings    `json:"dpo"` // gptgo train dpo's
	RM   RMSettings     `json:"rm"`  // gptgo train rm's
}

// RMSettings are the reward model's loss settings.
type RMSettings struct {
	Margin float64 `json:"margin"` // RMOptions.Margin
}

// PrefDataConfig says which preference files, and how they are rendered.
type PrefDataConfig struct {
	Train       []string `json:"train"`        // preference files (ReadPreferences' formats)
	Val         []string `json:"val"`          // held-out files; empty: ValFraction of Train
	ValFraction float64  `json:"val_fraction"` // of the prompts, chosen by a seeded shuffle
	Template    string   `json:"template"`     // as SFTDataConfig's
}

// DPOSettings are the loss's settings and where the reference comes from.
type DPOSettings struct {
	Beta           float64 `json:"beta"`
	Loss           string  `json:"loss"`            // sigmoid or ipo
	LabelSmoothing float64 `json:"label_smoothing"` // cDPO's ε
	// Reference is "precomputed" (the base's log-probs over the data,
	// computed once before training) or "model" (a second copy of the base
	// run at every step: more memory, the same numbers, for comparison).
	Reference string `json:"reference"`
}

// Options are the loss's options.
func (s DPOSettings) Options() DPOOptions {
	return DPOOptions{Beta: s.Beta, Loss: s.Loss, LabelSmoothing: s.LabelSmoothing}
}

// DefaultDPOConfig is SFT's defaults with TRL's beta 0.1, a learning rate
// of 5e-6 (small models take more than TRL's 5e-7 for 7B), batches of 4
// pairs and a 10% validation split.
func DefaultDPOConfig() PrefRunConfig {
	s := DefaultSFTConfig()
	c := PrefRunConfig{Optim: s.Optim, Run: s.Run, LoRA: s.LoRA}
	c.Data.ValFraction = 0.1
	c.Optim.LR, c.Optim.MinLR = 5e-6, 5e-7
	c.Run.Batch = 4
	c.DPO = DPOSettings{Beta: 0.1, Loss: "sigmoid", Reference: "precomputed"}
	return c
}

// DefaultRMConfig is DefaultDPOConfig with InstructGPT's reward-model
// learning rate (9e-6, here 1e-5) and no margin.
func DefaultRMConfig() PrefRunConfig {
	c := DefaultDPOConfig()
	c.Optim.LR, c.Optim.MinLR = 1e-5, 1e-6
	return c
}

// LoadRMConfig reads path over the reward model's defaults.
func LoadRMConfig(path string) (PrefRunConfig, error) { return loadOver(path, DefaultRMConfig()) }

// LoadDPOConfig reads path over the defaults (unknown keys are errors).
func LoadDPOConfig(path string) (PrefRunConfig, error) { return loadOver(path, DefaultDPOConfig()) }

// JSON is c indented, as --print-config shows it and the run saves it.
func (c PrefRunConfig) JSON() []byte {
	b, _ := json.MarshalIndent(c, "", "  ") // plain data; Validate refuses the non-finite numbers first
	return append(b, '\n')
}

// SFT is c as an SFT run's configuration: the settings the two share,
// checked and turned into the loop's by the same code.
func (c PrefRunConfig) SFT() SFTRunConfig {
	s := SFTRunConfig{Optim: c.Optim, Run: c.Run, LoRA: c.LoRA}
	s.Model.Base = c.Model.Base
	s.Data = SFTDataConfig{Train: c.Data.Train, Val: c.Data.Val, ValFraction: c.Data.ValFraction, Template: c.Data.Template}
	return s
}

// Validate lists every out-of-range setting in one error.
func (c PrefRunConfig) Validate() error {
	var errs []string
	if err := c.SFT().Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "train: bad sft config: "))
	}
	if err := c.DPO.Options().Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "train: "))
	}
	if math.IsNaN(c.RM.Margin) || math.IsInf(c.RM.Margin, 0) {
		errs = append(errs, fmt.Sprintf("rm.margin (--margin) %v is not a finite number", c.RM.Margin))
	}
	if c.DPO.Reference != "precomputed" && c.DPO.Reference != "model" {
		errs = append(errs, fmt.Sprintf("dpo.reference (--reference) %q is not precomputed or model", c.DPO.Reference))
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: bad preference run config: %s", strings.Join(errs, "; "))
	}
	return nil
}
