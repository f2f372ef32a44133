// Reference: Lester, Al-Rfou and Constant 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning"
// (arXiv:2104.08691) §2-3; Hugging Face PEFT PromptTuningConfig (num_virtual_tokens, prompt_tuning_init TEXT
// with prompt_tuning_init_text) and its forward, which puts the virtual tokens before the whole input.

package train

import (
	"fmt"
	"slices"

	"github.com/gptgo/gptgo/model"
)

// PromptTuningConfig is the "prompt_tuning" section of an SFT run: with
// VirtualTokens positive, the run trains that many virtual tokens in front
// of every example over the frozen base, and nothing else, and writes
// them to OUT/adapter.gguf (adapter.type prompt_tuning).
type PromptTuningConfig struct {
	VirtualTokens int `json:"virtual_tokens"` // P (PEFT's num_virtual_tokens); 0: off
	// InitText starts the virtual tokens from the embeddings of this
	// text's tokens, repeated or cut to P (PEFT's prompt_tuning_init TEXT);
	// empty: embeddings of tokens sampled from the vocabulary.
	InitText string `json:"init_text"`
}

// Enabled reports whether the run trains a prompt.
func (c PromptTuningConfig) Enabled() bool { return c.VirtualTokens > 0 }

// check lists what is out of range: a negative count, an init text with
// no prompt, prompt tuning together with LoRA, or a prompt that leaves
// less than two positions of a sequence of seq.
func (c PromptTuningConfig) check(lora LoRAConfig, seq int) []string {
	var errs []string
	switch {
	case c.VirtualTokens < 0:
		errs = append(errs, fmt.Sprintf("prompt_tuning.virtual_tokens (--prompt-tuning) %d must not be negative", c.VirtualTokens))
	case c.VirtualTokens == 0 && c.InitText != "":
		errs = append(errs, "prompt_tuning.init_text (--prompt-tuning-init) needs prompt_tuning.virtual_tokens (--prompt-tuning P)")
	case c.Enabled() && lora.Enabled:
		errs = append(errs, "prompt tuning (--prompt-tuning) and LoRA (--lora) are two kinds of adapter: train one at a time")
	case c.Enabled() && seq > 0 && c.VirtualTokens > seq-2:
		errs = append(errs, fmt.Sprintf("prompt_tuning.virtual_tokens (--prompt-tuning) %d leaves no room for an example in a sequence of %d (--seq)", c.VirtualTokens, seq))
	}
	return errs
}

// Options are the model's options for this configuration: initIDs are
// the init text's tokens (nil without one), seed samples the rows of an
// init without text.
func (c PromptTuningConfig) Options(initIDs []int32, seed uint64) model.PromptTuningOptions {
	return model.PromptTuningOptions{Tokens: c.VirtualTokens, Init: slices.Clone(initIDs), Seed: seed}
}

// PrependVirtual returns the examples with the P virtual tokens -1 … -P
// in front of each, as the model sees them at inference (the virtual
// prefix before the whole rendered conversation, BOS included). They are
// never targets, and the token after them, the example's first, is not
// one either: no token is predicted from the prompt alone, as no token
// was predicted from nothing before. The examples must hold at most T+1-P
// tokens for rows of T positions: PrepareSFT with maxTokens T+1-P.
func PrependVirtual(ex []Example, P int) []Example {
	if P <= 0 {
		return ex
	}
	out := make([]Example, len(ex))
	for i, x := range ex {
		y := Example{Split: x.Split, Tokens: make([]int32, 0, P+len(x.Tokens)), Train: make([]bool, P, P+len(x.Train))}
		for k := range P {
			y.Tokens = append(y.Tokens, int32(-k-1))
		}
		y.Tokens = append(y.Tokens, x.Tokens...)
		y.Train = append(y.Train, x.Train...)
		for _, s := range x.Spans {
			y.Spans = append(y.Spans, [2]int{s[0] + P, s[1] + P})
		}
		out[i] = y
	}
	return out
}
