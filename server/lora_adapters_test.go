// Reference: Hu et al. 2021, "LoRA" §4.1 (W x + (α/r)·B A x, the adapter kept apart from the frozen
// weights); llama.cpp tools/server --lora; the OpenAI completions API.

package server

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// TestServeLoRAAdapter: a model served with an unmerged LoRA adapter (on
// every layer's query matrix) answers as a session of that model, on the
// sessions and under the batch scheduler, whose batched rows each take the
// adapter's product (checkServedAdapter).
func TestServeLoRAAdapter(t *testing.T) {
	m, tok := defaultModel(t)
	t.Cleanup(func() { m.Close() })
	const r = 4
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(name string, ne0, ne1 int) *tensor.Tensor {
		x := make([]float32, ne0*ne1)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.5)
		}
		tt, err := tensor.FromFloat32(name, x, ne0, ne1)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	ad := &model.Adapter{Arch: m.Arch}
	for i := range m.Layers {
		base := fmt.Sprintf("blk.%d.attn_q.weight", i)
		ad.Pairs = append(ad.Pairs, model.AdapterPair{Base: base, A: random(base+".lora_a", m.Embd, r), B: random(base+".lora_b", r, m.Embd)})
	}
	sa := model.ScaledAdapter{Adapter: ad, Scale: 1}
	am, err := m.WithAdapters(sa)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { am.Close() })
	checkServedAdapter(t, sa, am, tok, "LoRA")
}
