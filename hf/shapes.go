// Reference: the Hugging Face modeling files (LlamaAttention, LlamaMLP,
// Qwen2Attention, GPT2Attention, GPT2MLP: each projection's size from the
// config) in GGUF's dimension order.

package hf

import "strings"

// wantShape returns the GGUF shape (ne) a tensor must have under hp, or nil
// when any shape is accepted (the embeddings' vocabulary rows, checked
// elsewhere).
func wantShape(a *arch, g string, hp hparams) []int64 {
	e, q, kv, ff := int64(hp.embd), int64(hp.heads*hp.headDim), int64(hp.kvHeads*hp.headDim), int64(hp.ff)
	in := inner(g)
	if in == "" {
		in = g
	}
	name, kind, _ := strings.Cut(in, ".")
	if a.gguf == "bert" {
		switch name {
		case "token_embd_norm", "attn_output_norm", "layer_output_norm":
			return []int64{e}
		case "attn_q", "attn_k", "attn_v", "attn_output":
			return pick(kind, []int64{e, e}, []int64{e})
		case "ffn_up":
			return pick(kind, []int64{e, ff}, []int64{ff})
		case "ffn_down":
			return pick(kind, []int64{ff, e}, []int64{e})
		}
		return nil
	}
	if a.gguf == "gpt2" {
		switch name {
		case "attn_norm", "ffn_norm", "output_norm":
			return []int64{e}
		case "attn_qkv":
			return pick(kind, []int64{e, 3 * e}, []int64{3 * e})
		case "attn_output":
			return pick(kind, []int64{e, e}, []int64{e})
		case "ffn_up":
			return pick(kind, []int64{e, ff}, []int64{ff})
		case "ffn_down":
			return pick(kind, []int64{ff, e}, []int64{e})
		}
		return nil
	}
	switch name {
	case "attn_norm", "ffn_norm", "output_norm":
		return []int64{e}
	case "attn_q":
		return pick(kind, []int64{e, q}, []int64{q})
	case "attn_k", "attn_v":
		return pick(kind, []int64{e, kv}, []int64{kv})
	case "attn_output":
		return pick(kind, []int64{q, e}, []int64{e})
	case "ffn_gate", "ffn_up":
		return []int64{e, ff}
	case "ffn_down":
		return []int64{ff, e}
	}
	return nil
}

func pick(kind string, weight, bias []int64) []int64 {
	if kind == "bias" {
		return bias
	}
	return weight
}
