// Reference: llama.cpp examples/quantize; checks the quantize command end to end.

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// tinyLlama is a 1-layer llama with rows of 64 and every weight 1.0 as F32.
func tinyLlama(t *testing.T) string {
	h := &gguf.Header{KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue("llama")},
		{Key: "llama.block_count", Value: gguf.NewValue(uint32(1))},
		{Key: "llama.attention.head_count", Value: gguf.NewValue(uint32(4))},
	}}
	for _, n := range []string{"token_embd.weight", "output.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_down.weight"} {
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: n, Shape: []int64{64, 64}, DType: tensor.F32})
	}
	h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: "output_norm.weight", Shape: []int64{64}, DType: tensor.F32})
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "in.gguf")
	err := gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		// 00 00 80 3f is 1.0 in little-endian F32.
		_, err := w.Write(bytes.Repeat([]byte{0, 0, 0x80, 0x3f}, int(h.Tensors[i].Size/4)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestQuantizeCommand(t *testing.T) {
	if !tensor.Q8_0.CanQuantize() {
		t.Skip("no Q8_0 quantizer registered yet")
	}
	in := tinyLlama(t)
	out := filepath.Join(filepath.Dir(in), "out.gguf")
	stdout, stderr, code := runCLI(t, "", "quantize", in, out, "q8_0", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(Q8_0)") || !strings.Contains(stderr, "\r[") || !strings.Contains(stderr, " 8/8 ") {
		t.Errorf("stdout %q\nstderr %q", stdout, stderr)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, ti := range f.Tensors {
		want := tensor.Q8_0
		if ti.Name == "output_norm.weight" {
			want = tensor.F32
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
	}
	if ft, _ := f.Uint("general.file_type"); ft != 7 {
		t.Errorf("general.file_type %d, want 7", ft)
	}
}

func TestQuantizeCommandErrors(t *testing.T) {
	in := tinyLlama(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"quantize", in, "x.gguf"}, 2, "Usage"},
		{[]string{"quantize", in, in, "Q8_0"}, 1, "is the input"},
		{[]string{"quantize", in, filepath.Join(filepath.Dir(in), "o.gguf"), "Q9_9"}, 1, "unknown file type"},
		{[]string{"quantize", in, "o.gguf", "Q8_0", "--threads", "-1"}, 1, "negative"},
		{[]string{"quantize", filepath.Join(filepath.Dir(in), "none.gguf"), "o.gguf", "Q8_0"}, 1, "no such file"},
	} {
		_, stderr, code := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args[1:], code, stderr, c.code, c.want)
		}
	}
}

// TestQuantizeCommandMatchesLlamaCpp runs the whole command on a reference
// model; quant's own test covers every type and architecture.
func TestQuantizeCommandMatchesLlamaCpp(t *testing.T) {
	dir := testkit.Shared(t, "reference", "models")
	out := filepath.Join(t.TempDir(), "q.gguf")
	_, stderr, code := runCLI(t, "", "quantize", "--quiet", filepath.Join(dir, "tiny-qwen2-f32.gguf"), out, "Q4_K_M")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(filepath.Join(dir, "tiny-qwen2-q4_k_m.gguf"))
	if !bytes.Equal(got, want) {
		t.Errorf("output (%d bytes) differs from llama-quantize's (%d bytes)", len(got), len(want))
	}
}
