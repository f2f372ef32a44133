// Reference: the Hugging Face configuration classes (LlamaConfig,
// Qwen2Config, GPT2Config: field names and defaults), transformers'
// save_pretrained layout (config.json, generation_config.json,
// model.safetensors with {"format": "pt"} metadata), and llama.cpp
// convert_hf_to_gguf.py read backwards (names, permutation, transposes).

package hf

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

// ExportOptions tune Export.
type ExportOptions struct {
	// Dequantize writes quantized tensors as F32 instead of refusing them.
	Dequantize bool
	// Progress, when set, is called after each tensor is written.
	Progress func(done, total int)
	// Base is the base model of a LoRA adapter being exported; it is
	// needed (for the head counts) when a llama adapter adapts Q or K.
	Base string
}

// exportTensor is one safetensors tensor and where its rows come from.
type exportTensor struct {
	st   safetensors.Tensor
	ti   *gguf.TensorInfo
	kind elem
	plan rowPlan
	deq  bool
}

// Export writes the GGUF model at path as a Hugging Face checkpoint in dir
// (created if needed): model.safetensors, config.json,
// generation_config.json, the tokenizer (tokenizer.json for byte-level BPE,
// tokenizer.model for SentencePiece) and tokenizer_config.json with the
// chat template. Files are written atomically, the weights last. A LoRA
// adapter file (general.type "adapter") becomes a PEFT adapter instead:
// adapter_model.safetensors and adapter_config.json.
func Export(ctx context.Context, path, dir string, opt ExportOptions) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if t, _ := f.String("general.type"); t == "adapter" {
		return exportAdapter(ctx, f, path, dir, opt)
	}
	a, ok := archByGGUF(f.Arch())
	if !ok {
		return fmt.Errorf("hf: %s: architecture %q cannot be exported (supported: llama, qwen2, gpt2, bert)", path, f.Arch())
	}
	cfg, err := exportConfig(f, a)
	if err != nil {
		return fmt.Errorf("hf: %s: %w", path, err)
	}
	heads, kvHeads := cfg["num_attention_heads"], cfg["num_key_value_heads"]
	var ts []exportTensor
	var bad []string
	tied := true
	var embd *gguf.TensorInfo
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if ti.Name == "token_embd.weight" {
			embd = ti
		}
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		name, ok := a.toHF(ti.Name)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s has no %s counterpart", ti.Name, a.hf))
			continue
		}
		if ti.Name == "output.weight" {
			// A head equal to the embedding is a tied head (GPT-2's
			// converter writes the embedding twice).
			if a.gguf == "gpt2" && embd != nil && embd.DType == ti.DType && bytes.Equal(f.TensorData(embd), f.TensorData(ti)) {
				continue
			}
			tied = false
		}
		e := exportTensor{ti: ti}
		switch ti.DType {
		case tensor.F32:
			e.kind = eF32
		case tensor.F16:
			e.kind = eF16
		case tensor.BF16:
			e.kind = eBF16
		default:
			if !opt.Dequantize {
				return fmt.Errorf("hf: %s: tensor %s is %v: export writes F32, F16 and BF16 tensors; pass --dequantize to write quantized tensors as F32 (their quantization error stays)", path, ti.Name, ti.DType)
			}
			if !ti.DType.CanDequantize() {
				return fmt.Errorf("hf: %s: tensor %s: %v cannot be dequantized", path, ti.Name, ti.DType)
			}
			e.kind, e.deq = eF32, true
		}
		if len(ti.Shape) > 2 {
			bad = append(bad, fmt.Sprintf("%s has %d dimensions", ti.Name, len(ti.Shape)))
			continue
		}
		shape := make([]int64, len(ti.Shape))
		for j, d := range ti.Shape {
			shape[len(shape)-1-j] = d
		}
		in := inner(ti.Name)
		if a.conv1D[in] {
			shape[0], shape[1] = shape[1], shape[0]
			e.plan.transpose = true
		}
		if a.permuteQK && (strings.HasPrefix(in, "attn_q.") || strings.HasPrefix(in, "attn_k.")) {
			h := heads.(int)
			if strings.HasPrefix(in, "attn_k.") {
				h = kvHeads.(int)
			}
			rowOf, err := ropePermute(int(ti.Shape[len(ti.Shape)-1]), h, false)
			if err != nil {
				return fmt.Errorf("hf: %s: tensor %s: %w", path, ti.Name, err)
			}
			if len(ti.Shape) == 1 {
				// A bias is one row of heads × width values: permute its elements.
				rowOf, _ = ropePermute(int(ti.Shape[0]), h, false)
				shape = []int64{ti.Shape[0]}
			}
			e.plan.rowOf = rowOf
		}
		st := map[elem]safetensors.DType{eF32: safetensors.F32, eF16: safetensors.F16, eBF16: safetensors.BF16}[e.kind]
		e.st = safetensors.Tensor{Name: name, DType: st, Shape: shape}
		ts = append(ts, e)
	}
	if len(bad) > 0 {
		return fmt.Errorf("hf: %s: %s", path, list(bad))
	}
	cfg["tie_word_embeddings"] = tied
	cfg["torch_dtype"] = torchDType(ts)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("hf: %w", err)
	}
	tok, err := exportTokenizer(f, path, dir, a, cfg)
	if err != nil {
		return err
	}
	for name, v := range tok {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return fmt.Errorf("hf: %w", err)
		}
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}
	sts := make([]safetensors.Tensor, len(ts))
	for i := range ts {
		sts[i] = ts[i].st
	}
	src := func(i int, w io.Writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &ts[i]
		data := f.TensorData(e.ti)
		if e.deq {
			vals := make([]float32, e.ti.Elements())
			if err := tensor.Dequantize(e.ti.DType, data, vals); err != nil {
				return err
			}
			data = f32sBytes(vals)
		}
		rows, cols := int(e.ti.Elements()/e.ti.Shape[0]), int(e.ti.Shape[0])
		if len(e.ti.Shape) == 1 && e.plan.rowOf != nil {
			rows, cols = cols, 1 // permute the elements of a bias
		}
		err := streamRows(w, matrix{data: data, kind: e.kind, rows: rows, cols: cols}, e.kind, e.plan)
		f.Release(f.TensorData(e.ti)) // read once: keep only the tensor at hand resident
		if opt.Progress != nil {
			opt.Progress(i+1, len(ts))
		}
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleName), sts, map[string]string{"format": "pt"}, src); err != nil {
		return fmt.Errorf("hf: %w", err)
	}
	return nil
}

func torchDType(ts []exportTensor) string {
	for _, e := range ts {
		if len(e.st.Shape) == 2 {
			return map[elem]string{eF32: "float32", eF16: "float16", eBF16: "bfloat16"}[e.kind]
		}
	}
	return "float32"
}

func f32sBytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// num is a float32 from GGUF written as the shortest decimal that reads
// back as the same float32 ("1e-05", not 9.999999747378752e-06).
type num float32

func (n num) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(n), 'g', -1, 32)), nil
}

// exportConfig builds config.json from the GGUF hyper-parameters.
func exportConfig(f *gguf.File, a *arch) (map[string]any, error) {
	p := a.gguf + "."
	var missing []string
	u := func(key string) int {
		v, ok := f.Uint(p + key)
		if !ok {
			missing = append(missing, p+key)
		}
		return int(v)
	}
	fl := func(key string) num {
		v, ok := f.Float(p + key)
		if !ok {
			missing = append(missing, p+key)
		}
		return num(v)
	}
	te, ok := f.Tensor("token_embd.weight")
	if !ok || len(te.Shape) != 2 {
		return nil, fmt.Errorf("no 2-D token_embd.weight")
	}
	cfg := map[string]any{"architectures": []string{a.hf}, "model_type": a.typ, "vocab_size": int(te.Shape[1])}
	switch a.gguf {
	case "bert":
		cfg["hidden_size"] = u("embedding_length")
		cfg["num_hidden_layers"] = u("block_count")
		cfg["num_attention_heads"] = u("attention.head_count")
		cfg["intermediate_size"] = u("feed_forward_length")
		cfg["max_position_embeddings"] = u("context_length")
		cfg["layer_norm_eps"] = fl("attention.layer_norm_epsilon")
		cfg["hidden_act"] = "gelu"
		cfg["position_embedding_type"] = "absolute"
		types := 1
		if tt, ok := f.Tensor("token_types.weight"); ok && len(tt.Shape) == 2 {
			types = int(tt.Shape[1])
		} else if n, ok := f.Uint("tokenizer.ggml.token_type_count"); ok {
			types = int(n)
		}
		cfg["type_vocab_size"] = types
		if c, ok := f.Bool(p + "attention.causal"); ok && c {
			return nil, fmt.Errorf("a causal bert has no BertModel form")
		}
	case "gpt2":
		embd := u("embedding_length")
		cfg["n_embd"] = embd
		cfg["n_layer"] = u("block_count")
		cfg["n_head"] = u("attention.head_count")
		cfg["n_positions"] = u("context_length")
		cfg["n_ctx"] = cfg["n_positions"]
		cfg["n_inner"] = u("feed_forward_length")
		cfg["layer_norm_epsilon"] = fl("attention.layer_norm_epsilon")
		cfg["activation_function"] = "gelu_new"
	default:
		embd := u("embedding_length")
		heads := u("attention.head_count")
		cfg["hidden_size"] = embd
		cfg["num_hidden_layers"] = u("block_count")
		cfg["num_attention_heads"] = heads
		cfg["intermediate_size"] = u("feed_forward_length")
		cfg["max_position_embeddings"] = u("context_length")
		cfg["rms_norm_eps"] = fl("attention.layer_norm_rms_epsilon")
		cfg["hidden_act"] = "silu"
		kv, ok := f.Uint(p + "attention.head_count_kv")
		if !ok {
			kv = uint64(heads)
		}
		cfg["num_key_value_heads"] = int(kv)
		if v, ok := f.Float(p + "rope.freq_base"); ok {
			cfg["rope_theta"] = num(v)
		}
		if kl, ok := f.Uint(p + "attention.key_length"); ok && heads > 0 && int(kl) != embd/heads {
			cfg["head_dim"] = int(kl)
		}
		if rd, ok := f.Uint(p + "rope.dimension_count"); ok && heads > 0 {
			hd := embd / heads
			if h, ok := cfg["head_dim"].(int); ok {
				hd = h
			}
			if int(rd) != hd {
				return nil, fmt.Errorf("partial rotary (rope.dimension_count %d of head width %d) has no %s form", rd, hd, a.hf)
			}
		}
		if typ, ok := f.String(p + "rope.scaling.type"); ok && typ != "none" {
			fac, _ := f.Float(p + "rope.scaling.factor")
			if typ != "linear" || fac <= 0 {
				return nil, fmt.Errorf("rope scaling %q cannot be exported (linear can)", typ)
			}
			cfg["rope_scaling"] = map[string]any{"type": "linear", "rope_type": "linear", "factor": num(fac)}
		}
		if a.gguf == "qwen2" {
			cfg["use_sliding_window"] = false
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("metadata lacks %s", strings.Join(missing, ", "))
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		return nil, fmt.Errorf("llama-3 rope scaling (rope_freqs.weight) cannot be exported yet")
	}
	return cfg, nil
}

// writeJSON writes v indented, atomically.
func writeJSON(path string, v any) error {
	var b bytes.Buffer
	enc := jsonEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("hf: %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, b.Bytes()); err != nil {
		return fmt.Errorf("hf: %s: %w", path, err)
	}
	return nil
}

// jsonEncoder encodes without HTML escaping: chat templates and tokens are
// full of < and >.
func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
