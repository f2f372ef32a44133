// Reference: llama.cpp src/llama-arch.cpp (LLM_KV_NAMES: the "<arch>.*" keys) and ggml/docs/gguf.md.

package model

import (
	"bytes"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// writeTiny writes the tiny model of arch as a GGUF file, with extra
// metadata, and returns its path and the in-memory model it came from.
func writeTiny(t *testing.T, arch string, extra map[string]gguf.Value, drop string) (string, *Model) {
	t.Helper()
	c := tinyConfig(arch)
	c.RopeScale = 1
	src, asked := tinySource(c, 3)
	m, err := New(c, src)
	if err != nil {
		t.Fatal(err)
	}
	u32 := func(v int) gguf.Value { return gguf.Value{Type: gguf.TypeUint32, X: uint32(v)} }
	f32 := func(v float32) gguf.Value { return gguf.Value{Type: gguf.TypeFloat32, X: v} }
	kv := map[string]gguf.Value{
		"general.architecture":            {Type: gguf.TypeString, X: arch},
		arch + ".embedding_length":        u32(c.Embd),
		arch + ".block_count":             u32(c.Layers),
		arch + ".attention.head_count":    u32(c.Heads),
		arch + ".attention.head_count_kv": u32(c.KVHeads),
		arch + ".attention.key_length":    u32(c.HeadDim),
		arch + ".feed_forward_length":     u32(c.FF),
		arch + ".context_length":          u32(c.CtxTrain),
		arch + ".rope.dimension_count":    u32(c.RopeDims),
		arch + ".rope.freq_base":          f32(c.RopeBase),
	}
	if c.Norm == RMSNorm {
		kv[arch+".attention.layer_norm_rms_epsilon"] = f32(c.NormEps)
	} else {
		kv[arch+".attention.layer_norm_epsilon"] = f32(c.NormEps)
	}
	for k, v := range extra {
		kv[k] = v
	}
	h := &gguf.Header{}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != drop {
			h.KV = append(h.KV, gguf.KV{Key: k, Value: kv[k]})
		}
	}
	var names []string
	for name := range asked {
		if tt, ok, _ := src(name); ok && name != drop {
			names = append(names, name)
			shape := make([]int64, len(tt.Shape))
			for i, d := range tt.Shape {
				shape[i] = int64(d)
			}
			h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: name, Shape: shape, DType: tensor.F32})
		}
	}
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), arch+".gguf")
	err = gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		tt, _, _ := src(h.Tensors[i].Name)
		_, err := io.Copy(w, bytes.NewReader(tt.Data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path, m
}

// TestOpenGGUF writes each tiny model as a GGUF file and checks that Open
// reads back the same config and computes the same logits as the model
// built in memory.
func TestOpenGGUF(t *testing.T) {
	for _, arch := range Architectures() {
		path, want := writeTiny(t, arch, nil, "")
		m, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config != want.Config {
			t.Errorf("%s: config %+v, want %+v", arch, m.Config, want.Config)
		}
		a := allLogits(t, m, Options{}, tinyTokens)
		b := allLogits(t, want, Options{}, tinyTokens)
		for i := range a {
			for j := range a[i] {
				if a[i][j] != b[i][j] {
					t.Fatalf("%s: logit [%d][%d] from file %v, in memory %v", arch, i, j, a[i][j], b[i][j])
				}
			}
		}
		if m.WeightBytes() <= 0 || m.File() == nil {
			t.Errorf("%s: weights %d bytes, file %v", arch, m.WeightBytes(), m.File())
		}
		m.Touch(nil)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGGUFMetadata(t *testing.T) {
	// Linear RoPE scaling: factor 4 → frequency scale 1/4.
	path, _ := writeTiny(t, "llama", map[string]gguf.Value{
		"llama.rope.scaling.type":   {Type: gguf.TypeString, X: "linear"},
		"llama.rope.scaling.factor": {Type: gguf.TypeFloat32, X: float32(4)},
	}, "")
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.RopeScale != 0.25 || m.RopeFreqs == nil {
		t.Errorf("rope scale %v, rope_freqs %v", m.RopeScale, m.RopeFreqs)
	}
	m.Close()

	path, _ = writeTiny(t, "llama", map[string]gguf.Value{"llama.rope.scaling.type": {Type: gguf.TypeString, X: "yarn"}}, "")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "yarn") {
		t.Errorf("yarn scaling: %v", err)
	}
	path, _ = writeTiny(t, "qwen2", nil, "qwen2.block_count")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "qwen2.block_count") || !strings.Contains(err.Error(), path) {
		t.Errorf("missing key: %v", err)
	}
	path, _ = writeTiny(t, "gpt2", nil, "blk.1.ffn_down.weight")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), `"blk.1.ffn_down.weight"`) {
		t.Errorf("missing tensor: %v", err)
	}
	path, _ = writeTiny(t, "qwen2", nil, "token_embd.weight")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), `"token_embd.weight"`) {
		t.Errorf("missing token embedding: %v", err)
	}
	path, _ = writeTiny(t, "llama", map[string]gguf.Value{"general.architecture": {Type: gguf.TypeString, X: "rwkv6"}}, "")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "gpt2, llama, qwen2") {
		t.Errorf("unsupported architecture: %v", err)
	}
}
