package hf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/safetensors"
)

// TestShardedCheckpoint: the same tensors split over two shards with an
// index convert to the same GGUF bytes as one model.safetensors.
func TestShardedCheckpoint(t *testing.T) {
	one := filepath.Join(t.TempDir(), "one")
	writeTiny(t, one, "qwen2", safetensors.F16)
	two := filepath.Join(t.TempDir(), "two")
	os.MkdirAll(two, 0o755)
	for _, f := range []string{"config.json", "tokenizer.json", "tokenizer_config.json"} {
		b, _ := os.ReadFile(filepath.Join(one, f))
		os.WriteFile(filepath.Join(two, f), b, 0o644)
	}
	src, err := safetensors.Open(filepath.Join(one, safetensors.SingleName))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	weightMap := map[string]string{}
	half := len(src.Tensors) / 2
	for s, part := range [][]safetensors.TensorInfo{src.Tensors[:half], src.Tensors[half:]} {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[s]
		var ts []safetensors.Tensor
		for _, ti := range part {
			ts = append(ts, safetensors.Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape})
			weightMap[ti.Name] = name
		}
		err := safetensors.WriteFile(filepath.Join(two, name), ts, nil, func(i int, w io.Writer) error {
			_, err := w.Write(src.Data(&part[i]))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	os.WriteFile(filepath.Join(two, safetensors.IndexName), idx, 0o644)

	outs := [2]string{}
	for i, dir := range []string{one, two} {
		outs[i] = filepath.Join(t.TempDir(), "m.gguf")
		if _, err := Convert(context.Background(), dir, outs[i], Options{Name: "same"}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(outs[0])
	b, _ := os.ReadFile(outs[1])
	if !bytes.Equal(a, b) {
		t.Error("sharded and single-file checkpoints convert to different files")
	}
}
