// Reference: Li and Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for Generation" (arXiv:2101.00190);
// Hugging Face PEFT PrefixTuningConfig (num_virtual_tokens).

package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
)

// prefixTuningFlags are `gptgo train sft`'s prefix-tuning options; they
// override the run configuration's "prefix_tuning" section when given.
type prefixTuningFlags struct {
	tokens     *int
	init       *string
	projection *int
}

func addPrefixTuningFlags(fs *flag.FlagSet) *prefixTuningFlags {
	return &prefixTuningFlags{
		tokens:     fs.Int("prefix-tuning", 0, "train every layer's keys and values of P virtual tokens put in front of every example over the frozen base (prefix tuning), and write OUT/adapter.gguf"),
		init:       fs.String("prefix-tuning-init", "", "with --prefix-tuning, start the prefix from the base model's keys and values of this text's tokens (default: of tokens sampled from the vocabulary)"),
		projection: fs.Int("prefix-projection", 0, "with --prefix-tuning, train the prefix through PEFT's reparameterization MLP of this hidden width (the file keeps only the keys and values it gives); 0: the keys and values directly"),
	}
}

// apply writes the flags that were given (set) over c.
func (f *prefixTuningFlags) apply(set map[string]bool, c *train.PrefixTuningConfig) {
	if set["prefix-tuning"] {
		c.VirtualTokens = *f.tokens
	}
	if set["prefix-tuning-init"] {
		c.InitText = *f.init
	}
	if set["prefix-projection"] {
		c.Projection = *f.projection
	}
}

// prefixTrainableFrom builds a prefix-tuning model over the frozen base f
// (read in place: f is handed to *base, closed with the run), its prefix
// started from the base's keys and values of c.InitText's tokens when
// given.
func prefixTrainableFrom(f *gguf.File, c train.PrefixTuningConfig, seed uint64, base **gguf.File) (m *model.Trainable, release func(), err error) {
	release = func() { *base = f }
	var ids []int32
	if c.InitText != "" {
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			return nil, release, err
		}
		if ids = tok.Encode(c.InitText, tokenizer.EncodeOptions{}); len(ids) == 0 {
			return nil, release, fmt.Errorf("--prefix-tuning-init %q has no tokens", c.InitText)
		}
	}
	m, err = model.PrefixTuningTrainableFromGGUF(f, c.Options(ids, seed))
	return m, release, err
}

// adapterRunKind names what a run over a frozen base trains, for the
// adapter's general.name: "prefix tuning", "prompt tuning" or "LoRA".
func adapterRunKind(m *model.Trainable) string {
	switch ps := m.Params(); {
	case m.VirtualTokens() == 0:
		return "LoRA"
	case len(ps) > 0 && (strings.HasSuffix(ps[0].Name, ".prefix_k") || strings.HasPrefix(ps[0].Name, "prefix_tuning.")):
		return "prefix tuning"
	}
	return "prompt tuning"
}
