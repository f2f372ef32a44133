// Reference: PEFT's saved LoRA adapter (adapter_model.safetensors with
// "base_model.model.<module>.lora_A.weight" [r, in] and ".lora_B.weight"
// [out, r]; adapter_config.json: peft_type, r, lora_alpha, target_modules,
// fan_in_fan_out, rank_pattern, alpha_pattern) and llama.cpp
// convert_lora_to_gguf.py (which writes them as "<gguf base>.lora_a" ne =
// [in, r] and ".lora_b" ne = [r, out], permuting lora_B of Q and K as the
// base model's converter permutes those weights).

package hf

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

// exportAdapter writes the llama.cpp-layout LoRA adapter in f as a PEFT
// adapter in dir. Un-permuting a llama Q or K adapter needs the head
// counts, which only the base model has (opt.Base).
func exportAdapter(ctx context.Context, f *gguf.File, path, dir string, opt ExportOptions) error {
	ad, err := model.AdapterFromGGUF(f)
	if err != nil {
		return fmt.Errorf("hf: %s: %w", path, err)
	}
	a, ok := archByGGUF(ad.Arch)
	if !ok {
		return fmt.Errorf("hf: %s: adapter for architecture %q cannot be exported (supported: llama, qwen2, gpt2)", path, ad.Arch)
	}
	if len(ad.Full) > 0 {
		var names []string
		for _, t := range ad.Full {
			names = append(names, t.Name)
		}
		return fmt.Errorf("hf: %s: the adapter replaces whole tensors (%s), which PEFT's LoRA format cannot hold; merge it into the base (gptgo lora merge) and export the model", path, list(names))
	}
	var heads, kvHeads int
	needHeads := a.permuteQK && slices.ContainsFunc(ad.Pairs, func(p model.AdapterPair) bool {
		return strings.HasPrefix(inner(p.Base), "attn_q.") || strings.HasPrefix(inner(p.Base), "attn_k.")
	})
	if needHeads {
		if opt.Base == "" {
			return fmt.Errorf("hf: %s: the adapter adapts Q or K of a llama model; name the base model (--base MODEL.gguf) for its head counts, which un-permuting their rows needs", path)
		}
		bf, err := gguf.Open(opt.Base)
		if err != nil {
			return err
		}
		h, ok1 := bf.Uint(ad.Arch + ".attention.head_count")
		kv, ok2 := bf.Uint(ad.Arch + ".attention.head_count_kv")
		bf.Close()
		if !ok1 {
			return fmt.Errorf("hf: %s: no %s.attention.head_count", opt.Base, ad.Arch)
		}
		if !ok2 {
			kv = h
		}
		heads, kvHeads = int(h), int(kv)
	}

	type item struct {
		st   safetensors.Tensor
		t    *tensor.Tensor
		kind elem
		plan rowPlan
	}
	var items []item
	var targets []string
	ranks := map[string]int{}
	for _, p := range ad.Pairs {
		hfName, ok := a.toHF(p.Base)
		if !ok || !strings.HasSuffix(hfName, ".weight") {
			return fmt.Errorf("hf: %s: adapted tensor %s has no %s module", path, p.Base, a.hf)
		}
		module := strings.TrimSuffix(hfName, ".weight")
		// The target is the module's name within its block ("self_attn.q_proj").
		target := module
		if rest, ok := strings.CutPrefix(module, a.prefix+a.block); ok {
			if _, in, ok := strings.Cut(rest, "."); ok {
				target = in
			}
		}
		if !slices.Contains(targets, target) {
			targets = append(targets, target)
		}
		ranks[module] = p.Rank()
		for _, side := range []struct {
			t      *tensor.Tensor
			suffix string
		}{{p.A, "lora_A"}, {p.B, "lora_B"}} {
			t := side.t
			it := item{t: t}
			switch t.DType {
			case tensor.F32:
				it.kind = eF32
			case tensor.F16:
				it.kind = eF16
			case tensor.BF16:
				it.kind = eBF16
			default:
				if !opt.Dequantize {
					return fmt.Errorf("hf: %s: tensor %s is %v; pass --dequantize to write it as F32", path, t.Name, t.DType)
				}
				it.kind = eF32
			}
			// ne = [cols, rows] is PyTorch's [rows, cols]: A [r, in], B [out, r].
			it.st = safetensors.Tensor{Name: "base_model.model." + module + "." + side.suffix + ".weight",
				DType: map[elem]safetensors.DType{eF32: safetensors.F32, eF16: safetensors.F16, eBF16: safetensors.BF16}[it.kind],
				Shape: []int64{int64(t.Rows()), int64(t.Cols())}}
			in := inner(p.Base)
			if side.suffix == "lora_B" && needHeads && (strings.HasPrefix(in, "attn_q.") || strings.HasPrefix(in, "attn_k.")) {
				h := heads
				if strings.HasPrefix(in, "attn_k.") {
					h = kvHeads
				}
				rowOf, err := ropePermute(t.Rows(), h, false)
				if err != nil {
					return fmt.Errorf("hf: %s: tensor %s: %w", path, t.Name, err)
				}
				it.plan.rowOf = rowOf
			}
			items = append(items, it)
		}
	}
	r := ad.Pairs[0].Rank()
	alpha := any(num(ad.Alpha))
	if ad.Alpha == 0 {
		alpha = r // llama.cpp reads alpha 0 as a scale of 1: alpha = r in PEFT
	}
	cfg := map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
		"target_modules": targets, "bias": "none", "fan_in_fan_out": a.gguf == "gpt2", "inference_mode": true,
		"base_model_name_or_path": baseName(opt.Base),
	}
	rp, ap := map[string]any{}, map[string]any{}
	for m, rk := range ranks {
		if rk != r {
			rp[m] = rk
			if ad.Alpha == 0 {
				ap[m] = rk
			}
		}
	}
	if len(rp) > 0 {
		cfg["rank_pattern"] = rp
	}
	if len(ap) > 0 {
		cfg["alpha_pattern"] = ap
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("hf: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "adapter_config.json"), cfg); err != nil {
		return err
	}
	sts := make([]safetensors.Tensor, len(items))
	for i := range items {
		sts[i] = items[i].st
	}
	src := func(i int, w io.Writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := &items[i]
		data := it.t.Data
		if !slices.Contains([]tensor.DType{tensor.F32, tensor.F16, tensor.BF16}, it.t.DType) {
			vals := make([]float32, it.t.Rows()*it.t.Cols())
			if err := tensor.Dequantize(it.t.DType, data, vals); err != nil {
				return err
			}
			data = f32sBytes(vals)
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(items))
		}
		return streamRows(w, matrix{data: data, kind: it.kind, rows: it.t.Rows(), cols: it.t.Cols()}, it.kind, it.plan)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), sts, map[string]string{"format": "pt"}, src); err != nil {
		return fmt.Errorf("hf: %w", err)
	}
	return nil
}

func baseName(path string) string {
	if path == "" {
		return ""
	}
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}
