// Reference: gptgo's prompt-tuning adapter file (docs/finetune.md, "The prompt-tuning file"): llama.cpp's
// adapter conventions (general.type "adapter", adapter.type naming the kind, general.architecture the
// base's) with one tensor of the virtual tokens' embeddings, as PEFT's adapter_model's prompt_embeddings.

package model

import (
	"fmt"
	"io"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// writePrompt writes a prompt-tuning adapter to path atomically:
// general.type "adapter", adapter.type "prompt_tuning",
// adapter.prompt_tuning.virtual_tokens P (u32), and the table
// "prompt_tuning.embd" in F32, ne = [n_embd, P].
func (a *Adapter) writePrompt(path string) error {
	t := a.Prompt
	if len(a.Pairs) > 0 || len(a.Full) > 0 {
		return fmt.Errorf("model: adapter %s: a prompt-tuning adapter holds no LoRA pairs or whole tensors", path)
	}
	if len(t.Shape) != 2 || t.DType != tensor.F32 || t.Name != PromptTuningName {
		return fmt.Errorf("model: adapter %s: the prompt must be an F32 matrix named %q, got %q %v %v", path, PromptTuningName, t.Name, t.DType, t.Shape)
	}
	h := &gguf.Header{Version: 3}
	h.Set("general.architecture", gguf.NewValue(a.Arch))
	h.Set("general.type", gguf.NewValue("adapter"))
	if a.Name != "" {
		h.Set("general.name", gguf.NewValue(a.Name))
	}
	h.Set("adapter.type", gguf.NewValue("prompt_tuning"))
	h.Set("adapter.prompt_tuning.virtual_tokens", gguf.NewValue(uint32(t.Rows())))
	h.Tensors = []gguf.TensorInfo{{Name: t.Name, Shape: []int64{int64(t.Cols()), int64(t.Rows())}, DType: t.DType}}
	if err := h.Layout(); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	src := func(_ int, w io.Writer) error {
		_, err := w.Write(t.Data)
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	return nil
}

// promptAdapterFromGGUF reads a prompt-tuning adapter (general.type and
// adapter.type already checked): the architecture, the virtual token
// count, and exactly one tensor, prompt_tuning.embd, a float matrix of P
// rows. Its width is checked against a base by CheckBase.
func promptAdapterFromGGUF(f *gguf.File) (*Adapter, error) {
	a := &Adapter{Arch: f.Arch()}
	if a.Arch == "" {
		return nil, fmt.Errorf("model: prompt-tuning adapter: no general.architecture")
	}
	a.Name, _ = f.String("general.name")
	v, ok := f.Lookup("adapter.prompt_tuning.virtual_tokens")
	if !ok {
		return nil, fmt.Errorf("model: prompt-tuning adapter: no adapter.prompt_tuning.virtual_tokens")
	}
	P, isU32 := v.X.(uint32)
	if !isU32 || P == 0 {
		return nil, fmt.Errorf("model: prompt-tuning adapter: adapter.prompt_tuning.virtual_tokens is %v (%v), want a positive u32", v.X, v.Type)
	}
	if len(f.Tensors) != 1 || f.Tensors[0].Name != PromptTuningName {
		names := make([]string, len(f.Tensors))
		for i := range f.Tensors {
			names[i] = f.Tensors[i].Name
		}
		return nil, fmt.Errorf("model: prompt-tuning adapter: tensors %q, want exactly %q", names, PromptTuningName)
	}
	t, _, err := GGUFSource(f)(PromptTuningName)
	if err != nil {
		return nil, fmt.Errorf("model: prompt-tuning adapter: %w", err)
	}
	if !t.DType.CanDequantize() {
		return nil, fmt.Errorf("model: prompt-tuning adapter: tensor %q: gptgo cannot read %v values", t.Name, t.DType)
	}
	if len(t.Shape) != 2 || t.Rows() != int(P) {
		return nil, fmt.Errorf("model: prompt-tuning adapter: tensor %q has ne %v, want [n_embd, %d] (adapter.prompt_tuning.virtual_tokens)", t.Name, t.Shape, P)
	}
	a.Prompt = t
	return a, nil
}

// checkPrompt checks the prompt's width against the base's embeddings.
func (a *Adapter) checkPrompt(lookup func(name string) ([]int, bool)) error {
	if len(a.Pairs) > 0 || len(a.Full) > 0 {
		return fmt.Errorf("model: adapter: a prompt-tuning adapter holds no LoRA pairs or whole tensors")
	}
	ne, ok := lookup("token_embd.weight")
	if !ok || len(ne) != 2 {
		return fmt.Errorf("model: adapter: the base model has no token_embd.weight matrix for the prompt's virtual tokens")
	}
	if len(a.Prompt.Shape) != 2 || a.Prompt.Cols() != ne[0] {
		return fmt.Errorf("model: adapter: tensor %q: ne %v, want [%d, P]: its rows must be as wide as the base's embeddings (wrong base model?)", a.Prompt.Name, a.Prompt.Shape, ne[0])
	}
	return nil
}
