// Reference: Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning" (arXiv:2104.08691);
// Hugging Face PEFT PromptTuningConfig (num_virtual_tokens, prompt_tuning_init TEXT, prompt_tuning_init_text).

package main

import (
	"flag"
	"fmt"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
)

// promptTuningFlags are `gptgo train sft`'s prompt-tuning options; they
// override the run configuration's "prompt_tuning" section when given.
type promptTuningFlags struct {
	tokens *int
	init   *string
}

func addPromptTuningFlags(fs *flag.FlagSet) *promptTuningFlags {
	return &promptTuningFlags{
		tokens: fs.Int("prompt-tuning", 0, "train P virtual tokens put in front of every example over the frozen base (prompt tuning), and write OUT/adapter.gguf"),
		init:   fs.String("prompt-tuning-init", "", "with --prompt-tuning, start the virtual tokens from the embeddings of this text's tokens (default: tokens sampled from the vocabulary)"),
	}
}

// apply writes the flags that were given (set) over c.
func (f *promptTuningFlags) apply(set map[string]bool, c *train.PromptTuningConfig) {
	if set["prompt-tuning"] {
		c.VirtualTokens = *f.tokens
	}
	if set["prompt-tuning-init"] {
		c.InitText = *f.init
	}
}

// promptTrainableFrom builds a prompt-tuning model over the frozen base f
// (read in place: f is handed to *base, closed with the run), its table
// started from the embeddings of c.InitText's tokens when given.
func promptTrainableFrom(f *gguf.File, c train.PromptTuningConfig, seed uint64, base **gguf.File) (m *model.Trainable, release func(), err error) {
	release = func() { *base = f }
	var ids []int32
	if c.InitText != "" {
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			return nil, release, err
		}
		if ids = tok.Encode(c.InitText, tokenizer.EncodeOptions{}); len(ids) == 0 {
			return nil, release, fmt.Errorf("--prompt-tuning-init %q has no tokens", c.InitText)
		}
	}
	m, err = model.PromptTuningTrainableFromGGUF(f, c.Options(ids, seed))
	return m, release, err
}

// virtualPrefix returns the virtual ids -1 … -P of a prompt-tuning run in
// front of prompt (prompt itself for other runs), as inference puts them.
func virtualPrefix(m *model.Trainable, prompt []int32) []int32 {
	P := m.VirtualTokens()
	if P == 0 {
		return prompt
	}
	out := make([]int32, 0, P+len(prompt))
	for k := range P {
		out = append(out, int32(-k-1))
	}
	return append(out, prompt...)
}

// checkVirtualUse refuses a prompt-tuning adapter in the commands that do
// not generate (logits, perplexity, embed, eval: their flags come from
// addLoadFlags alone): they feed the model tokens themselves, without the
// virtual ones, so the adapter would be silently ignored.
func checkVirtualUse(m *model.Model, f *inferFlags) error {
	if P := m.VirtualTokens(); P > 0 && f.maxTokens == nil {
		return fmt.Errorf("--lora: a prompt- or prefix-tuning adapter (%d virtual tokens) runs only where text is generated (run, chat, agent, kb ask); this command would ignore it", P)
	}
	return nil
}
