package hf

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

func f32Tensor(t *testing.T, name string, ne ...int) *tensor.Tensor {
	n := 1
	for _, d := range ne {
		n *= d
	}
	b := make([]byte, 0, 4*n)
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	x, err := tensor.New(name, tensor.F32, b, ne...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestExportAdapter: a llama.cpp-layout adapter becomes PEFT's files: A and
// B in PyTorch shapes, Q's lora_B rows un-permuted with the base's head
// count, per-module ranks in rank_pattern; Q/K adapters need the base.
func TestExportAdapter(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	writeTiny(t, ckpt, "llama", safetensors.F32)
	base := filepath.Join(t.TempDir(), "base.gguf")
	if _, err := Convert(context.Background(), ckpt, base, Options{}); err != nil {
		t.Fatal(err)
	}
	ad := &model.Adapter{Arch: "llama", Alpha: 8, Pairs: []model.AdapterPair{
		{Base: "blk.0.attn_q.weight", A: f32Tensor(t, "blk.0.attn_q.weight.lora_a", tEmbd, 4), B: f32Tensor(t, "blk.0.attn_q.weight.lora_b", 4, tEmbd)},
		{Base: "blk.1.ffn_down.weight", A: f32Tensor(t, "blk.1.ffn_down.weight.lora_a", tFF, 2), B: f32Tensor(t, "blk.1.ffn_down.weight.lora_b", 2, tEmbd)},
	}}
	path := filepath.Join(t.TempDir(), "ad.gguf")
	if err := ad.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "peft")
	if err := Export(context.Background(), path, out, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "--base") {
		t.Fatalf("without the base: %v", err)
	}
	if err := Export(context.Background(), path, out, ExportOptions{Base: base}); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "adapter_config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["r"] != 4.0 || cfg["lora_alpha"] != 8.0 || cfg["peft_type"] != "LORA" ||
		!reflect.DeepEqual(cfg["target_modules"], []any{"self_attn.q_proj", "mlp.down_proj"}) ||
		!reflect.DeepEqual(cfg["rank_pattern"], map[string]any{"model.layers.1.mlp.down_proj": 2.0}) {
		t.Errorf("adapter_config.json: %s", b)
	}
	f, err := safetensors.Open(filepath.Join(out, "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	qa, ok1 := f.Tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
	qb, ok2 := f.Tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")
	da, _ := f.Tensor("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")
	if !ok1 || !ok2 || da == nil || !reflect.DeepEqual(qa.Shape, []int64{4, tEmbd}) || !reflect.DeepEqual(qb.Shape, []int64{tEmbd, 4}) || !reflect.DeepEqual(da.Shape, []int64{2, tFF}) {
		t.Fatalf("tensors %+v %+v %+v", qa, qb, da)
	}
	// Back to llama.cpp's layout: the same tensors, byte for byte.
	again := filepath.Join(t.TempDir(), "again.gguf")
	if err := ConvertAdapter(context.Background(), out, again, base); err != nil {
		t.Fatal(err)
	}
	g1, _ := gguf.Open(path)
	defer g1.Close()
	g2, err := gguf.Open(again)
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	if len(g1.Tensors) != len(g2.Tensors) {
		t.Errorf("%d tensors back, want %d", len(g2.Tensors), len(g1.Tensors))
	}
	for i := range g1.Tensors {
		x := &g1.Tensors[i]
		y, ok := g2.Tensor(x.Name)
		if !ok || !reflect.DeepEqual(x.Shape, y.Shape) || x.DType != y.DType || string(g1.TensorData(x)) != string(g2.TensorData(y)) {
			t.Errorf("%s differs after PEFT and back", x.Name)
		}
	}
	if al, _ := g2.Float("adapter.lora.alpha"); al != 8 {
		t.Errorf("alpha %v", al)
	}
	if err := ConvertAdapter(context.Background(), out, again, ""); err == nil || !strings.Contains(err.Error(), "--base") {
		t.Errorf("without a base: %v", err)
	}

	// lora_B row k of head h: GGUF holds the pair (i, j) at h·d + 2i + j,
	// Hugging Face at h·d + j·d/2 + i. Values are the GGUF element index.
	d := tEmbd / tHeads
	data := f.Data(qb)
	for hfRow := 0; hfRow < tEmbd; hfRow++ {
		h, k := hfRow/d, hfRow%d
		j, i := k/(d/2), k%(d/2)
		ggRow := h*d + 2*i + j
		got := math.Float32frombits(binary.LittleEndian.Uint32(data[4*hfRow*4:]))
		if got != float32(ggRow*4) {
			t.Fatalf("lora_B row %d starts with %v, want GGUF row %d", hfRow, got, ggRow)
		}
	}
}
