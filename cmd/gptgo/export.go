// Reference: Hugging Face transformers save_pretrained (the directory a
// checkpoint is shared as); the inverse of gptgo convert.

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gptgo/gptgo/hf"
)

func init() {
	register(&command{
		name:    "export",
		summary: "write a GGUF model as a Hugging Face checkpoint (safetensors, config.json, tokenizer)",
		usage:   exportUsage,
		run:     runExport,
	})
}

const exportUsage = `MODEL.gguf HF_DIR [--dequantize] [--base BASE.gguf] [--quiet]

Writes model.safetensors, config.json, generation_config.json, the tokenizer
(tokenizer.json for byte-level BPE, tokenizer.model for SentencePiece) and
tokenizer_config.json with the chat template into HF_DIR (created if needed).
Architectures: llama, qwen2, gpt2, bert. Tensors must be F32, F16 or BF16; with
--dequantize quantized tensors are written as F32.

A LoRA adapter (llama.cpp's GGUF layout, what gptgo train --lora writes) is
written as PEFT's adapter_model.safetensors and adapter_config.json; a llama
adapter of Q or K needs --base, the model it adapts (for its head counts).`

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "export", exportUsage)
	deq := fs.Bool("dequantize", false, "write quantized tensors as F32 instead of refusing them")
	base := fs.String("base", "", "for a LoRA adapter: the base model (needed to un-permute llama Q/K adapters)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return errUsage
	}
	in, dir := pos[0], pos[1]
	bar := newProgressBar(e.stderr)
	opt := hf.ExportOptions{Dequantize: *deq, Base: *base, Progress: func(done, total int) {
		if !*quiet {
			bar.draw(int64(done), int64(total), fmt.Sprintf("tensor %d/%d", done, total))
		}
		e.at(fmt.Sprintf("export: tensor %d of %d", done, total))
	}}
	start := time.Now()
	err = hf.Export(ctx, in, dir, opt)
	bar.end()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s → %s (%.1fs)\n", in, dir, time.Since(start).Seconds())
	return nil
}
