// Reference: Go's native fuzzing (testing.F); the prompt-tuning and prefix-tuning files of docs/finetune.md.

package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// FuzzPromptAdapter: any bytes through parse, AdapterFromGGUF and
// WithAdapters on a tiny base must not panic; a prompt adapter accepted
// runs a forward over its virtual tokens and real ones, and a merge of it
// is refused. Seeded with a real prompt-tuning file.
func FuzzPromptAdapter(f *testing.F) {
	fuzzVirtualAdapter(f, 1, func(bf *gguf.File, path string) error {
		m, err := PromptTuningTrainableFromGGUF(bf, PromptTuningOptions{Tokens: 2, Seed: 3})
		if err != nil {
			return err
		}
		return m.WriteAdapter(path, "seed")
	})
}

// FuzzPrefixAdapter: the same for prefix-tuning files, on a base of two
// layers with grouped-query attention. Seeded with a real prefix-tuning
// file.
func FuzzPrefixAdapter(f *testing.F) {
	fuzzVirtualAdapter(f, 2, func(bf *gguf.File, path string) error {
		m, err := PrefixTuningTrainableFromGGUF(bf, PrefixTuningOptions{Tokens: 2, Seed: 3})
		if err != nil {
			return err
		}
		return m.WriteAdapter(path, "seed")
	})
}

// fuzzVirtualAdapter runs the fuzz body shared by the adapters that add
// virtual tokens: a random llama base of the given depth, the seed file
// that writeSeed makes over it, and any bytes in its place.
func fuzzVirtualAdapter(f *testing.F, layers int, writeSeed func(bf *gguf.File, path string) error) {
	c, err := ArchConfig("llama")
	if err != nil {
		f.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 37, 32, layers, 4, 2, 8, 64, 16
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
	p := filepath.Join(dir, "seed.gguf")
	if err := writeSeed(bf, p); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(bytes.Clone(data))
		if err != nil {
			return
		}
		a, err := AdapterFromGGUF(gf)
		if err != nil {
			return
		}
		am, err := base.WithAdapters(ScaledAdapter{a, 1})
		if err != nil {
			return
		}
		P := am.VirtualTokens()
		if P > 8 {
			return // no room in the state's context below; the forward checks that too
		}
		st, err := am.NewState(Options{Ctx: 12, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tokens := []int32{1, 2}
		if P > 0 {
			tokens = []int32{-int32(P), -1, 1, 2}
		}
		if _, err := st.Forward(tokens); err != nil {
			t.Fatalf("forward with an accepted adapter: %v", err)
		}
		if a.Prompt != nil || a.PrefixK != nil {
			if err := MergeAdapters(bf, []ScaledAdapter{{a, 1}}, filepath.Join(t.TempDir(), "m.gguf"), true); err == nil {
				t.Fatal("a prompt- or prefix-tuning adapter merged")
			}
		}
	})
}
