// Reference: valuehead.go (a reward model file is the model's tensors and the head's).

package model

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// TestRewardModelFile writes a model with a value head and reads it back:
// the same weights, the same head, the same values; a plain model file is
// refused as a reward model, and a reward model's logits are the plain model's.
func TestRewardModelFile(t *testing.T) {
	c := tinyTrainConfig(t, "llama")
	m, err := NewRandomTrainable(c, InitOptions{Seed: 3, Std: 0.1, Tied: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewValueHead(c.Embd, 9)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, plain := filepath.Join(dir, "rm.gguf"), filepath.Join(dir, "lm.gguf")
	if err := m.WriteRewardGGUF(path, nil, tensor.F32, "rm", h); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteGGUF(plain, nil, tensor.F32, "lm"); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m2, h2, err := RewardModelFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.W.Data, h2.W.Data) || !slices.Equal(h.B.Data, h2.B.Data) {
		t.Error("head differs after the round trip")
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	tokens := []int32{1, 5, 7, 2, 3, 4}
	values := func(m *Trainable, h *ValueHead) []float32 {
		tp := autograd.NewTape(pool)
		tp.NoGrad(true)
		v := h.Values(tp, m.HiddenSegments(tp, tokens, len(tokens), nil))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(v.Data)
	}
	if a, b := values(m, h), values(m2, h2); !slices.Equal(a, b) {
		t.Errorf("values %v, after the round trip %v", a, b)
	}
	if _, err := TrainableFromGGUF(f); err == nil {
		t.Error("a reward model loaded as a plain trainable model (its head would be dropped)")
	}
	g, err := gguf.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, _, err := RewardModelFromGGUF(g); err == nil || !strings.Contains(err.Error(), "not a reward model") {
		t.Errorf("plain model as a reward model: %v", err)
	}
}
