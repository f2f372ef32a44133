// Reference: Go fuzzing (go.dev/doc/security/fuzz); the adapter checks of llama.cpp src/llama-adapter.cpp.

package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// FuzzAdapter feeds any bytes through what `--lora FILE` does with them:
// parse, read as an adapter, check against a tiny base, attach and run a
// forward, and merge. Nothing may panic; an adapter that gets through
// must give finite-shaped logits (a file's values may be NaN, its shapes
// may not be wrong).
func FuzzAdapter(f *testing.F) {
	c, err := ArchConfig("llama")
	if err != nil {
		f.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 37, 32, 1, 4, 2, 8, 64, 16
	c.RopeDims = c.HeadDim
	dir := f.TempDir()
	basePath := filepath.Join(dir, "base.gguf")
	if err := WriteRandom(basePath, c, InitOptions{Type: tensor.F32, Seed: 1, Std: 0.1}); err != nil {
		f.Fatal(err)
	}
	bf, err := gguf.Open(basePath)
	if err != nil {
		f.Fatal(err)
	}
	defer bf.Close()
	base, err := FromGGUF(bf)
	if err != nil {
		f.Fatal(err)
	}
	for i, targets := range [][]string{{"q"}, {"k", "down"}} {
		m, err := LoRATrainableFromGGUF(bf, LoRAOptions{Rank: 2, Alpha: 4, Targets: targets, TrainEmbeddings: i == 1})
		if err != nil {
			f.Fatal(err)
		}
		p := filepath.Join(dir, "seed.gguf")
		if err := m.WriteAdapter(p, "seed"); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(bytes.Clone(data))
		if err != nil {
			return
		}
		a, err := AdapterFromGGUF(gf)
		if err != nil {
			return
		}
		am, err := base.WithAdapters(ScaledAdapter{a, 0.5})
		if err != nil {
			return
		}
		st, err := am.NewState(Options{Ctx: 8, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		l, err := st.Forward([]int32{1, 2, 3})
		if err != nil {
			t.Fatalf("forward with an accepted adapter: %v", err)
		}
		if len(l) != c.Vocab {
			t.Fatalf("%d logits, want %d", len(l), c.Vocab)
		}
		if err := MergeAdapters(bf, []ScaledAdapter{{a, 1}}, filepath.Join(t.TempDir(), "m.gguf"), true); err != nil {
			t.Fatalf("merge of an adapter WithAdapters accepted: %v", err)
		}
	})
}
