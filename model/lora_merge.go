// Reference: llama.cpp tools/export-lora (W' = W + scale·B·A per adapted tensor, the other tensors
// copied, the base's metadata kept); PEFT merge_and_unload (the same sum, in the base's dtype).

package model

import (
	"fmt"
	"io"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// MergeAdapters writes base with the adapters merged into its weights to
// path, atomically: every adapted matrix becomes W + Σ s·B·A, summed in
// float32 from W's dequantized rows one row at a time, and the tensors an
// adapter replaces whole take their new values. Merged tensors are stored
// in the base tensor's own dtype (requantized, for a quantized base) when
// keepType is set, else in F32, which loses nothing and suits a
// quantization pass after (`gptgo lora merge --type`). Every other tensor
// and all metadata are copied as they are.
func MergeAdapters(base *gguf.File, ads []ScaledAdapter, path string, keepType bool) error {
	c, err := ConfigFromGGUF(base)
	if err != nil {
		return err
	}
	lookup := GGUFShapes(base)
	type mergeMat struct {
		p     *AdapterPair
		scale float32
	}
	pairs := map[string][]mergeMat{}
	full := map[string]*tensor.Tensor{}
	for i, sa := range ads {
		if sa.Adapter == nil {
			return fmt.Errorf("model: merge: adapter %d is nil", i)
		}
		if err := sa.CheckBase(c.Arch, lookup); err != nil {
			return err
		}
		if sa.Prompt != nil || sa.PrefixK != nil { // virtual tokens are inputs, not a change of any weight
			return fmt.Errorf("model: merge: adapter %d is a %s adapter: it has no weights to merge; run it with --lora", i, sa.Kind())
		}
		for j := range sa.Pairs {
			p := &sa.Pairs[j]
			pairs[p.Base] = append(pairs[p.Base], mergeMat{p: p, scale: sa.Adapter.Scale(p, sa.Scale)})
		}
		for _, t := range sa.Full {
			full[t.Name] = t
		}
	}
	h := base.Header()
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		_, adapted := pairs[ti.Name]
		_, replaced := full[ti.Name]
		if (adapted || replaced) && !keepType {
			ti.DType = tensor.F32
		}
		if (adapted || replaced) && keepType && tensor.FormatOf(ti.DType).Quantize == nil {
			return fmt.Errorf("model: merge: tensor %q: gptgo cannot write %v values; merge without keeping the type", ti.Name, ti.DType)
		}
	}
	if err := h.Layout(); err != nil {
		return fmt.Errorf("model: merge: %w", err)
	}
	src := func(i int, w io.Writer) error {
		ti := &h.Tensors[i]
		in, _ := base.Tensor(ti.Name)
		ms, adapted := pairs[ti.Name]
		rep, replaced := full[ti.Name]
		if !adapted && !replaced {
			_, err := w.Write(base.TensorData(in))
			return err
		}
		t, ok, err := GGUFSource(base)(ti.Name)
		if err != nil || !ok {
			return fmt.Errorf("model: merge: tensor %q: %v", ti.Name, err)
		}
		if replaced {
			t = rep
		}
		C, R := t.Cols(), t.Rows()
		rowBytes, err := ti.DType.RowSize(int64(C))
		if err != nil {
			return err
		}
		row, a := make([]float32, C), []float32(nil)
		buf := make([]byte, rowBytes)
		// Each adapter's A and B in float32, once per tensor.
		type ab struct {
			a, b  []float32
			r     int
			scale float32
		}
		var abs []ab
		for _, m := range ms {
			if a, err = m.p.A.Float32s(); err != nil {
				return err
			}
			b, err := m.p.B.Float32s()
			if err != nil {
				return err
			}
			abs = append(abs, ab{a: a, b: b, r: m.p.Rank(), scale: m.scale})
		}
		for r := range R {
			if err := t.DequantizeRow(r, row); err != nil {
				return fmt.Errorf("model: merge: tensor %q: %w", ti.Name, err)
			}
			for _, m := range abs {
				// row += scale · Σ_k B[r, k] · A[k, :]
				for k := range m.r {
					f := m.scale * m.b[r*m.r+k]
					ak := m.a[k*C : (k+1)*C]
					for j := range row {
						row[j] += float32(f * ak[j]) // rounded, as amd64 does: arm64 would fuse it
					}
				}
			}
			if err := tensor.Quantize(ti.DType, row, buf); err != nil {
				return fmt.Errorf("model: merge: tensor %q: %w", ti.Name, err)
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("model: merge: %w", err)
	}
	return nil
}
