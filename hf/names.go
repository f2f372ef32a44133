// Reference: llama.cpp gguf-py/gguf/tensor_mapping.py (TensorNameMap: the
// Hugging Face names of each MODEL_TENSOR) and gguf-py/gguf/constants.py
// (TENSOR_NAMES: "token_embd", "blk.{bid}.attn_q", …).

package hf

import (
	"fmt"
	"strconv"
	"strings"
)

// arch is what differs between the supported architectures.
type arch struct {
	hf     string // config.json "architectures"[0]
	typ    string // config.json "model_type"
	gguf   string // general.architecture
	prefix string // HF prefix of the transformer's tensors ("model.", "transformer.")
	block  string // HF prefix of a block before its number ("layers.", "h.")
	global map[string]string
	layer  map[string]string // HF name within a block → GGUF name within "blk.N."
	skip   []string          // HF name suffixes that carry nothing GGUF needs
	// permuteQK: Q and K rows are re-ordered for interleaved RoPE (llama).
	permuteQK bool
	// conv1D: the named block weights are stored [in, out] (GPT-2's Conv1D)
	// and are transposed both ways.
	conv1D map[string]bool
	// required names of a block (GGUF names without "blk.N.").
	required []string
	// skipPrefix: HF name prefixes that carry nothing GGUF needs (BERT's
	// pooler and masked-LM head).
	skipPrefix []string
}

var llamaLayer = map[string]string{
	"input_layernorm.weight":          "attn_norm.weight",
	"self_attn.q_proj.weight":         "attn_q.weight",
	"self_attn.q_proj.bias":           "attn_q.bias",
	"self_attn.k_proj.weight":         "attn_k.weight",
	"self_attn.k_proj.bias":           "attn_k.bias",
	"self_attn.v_proj.weight":         "attn_v.weight",
	"self_attn.v_proj.bias":           "attn_v.bias",
	"self_attn.o_proj.weight":         "attn_output.weight",
	"self_attn.o_proj.bias":           "attn_output.bias",
	"post_attention_layernorm.weight": "ffn_norm.weight",
	"mlp.gate_proj.weight":            "ffn_gate.weight",
	"mlp.up_proj.weight":              "ffn_up.weight",
	"mlp.down_proj.weight":            "ffn_down.weight",
}

var llamaGlobal = map[string]string{
	"model.embed_tokens.weight": "token_embd.weight",
	"model.norm.weight":         "output_norm.weight",
	"lm_head.weight":            "output.weight",
}

var llamaRequired = []string{"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
	"ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"}

var archs = []*arch{
	{hf: "LlamaForCausalLM", typ: "llama", gguf: "llama", prefix: "model.", block: "layers.",
		global: llamaGlobal, layer: llamaLayer, skip: []string{"rotary_emb.inv_freq"}, permuteQK: true, required: llamaRequired},
	{hf: "MistralForCausalLM", typ: "mistral", gguf: "llama", prefix: "model.", block: "layers.",
		global: llamaGlobal, layer: llamaLayer, skip: []string{"rotary_emb.inv_freq"}, permuteQK: true, required: llamaRequired},
	{hf: "Qwen2ForCausalLM", typ: "qwen2", gguf: "qwen2", prefix: "model.", block: "layers.",
		global: llamaGlobal, layer: llamaLayer, skip: []string{"rotary_emb.inv_freq"},
		required: append([]string{"attn_q.bias", "attn_k.bias", "attn_v.bias"}, llamaRequired...)},
	{hf: "GPT2LMHeadModel", typ: "gpt2", gguf: "gpt2", prefix: "transformer.", block: "h.",
		global: map[string]string{
			"transformer.wte.weight":  "token_embd.weight",
			"transformer.wpe.weight":  "position_embd.weight",
			"transformer.ln_f.weight": "output_norm.weight",
			"transformer.ln_f.bias":   "output_norm.bias",
			"lm_head.weight":          "output.weight",
		},
		layer: map[string]string{
			"ln_1.weight":        "attn_norm.weight",
			"ln_1.bias":          "attn_norm.bias",
			"attn.c_attn.weight": "attn_qkv.weight",
			"attn.c_attn.bias":   "attn_qkv.bias",
			"attn.c_proj.weight": "attn_output.weight",
			"attn.c_proj.bias":   "attn_output.bias",
			"ln_2.weight":        "ffn_norm.weight",
			"ln_2.bias":          "ffn_norm.bias",
			"mlp.c_fc.weight":    "ffn_up.weight",
			"mlp.c_fc.bias":      "ffn_up.bias",
			"mlp.c_proj.weight":  "ffn_down.weight",
			"mlp.c_proj.bias":    "ffn_down.bias",
		},
		// The causal mask buffers of old checkpoints.
		skip:   []string{".attn.bias", ".attn.masked_bias"},
		conv1D: map[string]bool{"attn_qkv.weight": true, "attn_output.weight": true, "ffn_up.weight": true, "ffn_down.weight": true},
		required: []string{"attn_norm.weight", "attn_norm.bias", "attn_qkv.weight", "attn_qkv.bias", "attn_output.weight",
			"attn_output.bias", "ffn_norm.weight", "ffn_norm.bias", "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias"},
	},
	{hf: "BertModel", typ: "bert", gguf: "bert", prefix: "", block: "encoder.layer.",
		global: map[string]string{
			"embeddings.word_embeddings.weight":       "token_embd.weight",
			"embeddings.token_type_embeddings.weight": "token_types.weight",
			"embeddings.position_embeddings.weight":   "position_embd.weight",
			"embeddings.LayerNorm.weight":             "token_embd_norm.weight",
			"embeddings.LayerNorm.bias":               "token_embd_norm.bias",
		},
		layer: map[string]string{
			"attention.self.query.weight":       "attn_q.weight",
			"attention.self.query.bias":         "attn_q.bias",
			"attention.self.key.weight":         "attn_k.weight",
			"attention.self.key.bias":           "attn_k.bias",
			"attention.self.value.weight":       "attn_v.weight",
			"attention.self.value.bias":         "attn_v.bias",
			"attention.output.dense.weight":     "attn_output.weight",
			"attention.output.dense.bias":       "attn_output.bias",
			"attention.output.LayerNorm.weight": "attn_output_norm.weight",
			"attention.output.LayerNorm.bias":   "attn_output_norm.bias",
			"intermediate.dense.weight":         "ffn_up.weight",
			"intermediate.dense.bias":           "ffn_up.bias",
			"output.dense.weight":               "ffn_down.weight",
			"output.dense.bias":                 "ffn_down.bias",
			"output.LayerNorm.weight":           "layer_output_norm.weight",
			"output.LayerNorm.bias":             "layer_output_norm.bias",
		},
		skip:       []string{"embeddings.position_ids"},
		skipPrefix: []string{"pooler.", "cls."},
		required: []string{"attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias",
			"attn_output.weight", "attn_output.bias", "attn_output_norm.weight", "attn_output_norm.bias",
			"ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias", "layer_output_norm.weight", "layer_output_norm.bias"},
	},
}

// Architectures lists the config.json architectures Convert reads.
func Architectures() []string {
	var s []string
	for _, a := range archs {
		s = append(s, a.hf)
	}
	return s
}

func archByHF(name string) (*arch, bool) {
	for _, a := range archs {
		if a.hf == name {
			return a, true
		}
	}
	return nil, false
}

// archByGGUF returns the architecture Export writes for a GGUF one.
func archByGGUF(name string) (*arch, bool) {
	for _, a := range archs {
		if a.gguf == name {
			return a, true // the first: llama exports as LlamaForCausalLM
		}
	}
	return nil, false
}

// toGGUF maps a Hugging Face tensor name. skip is true for tensors GGUF
// does not keep; ok is false for a name the architecture does not know.
func (a *arch) toGGUF(name string) (g string, layer int, skip, ok bool) {
	for _, s := range a.skip {
		if strings.HasSuffix(name, s) {
			return "", -1, true, true
		}
	}
	if a.gguf == "bert" {
		// BertFor* models nest the encoder under "bert."; old checkpoints
		// name LayerNorm parameters gamma and beta.
		name = strings.TrimPrefix(name, "bert.")
		if n, ok := strings.CutSuffix(name, "LayerNorm.gamma"); ok {
			name = n + "LayerNorm.weight"
		} else if n, ok := strings.CutSuffix(name, "LayerNorm.beta"); ok {
			name = n + "LayerNorm.bias"
		}
		for _, p := range a.skipPrefix {
			if strings.HasPrefix(name, p) {
				return "", -1, true, true
			}
		}
	}
	// GPT-2 checkpoints saved from GPT2Model have no "transformer." prefix.
	if a.gguf == "gpt2" && !strings.HasPrefix(name, a.prefix) && name != "lm_head.weight" {
		name = a.prefix + name
	}
	if g, ok := a.global[name]; ok {
		return g, -1, false, true
	}
	rest, found := strings.CutPrefix(name, a.prefix+a.block)
	if !found {
		return "", -1, false, false
	}
	num, inner, found := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if !found || err != nil || n < 0 || strconv.Itoa(n) != num {
		return "", -1, false, false
	}
	g, ok = a.layer[inner]
	if !ok {
		return "", -1, false, false
	}
	return fmt.Sprintf("blk.%d.%s", n, g), n, false, true
}

// toHF maps a GGUF tensor name back; ok is false for a name with no
// Hugging Face counterpart in this architecture.
func (a *arch) toHF(g string) (string, bool) {
	for h, gg := range a.global {
		if gg == g {
			return h, true
		}
	}
	rest, found := strings.CutPrefix(g, "blk.")
	if !found {
		return "", false
	}
	num, inner, found := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(num); !found || err != nil {
		return "", false
	}
	for h, gg := range a.layer {
		if gg == inner {
			return a.prefix + a.block + num + "." + h, true
		}
	}
	return "", false
}

// inner returns a block tensor's name without "blk.N." ("" for globals).
func inner(g string) string {
	rest, found := strings.CutPrefix(g, "blk.")
	if !found {
		return ""
	}
	_, in, _ := strings.Cut(rest, ".")
	return in
}
