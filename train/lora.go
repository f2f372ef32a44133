// Reference: Hugging Face PEFT LoraConfig (r, lora_alpha, lora_dropout, target_modules, modules_to_save);
// LLaMA-Factory's finetuning_type "lora" arguments, whose defaults for r and alpha are kept here.

package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/model"
)

// LoRAConfig is the "lora" section of a run's configuration: when Enabled,
// the run trains low-rank adapters over the frozen base (read in place,
// quantized or not) instead of every weight, and writes adapter.gguf.
type LoRAConfig struct {
	Enabled bool    `json:"enabled"`
	Rank    int     `json:"rank"`    // r
	Alpha   float64 `json:"alpha"`   // the adapter path is scaled by Alpha/Rank; 0 means 2·Rank
	Dropout float64 `json:"dropout"` // on the adapters' input, while training
	// Targets are short matrix names (model.LoRATargets: q, k, v, qkv, o,
	// gate, up, down); empty means model.DefaultLoRATargets.
	Targets []string `json:"targets"`
	// TrainEmbeddings trains token_embd (and output) whole, as
	// Chinese-LLaMA-Alpaca does after extending the vocabulary.
	TrainEmbeddings bool `json:"train_embeddings"`
}

// DefaultLoRA is off, with the settings a run gets when it is switched on:
// rank 16, alpha twice the rank (a scale of 2, whatever the rank), dropout
// 0.05, every matrix of every block.
var DefaultLoRA = LoRAConfig{Rank: 16, Alpha: 0, Dropout: 0.05}

// Validate names every setting out of range (whether Enabled or not, so a
// bad file is caught before a run switches it on).
func (c LoRAConfig) Validate() error {
	var errs []string
	if c.Rank < 1 {
		errs = append(errs, fmt.Sprintf("lora.rank (--lora-rank) %d must be at least 1", c.Rank))
	}
	if c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) {
		errs = append(errs, fmt.Sprintf("lora.alpha (--lora-alpha) %v must be positive (0: twice the rank)", c.Alpha))
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		errs = append(errs, fmt.Sprintf("lora.dropout (--lora-dropout) %v must be in [0, 1)", c.Dropout))
	}
	for _, t := range c.Targets {
		if _, ok := model.LoRATargets[t]; !ok {
			names := make([]string, 0, len(model.LoRATargets))
			for k := range model.LoRATargets {
				names = append(names, k)
			}
			slices.Sort(names)
			errs = append(errs, fmt.Sprintf("lora.targets (--lora-targets) %q is not one of %s", t, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Options are the model's LoRA options for this configuration; seed draws
// the adapters' A and the dropout masks.
func (c LoRAConfig) Options(seed uint64) model.LoRAOptions {
	alpha := c.Alpha
	if alpha == 0 {
		alpha = 2 * float64(c.Rank)
	}
	var targets []string
	if len(c.Targets) > 0 {
		targets = slices.Clone(c.Targets)
	}
	return model.LoRAOptions{Rank: c.Rank, Alpha: alpha, Dropout: c.Dropout, Targets: targets, TrainEmbeddings: c.TrainEmbeddings, Seed: seed}
}

// ParseLoRATargets splits a --lora-targets list ("q,k,v,o"), checking
// each name.
func ParseLoRATargets(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if _, ok := model.LoRATargets[t]; !ok {
			return nil, LoRAConfig{Rank: 1, Targets: []string{t}}.Validate()
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("train: --lora-targets %q names no matrix", s)
	}
	return out, nil
}
