package model_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// A model needs a Config and a Source of tensors; usually both come from a
// GGUF file (model.Open). Here a 1-layer llama with random weights is built
// in memory, and two tokens go through it: the first as a prompt, the second
// as one decode step through the KV cache.
func Example() {
	c := model.Config{
		Arch: "llama", Vocab: 16, Embd: 8, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4, FF: 16,
		CtxTrain: 32, NormEps: 1e-5, RopeDims: 4, RopeBase: 10000, RopeScale: 1,
		Norm: model.RMSNorm, Rope: model.RopeNorm, FFN: model.FFNSwiGLU,
	}
	r := rand.New(rand.NewPCG(1, 2))
	src := func(name string) (*tensor.Tensor, bool, error) {
		shapes := map[string][]int{"token_embd.weight": {8, 16}, "output_norm.weight": {8},
			"blk.0.attn_norm.weight": {8}, "blk.0.ffn_norm.weight": {8},
			"blk.0.attn_q.weight": {8, 8}, "blk.0.attn_k.weight": {8, 4}, "blk.0.attn_v.weight": {8, 4},
			"blk.0.attn_output.weight": {8, 8}, "blk.0.ffn_gate.weight": {8, 16},
			"blk.0.ffn_up.weight": {8, 16}, "blk.0.ffn_down.weight": {16, 8}}
		shape, ok := shapes[name]
		if !ok {
			return nil, false, nil // optional tensors: biases, output.weight (tied)
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		t, err := tensor.FromFloat32(name, x, shape...)
		return t, true, err
	}
	m, err := model.New(c, src)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := m.NewState(model.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	logits, _ := s.Forward([]int32{1})
	fmt.Println(len(logits), s.Pos())
	logits, _ = s.Forward([]int32{7})
	fmt.Println(len(logits), s.Pos())
	// Output:
	// 16 1
	// 16 2
}
