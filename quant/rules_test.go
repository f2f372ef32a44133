// Reference: llama.cpp src/llama-quant.cpp; expectations read off files written by llama-quantize.

package quant

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// llamaHeader describes (without data) a llama-style model: nLayer blocks,
// row length ne0, nHead/nHeadKV heads, output.weight present unless tied.
func llamaHeader(arch string, nLayer int, ne0 int64, nHead, nHeadKV uint32, tied bool) *gguf.Header {
	return llamaHeaderVocab(arch, nLayer, ne0, 1000, nHead, nHeadKV, tied)
}

func llamaHeaderVocab(arch string, nLayer int, ne0, vocab int64, nHead, nHeadKV uint32, tied bool) *gguf.Header {
	h := &gguf.Header{KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue(arch)},
		{Key: arch + ".block_count", Value: gguf.NewValue(uint32(nLayer))},
		{Key: arch + ".attention.head_count", Value: gguf.NewValue(nHead)},
		{Key: arch + ".attention.head_count_kv", Value: gguf.NewValue(nHeadKV)},
	}}
	add := func(name string, shape ...int64) {
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: name, Shape: shape, DType: tensor.F32})
	}
	add("token_embd.weight", ne0, vocab)
	add("output_norm.weight", ne0)
	if !tied {
		add("output.weight", ne0, vocab)
	}
	kv := ne0 * int64(nHeadKV) / int64(nHead)
	for i := range nLayer {
		b := fmt.Sprintf("blk.%d.", i)
		add(b+"attn_norm.weight", ne0)
		add(b+"attn_q.weight", ne0, ne0)
		add(b+"attn_k.weight", ne0, kv)
		add(b+"attn_v.weight", ne0, kv)
		add(b+"attn_output.weight", ne0, ne0)
		add(b+"ffn_norm.weight", ne0)
		add(b+"ffn_gate.weight", ne0, 3*ne0)
		add(b+"ffn_up.weight", ne0, 3*ne0)
		add(b+"ffn_down.weight", 3*ne0, ne0)
	}
	return h
}

func planOf(t *testing.T, h *gguf.Header, ft FileType) map[string]tensor.DType {
	t.Helper()
	plan, err := makePlan(h.Lookup, h.Tensors, ft)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]tensor.DType{}
	for _, p := range plan {
		m[p.Name] = p.To
	}
	return m
}

func TestLayerBumps(t *testing.T) {
	// 16 layers: use_more_bits is true for layers 0, 1, 4, 7, 10, 13, 14, 15.
	h := llamaHeader("llama", 16, 512, 32, 8, false)
	more := map[int]bool{0: true, 1: true, 4: true, 7: true, 10: true, 13: true, 14: true, 15: true}
	q4km := planOf(t, h, Q4_K_M)
	q3km := planOf(t, h, Q3_K_M)
	q4ks := planOf(t, h, Q4_K_S)
	for i := range 16 {
		b := fmt.Sprintf("blk.%d.", i)
		want := tensor.Q4_K
		if more[i] {
			want = tensor.Q6_K
		}
		if q4km[b+"attn_v.weight"] != want || q4km[b+"ffn_down.weight"] != want {
			t.Errorf("Q4_K_M layer %d: attn_v %v ffn_down %v, want %v", i, q4km[b+"attn_v.weight"], q4km[b+"ffn_down.weight"], want)
		}
		// Q3_K_M: attn_v Q5_K for the first two, then Q4_K; ffn_down Q5_K below n/16, then Q4_K.
		wantV, wantD := tensor.Q4_K, tensor.Q4_K
		if i < 2 {
			wantV = tensor.Q5_K
		}
		if i < 1 {
			wantD = tensor.Q5_K
		}
		if q3km[b+"attn_v.weight"] != wantV || q3km[b+"ffn_down.weight"] != wantD || q3km[b+"attn_output.weight"] != tensor.Q4_K {
			t.Errorf("Q3_K_M layer %d: attn_v %v ffn_down %v attn_output %v", i, q3km[b+"attn_v.weight"], q3km[b+"ffn_down.weight"], q3km[b+"attn_output.weight"])
		}
		// Q4_K_S: attn_v Q5_K for the first four, ffn_down Q5_K below n/8.
		wantV, wantD = tensor.Q4_K, tensor.Q4_K
		if i < 4 {
			wantV = tensor.Q5_K
		}
		if i < 2 {
			wantD = tensor.Q5_K
		}
		if q4ks[b+"attn_v.weight"] != wantV || q4ks[b+"ffn_down.weight"] != wantD {
			t.Errorf("Q4_K_S layer %d: attn_v %v ffn_down %v", i, q4ks[b+"attn_v.weight"], q4ks[b+"ffn_down.weight"])
		}
		if q4km[b+"attn_q.weight"] != tensor.Q4_K || q4km[b+"attn_norm.weight"] != tensor.F32 {
			t.Errorf("Q4_K_M layer %d: attn_q %v attn_norm %v", i, q4km[b+"attn_q.weight"], q4km[b+"attn_norm.weight"])
		}
	}
	if q4km["output.weight"] != tensor.Q6_K || q4km["token_embd.weight"] != tensor.Q4_K {
		t.Errorf("Q4_K_M output %v token_embd %v", q4km["output.weight"], q4km["token_embd.weight"])
	}
	// Q2_K: GQA 4 → attn_v Q4_K; ffn_down and attn_output Q3_K.
	q2 := planOf(t, h, Q2_K)
	if q2["blk.3.attn_v.weight"] != tensor.Q4_K || q2["blk.3.ffn_down.weight"] != tensor.Q3_K || q2["blk.3.attn_output.weight"] != tensor.Q3_K || q2["blk.3.attn_q.weight"] != tensor.Q2_K {
		t.Errorf("Q2_K: %v %v %v %v", q2["blk.3.attn_v.weight"], q2["blk.3.ffn_down.weight"], q2["blk.3.attn_output.weight"], q2["blk.3.attn_q.weight"])
	}
}

func TestTiedEmbeddingAndFallbacks(t *testing.T) {
	// Tied output: token_embd takes the output's Q6_K, even for Q4_0.
	h := llamaHeader("qwen2", 2, 256, 4, 2, true)
	if p := planOf(t, h, Q4_0); p["token_embd.weight"] != tensor.Q6_K || p["blk.0.attn_q.weight"] != tensor.Q4_0 {
		t.Errorf("tied Q4_0: token_embd %v attn_q %v", p["token_embd.weight"], p["blk.0.attn_q.weight"])
	}
	if p := planOf(t, h, Q8_0); p["token_embd.weight"] != tensor.Q8_0 {
		t.Errorf("tied Q8_0: token_embd %v", p["token_embd.weight"])
	}
	// Rows of 96 are no whole K-quant super-block: Q4_K→Q5_0, Q6_K→Q8_0, Q5_K→Q5_1.
	h = llamaHeader("llama", 2, 96, 4, 4, false)
	p := planOf(t, h, Q4_K_M)
	if p["blk.0.attn_q.weight"] != tensor.Q5_0 || p["output.weight"] != tensor.Q8_0 || p["blk.1.attn_v.weight"] != tensor.Q8_0 {
		t.Errorf("fallbacks: attn_q %v output %v attn_v %v", p["blk.0.attn_q.weight"], p["output.weight"], p["blk.1.attn_v.weight"])
	}
	if p := planOf(t, h, Q5_K_S); p["blk.0.attn_q.weight"] != tensor.Q5_1 {
		t.Errorf("Q5_K fallback: %v", p["blk.0.attn_q.weight"])
	}
	// Rows of 144: no whole block of 32 either, so the fallback is F16.
	h = llamaHeader("llama", 2, 256, 4, 4, false)
	h.Tensors[len(h.Tensors)-1].Shape = []int64{144, 256}
	if p := planOf(t, h, Q4_K_M); p["blk.1.ffn_down.weight"] != tensor.F16 {
		t.Errorf("F16 fallback: %v", p["blk.1.ffn_down.weight"])
	}
	if _, err := makePlan(h.Lookup, h.Tensors, Q4_0); err == nil {
		t.Error("Q4_0 of rows of 144 succeeded")
	}
	// Rows of 48 send output.weight to Q8_0, which has no fallback: llama.cpp
	// stops with "Unsupported tensor size", and so do we.
	h = llamaHeader("llama", 2, 48, 4, 4, false)
	if _, err := makePlan(h.Lookup, h.Tensors, Q4_K_M); err == nil {
		t.Error("Q4_K_M of rows of 48 succeeded")
	}
	// F16/BF16 mixes convert every quantizable tensor and nothing else.
	h = llamaHeader("llama", 2, 256, 4, 4, false)
	p = planOf(t, h, BF16)
	if p["output.weight"] != tensor.BF16 || p["blk.1.ffn_down.weight"] != tensor.BF16 || p["blk.1.ffn_norm.weight"] != tensor.F32 {
		t.Errorf("BF16: %v %v %v", p["output.weight"], p["blk.1.ffn_down.weight"], p["blk.1.ffn_norm.weight"])
	}
}

func TestOrderFollowsLlamaCpp(t *testing.T) {
	h := llamaHeader("llama", 11, 256, 4, 4, false)
	plan, err := makePlan(h.Lookup, h.Tensors, Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	// Non-block tensors first, by name; then blocks by number (2 before 10), by name.
	want := []string{"output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight"}
	for i, w := range want {
		if plan[i].Name != w {
			t.Errorf("plan[%d] = %s, want %s", i, plan[i].Name, w)
		}
	}
	if plan[3+9*2].Name != "blk.2.attn_k.weight" || plan[len(plan)-1].Name != "blk.10.ffn_up.weight" {
		t.Errorf("block order: %s … %s", plan[3+9*2].Name, plan[len(plan)-1].Name)
	}
}

func TestParseFileType(t *testing.T) {
	for _, ft := range FileTypes() {
		got, err := ParseFileType(ft.String())
		if err != nil || got != ft {
			t.Errorf("ParseFileType(%q) = %v, %v", ft.String(), got, err)
		}
	}
	if ft, err := ParseFileType("q4_k_m"); ft != Q4_K_M || err != nil {
		t.Errorf("lower case: %v %v", ft, err)
	}
	if ft, err := ParseFileType("15"); ft != Q4_K_M || err != nil {
		t.Errorf("number: %v %v", ft, err)
	}
	if _, err := ParseFileType("Q4_K_X"); err == nil {
		t.Error("Q4_K_X parsed")
	}
	if _, err := makePlan(nil, nil, Q2_K_S); err == nil {
		t.Error("Q2_K_S (needs an imatrix) was accepted")
	}
}

// TestPlanMatchesReference checks the rules alone against llama-quantize's
// files: every tensor's dtype, in the same order. It needs no quantizer.
func TestPlanMatchesReference(t *testing.T) {
	dir := testkit.Shared(t, "reference", "models")
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		in, err := gguf.Open(filepath.Join(dir, "tiny-"+arch+"-f32.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"f16", "q8_0", "q4_0", "q4_k_m", "q6_k"} {
			ref, err := gguf.Open(filepath.Join(dir, "tiny-"+arch+"-"+name+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			ft, _ := ParseFileType(name)
			plan, err := MakePlan(in, ft)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan) != len(ref.Tensors) {
				t.Fatalf("%s %s: %d tensors, reference %d", arch, name, len(plan), len(ref.Tensors))
			}
			for i, p := range plan {
				r := ref.Tensors[i]
				if p.Name != r.Name || p.To != r.DType {
					t.Errorf("%s %s: tensor %d is %s %v, reference %s %v", arch, name, i, p.Name, p.To, r.Name, r.DType)
				}
			}
			ref.Close()
		}
		in.Close()
	}
}

// TestIQ4XSAndTernaryMixes checks the rules llama_tensor_get_type has for
// IQ4_XS (as IQ4_NL: attn_v and the first eighth of ffn_down at Q5_K) and
// for TQ1_0/TQ2_0 (token_embd at Q4_K, Q4_0 where rows are no whole block).
func TestIQ4XSAndTernaryMixes(t *testing.T) {
	h := llamaHeader("llama", 16, 256, 32, 8, false) // GQA 4
	p := planOf(t, h, IQ4_XS)
	for i := range 16 {
		b := fmt.Sprintf("blk.%d.", i)
		wantD := tensor.IQ4_XS
		if i < 2 {
			wantD = tensor.Q5_K
		}
		if p[b+"attn_v.weight"] != tensor.Q5_K || p[b+"ffn_down.weight"] != wantD || p[b+"attn_q.weight"] != tensor.IQ4_XS {
			t.Errorf("IQ4_XS layer %d: attn_v %v ffn_down %v attn_q %v", i, p[b+"attn_v.weight"], p[b+"ffn_down.weight"], p[b+"attn_q.weight"])
		}
	}
	if p["output.weight"] != tensor.Q6_K || p["token_embd.weight"] != tensor.IQ4_XS {
		t.Errorf("IQ4_XS output %v token_embd %v", p["output.weight"], p["token_embd.weight"])
	}
	for _, ft := range []FileType{TQ1_0, TQ2_0} {
		base, _ := ft.BaseType()
		p := planOf(t, h, ft)
		if p["token_embd.weight"] != tensor.Q4_K || p["output.weight"] != tensor.Q6_K || p["blk.3.attn_v.weight"] != base || p["blk.0.ffn_down.weight"] != base {
			t.Errorf("%v: token_embd %v output %v attn_v %v ffn_down %v", ft, p["token_embd.weight"], p["output.weight"], p["blk.3.attn_v.weight"], p["blk.0.ffn_down.weight"])
		}
		// Tied: token_embd is the output and takes its Q6_K.
		if p := planOf(t, llamaHeader("qwen2", 2, 256, 4, 2, true), ft); p["token_embd.weight"] != tensor.Q6_K {
			t.Errorf("%v tied: token_embd %v", ft, p["token_embd.weight"])
		}
		// Rows of 96: ternary falls back to Q4_0, the output to Q8_0.
		p = planOf(t, llamaHeader("llama", 2, 96, 4, 4, false), ft)
		if p["blk.0.attn_q.weight"] != tensor.Q4_0 || p["output.weight"] != tensor.Q8_0 {
			t.Errorf("%v rows of 96: attn_q %v output %v", ft, p["blk.0.attn_q.weight"], p["output.weight"])
		}
	}
	// Rows of 96 under IQ4_XS fall back to IQ4_NL (32-value blocks).
	if p := planOf(t, llamaHeader("llama", 2, 96, 4, 4, false), IQ4_XS); p["blk.0.attn_q.weight"] != tensor.IQ4_NL {
		t.Errorf("IQ4_XS rows of 96: attn_q %v", p["blk.0.attn_q.weight"])
	}
	for s, want := range map[string]FileType{"IQ4_XS": IQ4_XS, "tq1_0": TQ1_0, "37": TQ2_0} {
		if ft, err := ParseFileType(s); ft != want || err != nil {
			t.Errorf("ParseFileType(%q) = %v, %v", s, ft, err)
		}
	}
}

// Counts of one are singular in the messages.
func TestMessagesCountInSingular(t *testing.T) {
	h := llamaHeader("llama", 1, 256, 4, 4, false)
	h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: "blk.1.attn_v.weight", Shape: []int64{256, 256}, DType: tensor.F32})
	_, err := makePlan(h.Lookup, h.Tensors, Q8_0)
	if err == nil || !strings.Contains(err.Error(), "2 attention V tensors for 1 layer (") {
		t.Errorf("got %v", err)
	}
}
