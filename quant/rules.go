// Reference: llama.cpp src/llama-quant.cpp (llama_tensor_get_type, and the
// "quantize" decision and tensor order of llama_model_quantize_impl),
// src/llama-model-loader.h (weight_name_comparer), src/llama-model.cpp (LLM_TYPE_70B).

package quant

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// TensorPlan is the decision for one tensor of the output file.
type TensorPlan struct {
	Name    string
	Shape   []int64
	Src     int          // index in the input file's Tensors
	From    tensor.DType // dtype in the input
	To      tensor.DType // dtype in the output
	Convert bool         // false: the bytes are copied unchanged
	// Fallback is set when the row length forced a type other than the rule's
	// choice (llama.cpp's "using fallback quantization").
	Fallback bool
}

// modelInfo holds what llama_tensor_get_type reads from the model's hparams.
type modelInfo struct {
	arch      string
	nLayer    int
	nHead     int
	nHeadKV   int
	nExpert   int
	is70B     bool
	hasOutput bool // output.weight exists (else token_embd is tied to the output)
	nAttnV    int  // tensors counted as attention V (attn_v, attn_qkv, attn_kv_b)
}

// nGQA is n_head / n_head_kv (0 without KV heads), as llama_hparams::n_gqa.
func (m *modelInfo) nGQA() int {
	if m.nHeadKV == 0 {
		return 0
	}
	return m.nHead / m.nHeadKV
}

// firstUint reads a hparam that may be a scalar or a per-layer array (of
// which llama.cpp's n_gqa(0) uses the first element).
func firstUint(lookup lookupFunc, key string) (int, bool) {
	v, ok := lookup(key)
	if !ok {
		return 0, false
	}
	if u, ok := v.Uint(); ok {
		return int(min(u, 1<<31)), true
	}
	if s, ok := v.X.([]int32); ok && len(s) > 0 && s[0] >= 0 {
		return int(s[0]), true
	}
	if s, ok := v.X.([]uint32); ok && len(s) > 0 {
		return int(min(s[0], 1<<31)), true
	}
	return 0, false
}

// lookupFunc reads a metadata key (gguf.File.Lookup or gguf.Header.Lookup).
type lookupFunc func(key string) (gguf.Value, bool)

func readModelInfo(lookup lookupFunc, tensors []gguf.TensorInfo) (*modelInfo, error) {
	arch, _ := lookup("general.architecture")
	m := &modelInfo{}
	m.arch, _ = arch.String()
	if m.arch == "" {
		return nil, fmt.Errorf("quant: general.architecture is missing")
	}
	var ok bool
	if m.nLayer, ok = firstUint(lookup, m.arch+".block_count"); !ok {
		return nil, fmt.Errorf("quant: %s.block_count is missing or not an unsigned integer", m.arch)
	}
	m.nHead, _ = firstUint(lookup, m.arch+".attention.head_count")
	m.nHeadKV = m.nHead
	if kv, ok := firstUint(lookup, m.arch+".attention.head_count_kv"); ok {
		m.nHeadKV = kv
	}
	m.nExpert, _ = firstUint(lookup, m.arch+".expert_count")
	// llama.cpp's model type only matters here for 70B models: 80 layers of
	// llama with grouped KV heads, or 80 layers of qwen2.
	m.is70B = m.nLayer == 80 && ((m.arch == "llama" && m.nHead != m.nHeadKV) || m.arch == "qwen2")
	for _, ti := range tensors {
		switch {
		case strings.Contains(ti.Name, "attn_v.weight"), strings.Contains(ti.Name, "attn_qkv.weight"), strings.Contains(ti.Name, "attn_kv_b.weight"):
			m.nAttnV++
		case ti.Name == "output.weight":
			m.hasOutput = true
		}
	}
	if m.nAttnV != 0 && m.nHeadKV != 0 && m.nAttnV != m.nLayer {
		return nil, fmt.Errorf("quant: %s for %s (llama.cpp refuses such a model)", count(m.nAttnV, "attention V tensor"), count(m.nLayer, "layer"))
	}
	return m, nil
}

// count is "1 thing" or "n things", for messages.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// layerOf parses the layer number of a "blk.N." name as sscanf("blk.%d.") does.
func layerOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1, false
	}
	end := 0
	if end < len(rest) && (rest[end] == '-' || rest[end] == '+') {
		end++
	}
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1, false
	}
	return n, true
}

// llamaOrder sorts tensor indices as llama.cpp's weight map does: by layer
// number (-1 for tensors outside blocks), then by name. llama-quantize writes
// its output in this order, and the layer counters below depend on it.
func llamaOrder(ts []gguf.TensorInfo) []int {
	order := make([]int, len(ts))
	layer := make([]int, len(ts))
	for i := range ts {
		order[i] = i
		layer[i], _ = layerOf(ts[i].Name)
	}
	sort.SliceStable(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if layer[i] != layer[j] {
			return layer[i] < layer[j]
		}
		return ts[i].Name < ts[j].Name
	})
	return order
}

// nDims is ggml_n_dims: trailing dimensions of 1 do not count.
func nDims(shape []int64) int {
	n := len(shape)
	for n > 1 && shape[n-1] == 1 {
		n--
	}
	return n
}

// quantizable is llama-quantize's test of whether a tensor is converted at
// all: weights of two or more dimensions, except norms, expert gates,
// positional and token-type embeddings, and a few small special weights.
func quantizable(name string, shape []int64) bool {
	if !strings.HasSuffix(name, "weight") || nDims(shape) < 2 {
		return false
	}
	for _, s := range []string{"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight",
		"time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_decay_w1.weight",
		"time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight"} {
		if strings.Contains(name, s) {
			return false
		}
	}
	return name != "position_embd.weight" && name != "token_types.weight"
}

// rules is the state of llama_tensor_get_type: counters that advance as the
// tensors go by in llamaOrder.
type rules struct {
	ft                                 FileType
	m                                  *modelInfo
	iAttnV, iFFNDown, iFFNGate, iFFNUp int
}

func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// layer returns the layer index of a per-layer tensor: its counter, or with
// experts (whose tensors are not consecutive) the number in its name.
func (r *rules) layer(counter int, name string) (int, error) {
	if r.m.nExpert > 1 {
		i, ok := layerOf(name)
		if !ok {
			return 0, fmt.Errorf("quant: cannot find the layer of tensor %q", name)
		}
		if i < 0 || i >= r.m.nLayer {
			return 0, fmt.Errorf("quant: tensor %q: layer %d outside [0, %d)", name, i, r.m.nLayer)
		}
		return i, nil
	}
	return counter, nil
}

// pick returns the dtype of a quantizable tensor under a quantized mix and
// whether the row-length fallback was taken.
func (r *rules) pick(name string, shape []int64) (tensor.DType, bool, error) {
	ft, m := r.ft, r.m
	t, _ := ft.BaseType()
	nx := shape[0]
	falcon := m.arch == "falcon"
	contains := func(s string) bool { return strings.Contains(name, s) }

	switch {
	case name == "output.weight" || (!m.hasOutput && name == "token_embd.weight"):
		// The output projection (or the token embedding that doubles as it)
		// keeps more bits: it dominates quality for its size.
		if falcon || nx%int64(t.BlockSize()) != 0 {
			t = tensor.Q8_0
		} else if t != tensor.Q8_0 {
			t = tensor.Q6_K
		}
	case name == "token_embd.weight":
		// Only the i-quant and ternary mixes change it; a ternary embedding
		// would lose too much (the ternary models keep theirs at 4 bits).
		if ft == TQ1_0 || ft == TQ2_0 {
			t = tensor.Q4_K
		}
	case contains("attn_v.weight"):
		switch {
		case ft == Q2_K:
			t = tensor.Q3_K
			if m.nGQA() >= 4 {
				t = tensor.Q4_K
			}
		case ft == Q2_K_S && m.nGQA() >= 4:
			t = tensor.Q4_K
		case ft == Q3_K_M:
			t = tensor.Q4_K
			if r.iAttnV < 2 {
				t = tensor.Q5_K
			}
		case ft == Q3_K_L:
			t = tensor.Q5_K
		case (ft == IQ4_NL || ft == IQ4_XS) && m.nGQA() >= 4:
			t = tensor.Q5_K
		case (ft == Q4_K_M || ft == Q5_K_M) && useMoreBits(r.iAttnV, m.nAttnV):
			t = tensor.Q6_K
		case ft == Q4_K_S && r.iAttnV < 4:
			t = tensor.Q5_K
		}
		// With 8 KV-sharing heads attn_v is 8× smaller than attn_q, so more
		// bits cost little.
		if m.is70B && (t == tensor.Q3_K || t == tensor.Q4_K) {
			t = tensor.Q5_K
		}
		if m.nExpert == 8 {
			t = tensor.Q8_0
		}
		r.iAttnV++
	case contains("attn_k.weight"):
		if m.nExpert == 8 {
			t = tensor.Q8_0
		}
	case contains("attn_q.weight"):
	case contains("ffn_down"):
		i, err := r.layer(r.iFFNDown, name)
		if err != nil {
			return 0, false, err
		}
		n := m.nLayer
		switch {
		case ft == Q2_K:
			t = tensor.Q3_K
		case ft == Q2_K_S:
			if i < n/8 {
				t = tensor.Q4_K
			}
		case ft == Q3_K_M:
			switch {
			case i < n/16:
				t = tensor.Q5_K
			case !falcon || useMoreBits(i, n):
				t = tensor.Q4_K
			default:
				t = tensor.Q3_K
			}
		case ft == Q3_K_L:
			t = tensor.Q5_K
			if falcon {
				t = tensor.Q4_K
			}
		case ft == Q4_K_M:
			if falcon {
				switch {
				case i < n/16:
					t = tensor.Q6_K
				case useMoreBits(i, n):
					t = tensor.Q5_K
				default:
					t = tensor.Q4_K
				}
			} else if useMoreBits(i, n) {
				t = tensor.Q6_K
			}
		case i < n/8 && (ft == IQ4_NL || ft == IQ4_XS):
			t = tensor.Q5_K
		case ft == Q5_K_M && useMoreBits(i, n):
			t = tensor.Q6_K
		case ft == Q4_K_S && !falcon && i < n/8:
			t = tensor.Q5_K
		}
		r.iFFNDown++
	case contains("attn_output.weight"):
		if !falcon {
			if m.nExpert == 8 {
				switch ft {
				case Q2_K, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M, IQ4_XS:
					t = tensor.Q5_K
				}
			} else {
				switch ft {
				case Q2_K:
					t = tensor.Q3_K
				case Q3_K_M:
					t = tensor.Q4_K
				case Q3_K_L:
					t = tensor.Q5_K
				}
			}
		} else if ft == Q3_K_L {
			t = tensor.Q4_K
		}
	case contains("attn_qkv.weight"):
		switch ft {
		case Q3_K_M, Q3_K_L:
			t = tensor.Q4_K
		case Q4_K_M:
			t = tensor.Q5_K
		case Q5_K_M:
			t = tensor.Q6_K
		}
	case contains("ffn_gate"):
		// Only IQ3_XS changes these; the counter still advances.
		if _, err := r.layer(r.iFFNGate, name); err != nil {
			return 0, false, err
		}
		r.iFFNGate++
	case contains("ffn_up"):
		if _, err := r.layer(r.iFFNUp, name); err != nil {
			return 0, false, err
		}
		r.iFFNUp++
	}

	// Block types need whole blocks per row; fall back to a type with
	// smaller blocks, then to F16.
	if nx%int64(t.BlockSize()) == 0 {
		return t, false, nil
	}
	switch t {
	case tensor.Q2_K, tensor.Q3_K, tensor.IQ4_XS:
		t = tensor.IQ4_NL
	case tensor.TQ1_0, tensor.TQ2_0:
		t = tensor.Q4_0 // llama.cpp's choice; no symmetric 32-block type is closer
	case tensor.Q4_K:
		t = tensor.Q5_0
	case tensor.Q5_K:
		t = tensor.Q5_1
	case tensor.Q6_K:
		t = tensor.Q8_0
	default:
		return 0, false, fmt.Errorf("quant: tensor %q: row length %d does not fit %v and there is no fallback", name, nx, t)
	}
	if nx%int64(t.BlockSize()) != 0 {
		t = tensor.F16
	}
	return t, true, nil
}

// MakePlan decides the output dtype of every tensor of f for the mix ft, in
// the order llama-quantize writes them.
func MakePlan(f *gguf.File, ft FileType) ([]TensorPlan, error) {
	return makePlan(f.Lookup, f.Tensors, ft)
}

func makePlan(lookup lookupFunc, tensors []gguf.TensorInfo, ft FileType) ([]TensorPlan, error) {
	info, ok := ftypes[ft]
	if !ok || !info.write {
		return nil, fmt.Errorf("quant: cannot write file type %v", ft)
	}
	m, err := readModelInfo(lookup, tensors)
	if err != nil {
		return nil, err
	}
	r := &rules{ft: ft, m: m}
	var plan []TensorPlan
	for _, i := range llamaOrder(tensors) {
		ti := &tensors[i]
		p := TensorPlan{Name: ti.Name, Shape: ti.Shape, Src: i, From: ti.DType, To: ti.DType}
		if quantizable(ti.Name, ti.Shape) {
			t := info.base
			if ft.isQuantized() {
				if t, p.Fallback, err = r.pick(ti.Name, ti.Shape); err != nil {
					return nil, err
				}
			}
			if ti.Shape[0]%int64(t.BlockSize()) != 0 {
				return nil, fmt.Errorf("quant: tensor %q: row length %d is not a multiple of the %v block size %d", ti.Name, ti.Shape[0], t, t.BlockSize())
			}
			p.To, p.Convert = t, t != ti.DType
		}
		plan = append(plan, p)
	}
	return plan, nil
}
