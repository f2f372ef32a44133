// Reference: Li and Liang 2021 §4 (the prefix's keys and values in front of every input, in every layer); the
// OpenAI completions API.

package server

import (
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// TestServePrefixAdapter: a model served with a prefix-tuning adapter
// answers a completion as a session of that model answers the same tokens
// (the virtual tokens in front, their keys and values from the adapter),
// which differs from the model without it; the batch scheduler answers the
// same.
func TestServePrefixAdapter(t *testing.T) {
	m, tok := defaultModel(t)
	t.Cleanup(func() { m.Close() })
	const P = 5
	rng := rand.New(rand.NewPCG(3, 4))
	ad := &model.Adapter{Arch: m.Arch}
	for i := range m.Layers {
		for j, name := range []string{model.PrefixKName(i), model.PrefixVName(i)} {
			x := make([]float32, P*m.KVDim())
			for k := range x {
				x[k] = float32(rng.NormFloat64())
			}
			tt, err := tensor.FromFloat32(name, x, m.KVDim(), P)
			if err != nil {
				t.Fatal(err)
			}
			if j == 0 {
				ad.PrefixK = append(ad.PrefixK, tt)
			} else {
				ad.PrefixV = append(ad.PrefixV, tt)
			}
		}
	}
	sa := model.ScaledAdapter{Adapter: ad, Scale: 1}
	am, err := m.WithAdapters(sa)
	if err != nil {
		t.Fatal(err)
	}
	checkServedAdapter(t, sa, am, tok, "prefix-tuning")
}
