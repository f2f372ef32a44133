// Reference: Li and Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for Generation" (arXiv:2101.00190)
// §4; Hugging Face PEFT PrefixTuningConfig (num_virtual_tokens). The examples carry the virtual tokens as
// prompt tuning's do (prompt_tuning.go, PrependVirtual).

package train

import (
	"fmt"
	"slices"

	"github.com/gptgo/gptgo/model"
)

// PrefixTuningConfig is the "prefix_tuning" section of an SFT run: with
// VirtualTokens positive, the run trains every layer's keys and values of
// that many virtual tokens in front of every example over the frozen
// base, and nothing else, and writes them to OUT/adapter.gguf
// (adapter.type prefix_tuning). The examples carry the virtual tokens as
// prompt tuning's do (PrependVirtual).
type PrefixTuningConfig struct {
	VirtualTokens int `json:"virtual_tokens"` // P (PEFT's num_virtual_tokens); 0: off
	// InitText starts the prefix from the base model's own keys and values
	// of this text's tokens, repeated or cut to P; empty: of tokens sampled
	// from the vocabulary.
	InitText string `json:"init_text"`
	// Projection, when positive, trains the prefix through PEFT's
	// reparameterization (prefix_projection) with this hidden width
	// (encoder_hidden_size); the file holds the resulting keys and values.
	Projection int `json:"projection"`
}

// Enabled reports whether the run trains a prefix.
func (c PrefixTuningConfig) Enabled() bool { return c.VirtualTokens > 0 }

// check lists what is out of range: a negative count, an init text with
// no prefix, prefix tuning together with LoRA or prompt tuning, or a
// prefix that leaves less than two positions of a sequence of seq.
func (c PrefixTuningConfig) check(lora LoRAConfig, prompt PromptTuningConfig, seq int) []string {
	var errs []string
	switch {
	case c.VirtualTokens < 0:
		errs = append(errs, fmt.Sprintf("prefix_tuning.virtual_tokens (--prefix-tuning) %d must not be negative", c.VirtualTokens))
	case c.VirtualTokens == 0 && c.InitText != "":
		errs = append(errs, "prefix_tuning.init_text (--prefix-tuning-init) needs prefix_tuning.virtual_tokens (--prefix-tuning P)")
	case c.Projection < 0 || c.Projection > 1<<16:
		errs = append(errs, fmt.Sprintf("prefix_tuning.projection (--prefix-projection) %d must be in 0 … 65536", c.Projection))
	case c.VirtualTokens == 0 && c.Projection != 0:
		errs = append(errs, "prefix_tuning.projection (--prefix-projection) needs prefix_tuning.virtual_tokens (--prefix-tuning P)")
	case c.Enabled() && lora.Enabled:
		errs = append(errs, "prefix tuning (--prefix-tuning) and LoRA (--lora) are two kinds of adapter: train one at a time")
	case c.Enabled() && prompt.Enabled():
		errs = append(errs, "prefix tuning (--prefix-tuning) and prompt tuning (--prompt-tuning) are two kinds of adapter: train one at a time")
	case c.Enabled() && seq > 0 && c.VirtualTokens > seq-2:
		errs = append(errs, fmt.Sprintf("prefix_tuning.virtual_tokens (--prefix-tuning) %d leaves no room for an example in a sequence of %d (--seq)", c.VirtualTokens, seq))
	}
	return errs
}

// Options are the model's options for this configuration: initIDs are
// the init text's tokens (nil without one), seed samples the tokens of an
// init without text.
func (c PrefixTuningConfig) Options(initIDs []int32, seed uint64) model.PrefixTuningOptions {
	return model.PrefixTuningOptions{Tokens: c.VirtualTokens, Init: slices.Clone(initIDs), Seed: seed, Projection: c.Projection}
}

// VirtualTokens is the count of virtual tokens in front of each example
// of the run: a prompt's or a prefix's (at most one of them is on), else 0.
func (c SFTRunConfig) VirtualTokens() int {
	return max(c.PromptTuning.VirtualTokens, c.PrefixTuning.VirtualTokens, 0)
}
