// Reference: llama.cpp convert_hf_to_gguf.py (ModelBase.prepare_tensors:
// which tensors stay F32, general.file_type; LlamaModel.modify_tensors: the
// Q/K permutation; GPT2Model.modify_tensors: Conv1D transposes, the mask
// buffers skipped, output copied from the tied token embedding).

package hf

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

// Options tune Convert.
type Options struct {
	// Type is the output mix; nil keeps each tensor's float type as the
	// checkpoint has it (F64 becomes F32), with llama.cpp's F32 exceptions.
	Type *quant.FileType
	// Name is general.name; "" takes the checkpoint directory's name.
	Name string
	// Threads is passed to quant for a quantized Type (0: all cores).
	Threads int
	// Progress, when set, is called after each tensor is written, with the
	// count done and the total; a quantized Type reports the float pass and
	// then the quantization pass.
	Progress func(stage string, done, total int)
}

// Result says what Convert wrote.
type Result struct {
	Arch     string // the checkpoint's architecture ("LlamaForCausalLM")
	Tensors  int
	FileType quant.FileType
}

// entry is one output tensor and where its rows come from.
type entry struct {
	ti     gguf.TensorInfo
	layer  int
	src    *safetensors.TensorInfo
	file   *safetensors.File
	plan   rowPlan
	kind   elem
	to     elem
	values []float32 // generated tensors (rope_freqs)
}

// Convert reads the Hugging Face checkpoint in dir and writes it as a GGUF
// model at out, atomically.
func Convert(ctx context.Context, dir, out string, opt Options) (*Result, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	an, err := cfg.arch()
	if err != nil {
		return nil, err
	}
	a, ok := archByHF(an)
	if !ok {
		return nil, fmt.Errorf("hf: %s: architecture %q is not supported (supported: %s)", cfg.path, an, strings.Join(Architectures(), ", "))
	}
	meta, hp, ropeFreqs, err := cfg.metadata(a)
	if err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "pytorch_model.bin")); serr == nil {
			return nil, fmt.Errorf("hf: %s holds PyTorch pickles (pytorch_model.bin), which gptgo does not read; save the model with safetensors (save_pretrained(..., safe_serialization=True)): %w", dir, err)
		}
		return nil, err
	}
	defer ck.Close()

	// Every block has tensors, so a layer count beyond the tensor count is
	// a damaged config (and would size the checks below by it).
	if hp.layers > len(ck.Names) {
		return nil, fmt.Errorf("hf: %s: %d layers in config.json but only %d tensors in the checkpoint", cfg.path, hp.layers, len(ck.Names))
	}
	entries, err := plan(a, cfg, ck, hp, opt.Type)
	if err != nil {
		return nil, err
	}
	if ropeFreqs != nil {
		entries = append([]*entry{{ti: gguf.TensorInfo{Name: "rope_freqs.weight", Shape: []int64{int64(len(ropeFreqs))}, DType: tensor.F32},
			layer: -1, values: ropeFreqs, kind: eF32, to: eF32}}, entries...)
	}
	te := entries[slices.IndexFunc(entries, func(e *entry) bool { return e.ti.Name == "token_embd.weight" })]
	tokKV, err := readVocab(dir, a, int(te.ti.Shape[1]), cfg)
	if err != nil {
		return nil, err
	}

	ft := fileType(entries)
	name := opt.Name
	if name == "" {
		abs, _ := filepath.Abs(dir)
		name = filepath.Base(abs)
	}
	h := &gguf.Header{Version: 3, KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue(a.gguf)},
		{Key: "general.type", Value: gguf.NewValue("model")},
		{Key: "general.name", Value: gguf.NewValue(name)},
		{Key: "general.size_label", Value: gguf.NewValue(SizeLabel(paramCount(entries)))},
	}}
	h.KV = append(h.KV, meta...)
	h.KV = append(h.KV, gguf.KV{Key: "general.file_type", Value: gguf.NewValue(uint32(ft))})
	h.KV = append(h.KV, tokKV...)
	h.KV = append(h.KV, gguf.KV{Key: "general.quantization_version", Value: gguf.NewValue(uint32(quant.QuantizationVersion))})
	for _, e := range entries {
		h.Tensors = append(h.Tensors, e.ti)
	}
	if err := h.Layout(); err != nil {
		return nil, err
	}

	floatOut := out
	quantized := opt.Type != nil && !isFloatType(*opt.Type)
	if quantized {
		floatOut = filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp-float")
		defer os.Remove(floatOut)
	}
	src := func(i int, w io.Writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := entries[i]
		if e.values != nil {
			b := make([]byte, 0, 4*len(e.values))
			for _, v := range e.values {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		} else {
			data := e.file.Data(e.src)
			rows, cols := matrixShape(e.src.Shape)
			if len(e.src.Shape) == 1 && e.plan.rowOf != nil {
				rows, cols = cols, 1 // a Q/K bias: permute its elements
			}
			err := streamRows(w, matrix{data: data, kind: e.kind, rows: rows, cols: cols}, e.to, e.plan)
			e.file.Release(e.src)
			if err != nil {
				return err
			}
		}
		if opt.Progress != nil {
			opt.Progress("convert", i+1, len(entries))
		}
		return nil
	}
	if err := gguf.WriteFile(floatOut, h, src); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	res := &Result{Arch: a.hf, Tensors: len(entries), FileType: ft}
	if quantized {
		qo := quant.Options{Threads: opt.Threads}
		if opt.Progress != nil {
			qo.Progress = func(done, total int, _ *quant.TensorPlan) { opt.Progress("quantize", done, total) }
		}
		if _, err := quant.QuantizeFile(ctx, floatOut, out, *opt.Type, qo); err != nil {
			return nil, err
		}
		res.FileType = *opt.Type
	}
	return res, nil
}

// paramCount is the number of values of the tensors written, as
// llama.cpp's converter counts them for general.size_label.
func paramCount(entries []*entry) int64 {
	var n int64
	for _, e := range entries {
		size := int64(1)
		for _, d := range e.ti.Shape {
			size *= d
		}
		n += size
	}
	return n
}

func isFloatType(ft quant.FileType) bool {
	return ft == quant.FileType(0) || ft == quant.FileType(1) || ft == quant.FileType(32)
}

// plan maps every checkpoint tensor, checks that nothing is missing or
// unknown, and orders the output: global inputs, blocks by number, then
// the output norm and head.
func plan(a *arch, cfg *hfConfig, ck *safetensors.Checkpoint, hp hparams, ft *quant.FileType) ([]*entry, error) {
	var entries []*entry
	var unknown, problems []string
	have := map[string]bool{}
	for _, name := range ck.Names {
		g, layer, skip, ok := a.toGGUF(name)
		if skip {
			continue
		}
		if !ok || layer >= hp.layers {
			unknown = append(unknown, name)
			continue
		}
		if have[g] {
			problems = append(problems, fmt.Sprintf("%s appears twice", g))
			continue
		}
		have[g] = true
		ti, f, _ := ck.Tensor(name)
		e := &entry{layer: layer, src: ti, file: f}
		switch ti.DType {
		case safetensors.F32:
			e.kind = eF32
		case safetensors.F16:
			e.kind = eF16
		case safetensors.BF16:
			e.kind = eBF16
		case safetensors.F64:
			e.kind = eF64
		default:
			problems = append(problems, fmt.Sprintf("%s has dtype %v (F32, F16, BF16 or F64 expected)", name, ti.DType))
			continue
		}
		if len(ti.Shape) == 0 || len(ti.Shape) > 2 || ti.Elements() == 0 {
			problems = append(problems, fmt.Sprintf("%s has shape %v (1-D or 2-D expected)", name, ti.Shape))
			continue
		}
		// GGUF lists dimensions fastest first: PyTorch's [out, in] is ne = [in, out].
		shape := slices.Clone(ti.Shape)
		slices.Reverse(shape)
		in := inner(g)
		if a.conv1D[in] {
			if len(shape) != 2 {
				problems = append(problems, fmt.Sprintf("%s has shape %v (2-D expected)", name, ti.Shape))
				continue
			}
			shape[0], shape[1] = shape[1], shape[0]
			e.plan.transpose = true
		}
		if a.permuteQK && (strings.HasPrefix(in, "attn_q.") || strings.HasPrefix(in, "attn_k.")) {
			heads := hp.heads
			if strings.HasPrefix(in, "attn_k.") {
				heads = hp.kvHeads
			}
			rows := int(ti.Shape[0])
			if rows != heads*hp.headDim {
				problems = append(problems, fmt.Sprintf("%s has %d rows, want %d heads × %d", name, rows, heads, hp.headDim))
				continue
			}
			rowOf, err := ropePermute(rows, heads, true)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			e.plan.rowOf = rowOf
		}
		if g == "token_embd.weight" && (len(shape) != 2 || shape[0] != int64(hp.embd)) {
			problems = append(problems, fmt.Sprintf("%s has shape %v, want [vocabulary, %d]", name, ti.Shape, hp.embd))
			continue
		}
		if want := wantShape(a, g, hp); want != nil && !slices.Equal(want, shape) {
			problems = append(problems, fmt.Sprintf("%s has shape %v; config.json implies %v", name, ti.Shape, torchOrder(want, a.conv1D[in])))
			continue
		}
		if g == "output.weight" && len(shape) == 2 && shape[0] != int64(hp.embd) {
			problems = append(problems, fmt.Sprintf("%s has shape %v, want [vocabulary, %d]", name, ti.Shape, hp.embd))
			continue
		}
		e.to = outKind(g, shape, e.kind, ft)
		e.ti = gguf.TensorInfo{Name: g, Shape: shape, DType: map[elem]tensor.DType{eF32: tensor.F32, eF16: tensor.F16, eBF16: tensor.BF16}[e.to]}
		entries = append(entries, e)
	}
	// GPT-2 ties its head to the token embedding and checkpoints omit it;
	// llama.cpp writes the embedding twice, as token_embd and output.
	if a.gguf == "gpt2" && !have["output.weight"] && have["token_embd.weight"] {
		te := entries[slices.IndexFunc(entries, func(e *entry) bool { return e.ti.Name == "token_embd.weight" })]
		cp := *te
		cp.ti.Name = "output.weight"
		cp.ti.Shape = slices.Clone(te.ti.Shape)
		entries = append(entries, &cp)
		have["output.weight"] = true
	}
	var missing []string
	need := []string{"token_embd.weight"}
	switch {
	case a.gguf == "bert":
		need = append(need, "position_embd.weight", "token_embd_norm.weight", "token_embd_norm.bias")
	case a.gguf == "gpt2":
		need = append(need, "output_norm.weight", "position_embd.weight", "output_norm.bias")
	case !hp.tied:
		need = append(need, "output_norm.weight", "output.weight")
	default:
		need = append(need, "output_norm.weight")
	}
	for l := 0; l < hp.layers; l++ {
		for _, r := range a.required {
			need = append(need, fmt.Sprintf("blk.%d.%s", l, r))
		}
	}
	for _, n := range need {
		if !have[n] {
			h, _ := a.toHF(n)
			missing = append(missing, fmt.Sprintf("%s (%s)", h, n))
		}
	}
	var errs []string
	if len(missing) > 0 {
		errs = append(errs, "missing tensors: "+list(missing))
	}
	if len(unknown) > 0 {
		errs = append(errs, fmt.Sprintf("tensors %s does not know (or beyond its %d layers): %s", a.hf, hp.layers, list(unknown)))
	}
	if len(problems) > 0 {
		errs = append(errs, list(problems))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("hf: %s: %s", ck.Dir, strings.Join(errs, "; "))
	}
	slices.SortStableFunc(entries, func(x, y *entry) int {
		gx, gy := group(x), group(y)
		if gx != gy {
			return gx - gy
		}
		if x.layer != y.layer {
			return x.layer - y.layer
		}
		return strings.Compare(x.ti.Name, y.ti.Name)
	})
	return entries, nil
}

// group orders output tensors: inputs, blocks, then the output end.
func group(e *entry) int {
	switch {
	case e.layer >= 0:
		return 1
	case strings.HasPrefix(e.ti.Name, "output"):
		return 2
	}
	return 0
}

func list(s []string) string {
	slices.Sort(s)
	if len(s) > 12 {
		return strings.Join(s[:12], ", ") + fmt.Sprintf(" and %d more", len(s)-12)
	}
	return strings.Join(s, ", ")
}

// outKind is llama.cpp's choice of a float type: 1-D tensors, norms and
// position embeddings stay F32; the rest take the requested type, or keep
// the checkpoint's (F64 narrowed to F32) when none is requested or when
// the request is a quantized mix (quant decides those afterwards).
func outKind(g string, shape []int64, from elem, ft *quant.FileType) elem {
	if len(shape) == 1 || strings.HasSuffix(g, "_norm.weight") || g == "position_embd.weight" || g == "token_types.weight" {
		return eF32
	}
	if ft != nil {
		switch *ft {
		case quant.FileType(0):
			return eF32
		case quant.FileType(1):
			return eF16
		case quant.FileType(32):
			return eBF16
		}
	}
	if from == eF64 {
		return eF32
	}
	return from
}

// fileType is general.file_type of a float file: that of its matrices.
func fileType(entries []*entry) quant.FileType {
	for _, e := range entries {
		if len(e.ti.Shape) == 2 {
			switch e.to {
			case eF16:
				return quant.FileType(1)
			case eBF16:
				return quant.FileType(32)
			}
		}
	}
	return quant.FileType(0)
}

// torchOrder writes a GGUF shape as the checkpoint stores it.
func torchOrder(ne []int64, conv1D bool) []int64 {
	s := slices.Clone(ne)
	if !conv1D {
		slices.Reverse(s)
	}
	return s
}

// matrixShape views a PyTorch shape as rows × cols.
func matrixShape(s []int64) (int, int) {
	if len(s) == 1 {
		return 1, int(s[0])
	}
	return int(s[0]), int(s[1])
}
