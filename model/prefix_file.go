// Reference: gptgo's prefix-tuning adapter file (docs/finetune.md, "The prefix-tuning file"): llama.cpp's
// adapter conventions (general.type "adapter", adapter.type naming the kind, general.architecture the base's)
// with each layer's keys and values of the virtual tokens, as PEFT's past_key_values hold them.

package model

import (
	"fmt"
	"io"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// Kind is the adapter's adapter.type: "lora", "prompt_tuning" or
// "prefix_tuning".
func (a *Adapter) Kind() string {
	switch {
	case a.Prompt != nil:
		return "prompt_tuning"
	case a.PrefixK != nil:
		return "prefix_tuning"
	}
	return "lora"
}

// writePrefix writes a prefix-tuning adapter to path atomically:
// general.type "adapter", adapter.type "prefix_tuning",
// adapter.prefix_tuning.virtual_tokens P and .block_count L (u32), and
// for each layer i "blk.i.prefix_k" then "blk.i.prefix_v", F32, ne =
// [n_embd_k_gqa, P].
func (a *Adapter) writePrefix(path string) error {
	if len(a.Pairs) > 0 || len(a.Full) > 0 || a.Prompt != nil {
		return fmt.Errorf("model: adapter %s: a prefix-tuning adapter holds nothing but its keys and values", path)
	}
	if err := a.checkPrefixTensors(); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	h := &gguf.Header{Version: 3}
	h.Set("general.architecture", gguf.NewValue(a.Arch))
	h.Set("general.type", gguf.NewValue("adapter"))
	if a.Name != "" {
		h.Set("general.name", gguf.NewValue(a.Name))
	}
	h.Set("adapter.type", gguf.NewValue("prefix_tuning"))
	h.Set("adapter.prefix_tuning.virtual_tokens", gguf.NewValue(uint32(a.PrefixK[0].Rows())))
	h.Set("adapter.prefix_tuning.block_count", gguf.NewValue(uint32(len(a.PrefixK))))
	var ts []*tensor.Tensor
	for i := range a.PrefixK {
		ts = append(ts, a.PrefixK[i], a.PrefixV[i])
	}
	for _, t := range ts {
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: t.Name, Shape: []int64{int64(t.Cols()), int64(t.Rows())}, DType: t.DType})
	}
	if err := h.Layout(); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	src := func(i int, w io.Writer) error {
		_, err := w.Write(ts[i].Data)
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	return nil
}

// checkPrefixTensors checks the layers' tensors against each other: as
// many keys as values, named blk.i.prefix_k and blk.i.prefix_v in order,
// float matrices all of the same shape [W, P].
func (a *Adapter) checkPrefixTensors() error {
	if len(a.PrefixK) == 0 || len(a.PrefixK) != len(a.PrefixV) {
		return fmt.Errorf("prefix-tuning adapter: %d key and %d value tensors, want one of each per layer", len(a.PrefixK), len(a.PrefixV))
	}
	first := a.PrefixK[0]
	if first == nil || len(first.Shape) != 2 {
		return fmt.Errorf("prefix-tuning adapter: tensor %q is not a matrix [n_embd_k_gqa, P]", PrefixKName(0))
	}
	for i := range a.PrefixK {
		for _, c := range []struct {
			t    *tensor.Tensor
			name string
		}{{a.PrefixK[i], PrefixKName(i)}, {a.PrefixV[i], PrefixVName(i)}} {
			switch {
			case c.t == nil || c.t.Name != c.name:
				return fmt.Errorf("prefix-tuning adapter: want tensor %q at its place (keys then values, layer by layer)", c.name)
			case !c.t.DType.CanDequantize():
				return fmt.Errorf("prefix-tuning adapter: tensor %q: gptgo cannot read %v values", c.name, c.t.DType)
			case len(c.t.Shape) != 2 || c.t.Shape[0] != first.Shape[0] || c.t.Shape[1] != first.Shape[1]:
				return fmt.Errorf("prefix-tuning adapter: tensor %q has ne %v, %q has %v: every layer's keys and values have one shape", c.name, c.t.Shape, first.Name, first.Shape)
			}
		}
	}
	return nil
}

// prefixAdapterFromGGUF reads a prefix-tuning adapter (general.type and
// adapter.type already checked): the architecture, the virtual token and
// block counts, and exactly the tensors blk.i.prefix_k, blk.i.prefix_v
// of i < block_count, in that order, each ne = [W, P]. W is checked
// against a base by CheckBase.
func prefixAdapterFromGGUF(f *gguf.File) (*Adapter, error) {
	a := &Adapter{Arch: f.Arch()}
	if a.Arch == "" {
		return nil, fmt.Errorf("model: prefix-tuning adapter: no general.architecture")
	}
	a.Name, _ = f.String("general.name")
	count := func(key string) (int, error) {
		v, ok := f.Lookup(key)
		if !ok {
			return 0, fmt.Errorf("model: prefix-tuning adapter: no %s", key)
		}
		n, isU32 := v.X.(uint32)
		if !isU32 || n == 0 || n > 1<<20 {
			return 0, fmt.Errorf("model: prefix-tuning adapter: %s is %v (%v), want a positive u32", key, v.X, v.Type)
		}
		return int(n), nil
	}
	P, err := count("adapter.prefix_tuning.virtual_tokens")
	if err != nil {
		return nil, err
	}
	L, err := count("adapter.prefix_tuning.block_count")
	if err != nil {
		return nil, err
	}
	if len(f.Tensors) != 2*L {
		names := make([]string, 0, 4)
		for i := range min(len(f.Tensors), 4) {
			names = append(names, f.Tensors[i].Name)
		}
		return nil, fmt.Errorf("model: prefix-tuning adapter: %d tensors (%s…), want %d: blk.i.prefix_k and blk.i.prefix_v for each of the %d layers (adapter.prefix_tuning.block_count)", len(f.Tensors), strings.Join(names, ", "), 2*L, L)
	}
	src := GGUFSource(f)
	for i := range L {
		for j, name := range []string{PrefixKName(i), PrefixVName(i)} {
			if got := f.Tensors[2*i+j].Name; got != name {
				return nil, fmt.Errorf("model: prefix-tuning adapter: tensor %d is %q, want %q (keys then values, layer by layer)", 2*i+j, got, name)
			}
			t, _, err := src(name)
			if err != nil {
				return nil, fmt.Errorf("model: prefix-tuning adapter: %w", err)
			}
			if len(t.Shape) != 2 || t.Rows() != P {
				return nil, fmt.Errorf("model: prefix-tuning adapter: tensor %q has ne %v, want [n_embd_k_gqa, %d] (adapter.prefix_tuning.virtual_tokens)", name, t.Shape, P)
			}
			if j == 0 {
				a.PrefixK = append(a.PrefixK, t)
			} else {
				a.PrefixV = append(a.PrefixV, t)
			}
		}
	}
	if err := a.checkPrefixTensors(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return a, nil
}

// checkPrefix checks the prefix against a base: one layer of keys and
// values per block, as wide as the base's keys (n_embd_k_gqa: attn_k's
// rows, or what a fused attn_qkv holds beside attn_output's queries).
func (a *Adapter) checkPrefix(lookup func(name string) ([]int, bool)) error {
	if len(a.Pairs) > 0 || len(a.Full) > 0 || a.Prompt != nil {
		return fmt.Errorf("model: adapter: a prefix-tuning adapter holds nothing but its keys and values")
	}
	if err := a.checkPrefixTensors(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	L := 0
	for {
		if _, ok := lookup(fmt.Sprintf("blk.%d.attn_output.weight", L)); !ok {
			break
		}
		L++
	}
	if L != len(a.PrefixK) {
		return fmt.Errorf("model: adapter: the prefix has %d layers, the base model %d (wrong base model?)", len(a.PrefixK), L)
	}
	W := -1
	if ne, ok := lookup("blk.0.attn_k.weight"); ok && len(ne) == 2 {
		W = ne[1]
	} else if qkv, ok := lookup("blk.0.attn_qkv.weight"); ok && len(qkv) == 2 {
		if o, ok := lookup("blk.0.attn_output.weight"); ok && len(o) == 2 {
			W = (qkv[1] - o[0]) / 2
		}
	}
	if W < 0 {
		return fmt.Errorf("model: adapter: the base model has no attn_k or attn_qkv matrix for the prefix's keys")
	}
	if got := a.PrefixK[0].Cols(); got != W {
		return fmt.Errorf("model: adapter: tensor %q: ne %v, want [%d, P]: its rows must be as wide as the base's keys and values (wrong base model?)", a.PrefixK[0].Name, a.PrefixK[0].Shape, W)
	}
	return nil
}
