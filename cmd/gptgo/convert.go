// Reference: llama.cpp convert_hf_to_gguf.py (its command line: the model
// directory, --outfile, --outtype), here one Go command with no Python.

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/hf"
	"github.com/gptgo/gptgo/quant"
)

func init() {
	register(&command{
		name:    "convert",
		summary: "convert a Hugging Face checkpoint (safetensors, config.json, tokenizer) to a GGUF model",
		usage:   convertUsage,
		run:     runConvert,
	})
}

var convertUsage = `HF_DIR OUT.gguf [--type TYPE] [--name NAME] [--threads N] [--quiet]
       PEFT_DIR OUT.gguf --base BASE.gguf

HF_DIR holds config.json, model.safetensors (or shards listed in
model.safetensors.index.json), tokenizer.json or tokenizer.model, and
optionally tokenizer_config.json (special tokens, chat template).
Architectures: ` + strings.Join(hf.Architectures(), ", ") + `.
Without --type each tensor keeps its checkpoint's float type (norms and
biases F32); TYPE is F32, F16, BF16 or a quantization mix (` + strings.Join(fileTypeNames(), ", ") + `).

A directory with adapter_config.json is a PEFT LoRA adapter: it becomes a
llama.cpp GGUF adapter (for gptgo run --lora) of the base model --base.`

func runConvert(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "convert", convertUsage)
	typ := fs.String("type", "", "output type (F32, F16, BF16, Q8_0, Q4_K_M, …); default: the checkpoint's float types")
	name := fs.String("name", "", "general.name (default: the directory's name)")
	threads := fs.Int("threads", 0, "goroutines for quantizing (0: all cores)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	base := fs.String("base", "", "for a PEFT adapter: the GGUF base model it adapts")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return errUsage
	}
	if hf.IsAdapterDir(pos[0]) {
		if *typ != "" {
			return fmt.Errorf("--type applies to models; an adapter keeps its float types")
		}
		if err := hf.ConvertAdapter(ctx, pos[0], pos[1], *base); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s (PEFT LoRA) → %s\n", pos[0], pos[1])
		return nil
	}
	if *base != "" {
		return fmt.Errorf("--base is for PEFT adapter directories; %s has no adapter_config.json", pos[0])
	}
	opt := hf.Options{Name: *name, Threads: *threads}
	if *typ != "" {
		ft, err := quant.ParseFileType(*typ)
		if err != nil {
			return fmt.Errorf("--type: %w", err)
		}
		opt.Type = &ft
	}
	if *threads < 0 {
		return fmt.Errorf("--threads %d is negative", *threads)
	}
	removeStaleTemps(e.stderr, pos[1])
	bar := newProgressBar(e.stderr)
	last := ""
	opt.Progress = func(stage string, done, total int) {
		if stage != last {
			bar.end() // one line per stage
			last = stage
		}
		if !*quiet {
			bar.draw(int64(done), int64(total), fmt.Sprintf("%s %d/%d", stage, done, total))
		}
		e.at(fmt.Sprintf("convert: %s tensor %d of %d", stage, done, total))
	}
	start := time.Now()
	res, err := hf.Convert(ctx, pos[0], pos[1], opt)
	bar.end()
	if err != nil {
		return interrupted(ctx, err, pos[1])
	}
	fmt.Fprintf(e.stdout, "%s (%s) → %s: %s, %v, %.1fs\n", pos[0], res.Arch, pos[1],
		plural(res.Tensors, "1 tensor", "%d tensors"), res.FileType, time.Since(start).Seconds())
	return nil
}
