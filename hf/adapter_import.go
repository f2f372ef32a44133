// Reference: llama.cpp convert_lora_to_gguf.py (PEFT's lora_A [r, in] and
// lora_B [out, r] written as "<gguf base>.lora_a" ne = [in, r] and
// ".lora_b" ne = [r, out], the base model's tensor mapping and Q/K
// permutation applied to lora_B, general.type "adapter", adapter.type
// "lora", adapter.lora.alpha) and PEFT's adapter_config.json.

package hf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

// AdapterConfigName is the file that marks a PEFT adapter directory.
const AdapterConfigName = "adapter_config.json"

// IsAdapterDir reports whether dir holds a PEFT adapter.
func IsAdapterDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, AdapterConfigName))
	return err == nil
}

// ConvertAdapter reads the PEFT LoRA adapter in dir and writes it as a
// llama.cpp GGUF adapter at out, for the GGUF base model at base (its
// architecture names the tensors; its head counts un-permute nothing but
// permute llama Q/K lora_B rows as the base weights were permuted).
func ConvertAdapter(ctx context.Context, dir, out, base string) error {
	cfgPath := filepath.Join(dir, AdapterConfigName)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("hf: %w", err)
	}
	var pc struct {
		PeftType     string             `json:"peft_type"`
		R            int                `json:"r"`
		Alpha        float64            `json:"lora_alpha"`
		AlphaPattern map[string]float64 `json:"alpha_pattern"`
		UseDoRA      bool               `json:"use_dora"`
		UseRSLoRA    bool               `json:"use_rslora"`
	}
	if err := json.Unmarshal(b, &pc); err != nil {
		return fmt.Errorf("hf: %s: %v", cfgPath, err)
	}
	switch {
	case pc.PeftType != "LORA":
		return fmt.Errorf("hf: %s: peft_type %q is not supported (LORA is)", cfgPath, pc.PeftType)
	case pc.UseDoRA || pc.UseRSLoRA:
		return fmt.Errorf("hf: %s: DoRA and rsLoRA adapters have no llama.cpp form", cfgPath)
	case len(pc.AlphaPattern) > 0:
		return fmt.Errorf("hf: %s: alpha_pattern (a different alpha per module) has no llama.cpp form: one adapter.lora.alpha holds for every pair", cfgPath)
	case pc.Alpha <= 0:
		return fmt.Errorf("hf: %s: lora_alpha %v must be positive", cfgPath, pc.Alpha)
	}
	if base == "" {
		return fmt.Errorf("hf: %s is a LoRA adapter: name its base model (--base MODEL.gguf), whose architecture and head counts the conversion needs", dir)
	}
	bf, err := gguf.Open(base)
	if err != nil {
		return err
	}
	arch := bf.Arch()
	heads, _ := bf.Uint(arch + ".attention.head_count")
	kvHeads, ok := bf.Uint(arch + ".attention.head_count_kv")
	if !ok {
		kvHeads = heads
	}
	defer bf.Close()
	a, ok := archByGGUF(arch)
	if !ok {
		return fmt.Errorf("hf: %s: base architecture %q is not supported (llama, qwen2, gpt2 are)", base, arch)
	}

	path := filepath.Join(dir, "adapter_model.safetensors")
	sf, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer sf.Close()
	ad := &model.Adapter{Arch: arch, Alpha: float32(pc.Alpha), Name: filepath.Base(filepath.Clean(dir))}
	pairs := map[string]*model.AdapterPair{}
	var order []string
	for i := range sf.Tensors {
		ti := &sf.Tensors[i]
		name := strings.TrimPrefix(ti.Name, "base_model.model.")
		var side string
		switch {
		case strings.HasSuffix(name, ".lora_A.weight"):
			side, name = "a", strings.TrimSuffix(name, ".lora_A.weight")+".weight"
		case strings.HasSuffix(name, ".lora_B.weight"):
			side, name = "b", strings.TrimSuffix(name, ".lora_B.weight")+".weight"
		default:
			return fmt.Errorf("hf: %s: tensor %q is not a LoRA matrix (lora_A/lora_B); trained biases or whole modules have no llama.cpp adapter form", path, ti.Name)
		}
		g, _, skip, ok := a.toGGUF(name)
		if !ok || skip {
			return fmt.Errorf("hf: %s: tensor %q adapts %s, which a %s model does not have", path, ti.Name, name, a.hf)
		}
		if len(ti.Shape) != 2 {
			return fmt.Errorf("hf: %s: tensor %q has shape %v, not a matrix", path, ti.Name, ti.Shape)
		}
		var kind elem
		var dt tensor.DType
		switch ti.DType {
		case safetensors.F32:
			kind, dt = eF32, tensor.F32
		case safetensors.F16:
			kind, dt = eF16, tensor.F16
		case safetensors.BF16:
			kind, dt = eBF16, tensor.BF16
		default:
			return fmt.Errorf("hf: %s: tensor %q has dtype %v (F32, F16 or BF16 expected)", path, ti.Name, ti.DType)
		}
		rows, cols := int(ti.Shape[0]), int(ti.Shape[1])
		var p rowPlan
		in := inner(g)
		if side == "b" && a.permuteQK && (strings.HasPrefix(in, "attn_q.") || strings.HasPrefix(in, "attn_k.")) {
			h := int(heads)
			if strings.HasPrefix(in, "attn_k.") {
				h = int(kvHeads)
			}
			if p.rowOf, err = ropePermute(rows, h, true); err != nil {
				return fmt.Errorf("hf: %s: tensor %q: %w", path, ti.Name, err)
			}
		}
		var buf strings.Builder
		if err := streamRows(&buf, matrix{data: sf.Data(ti), kind: kind, rows: rows, cols: cols}, kind, p); err != nil {
			return err
		}
		t, err := tensor.New(g+".lora_"+side, dt, []byte(buf.String()), cols, rows)
		if err != nil {
			return fmt.Errorf("hf: %s: %w", path, err)
		}
		pr := pairs[g]
		if pr == nil {
			pr = &model.AdapterPair{Base: g}
			pairs[g] = pr
			order = append(order, g)
		}
		if side == "a" {
			pr.A = t
		} else {
			pr.B = t
		}
	}
	for _, g := range order {
		p := pairs[g]
		if p.A == nil || p.B == nil {
			return fmt.Errorf("hf: %s: %s has only one of lora_A and lora_B", path, g)
		}
		if p.A.Rows() != p.B.Cols() {
			return fmt.Errorf("hf: %s: %s: lora_A has rank %d, lora_B %d", path, g, p.A.Rows(), p.B.Cols())
		}
		ad.Pairs = append(ad.Pairs, *p)
	}
	if len(ad.Pairs) == 0 {
		return fmt.Errorf("hf: %s: no LoRA matrices", path)
	}
	if err := ad.CheckBase(arch, model.GGUFShapes(bf)); err != nil {
		return fmt.Errorf("hf: %s against %s: %w", dir, base, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ad.WriteFile(out)
}
