package model

import (
	"math"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// A model's Q4_0 matrices are packed at load (Output and the blocks', not
// the embedding table), and the packed forward pass gives the unpacked one's
// logits bit for bit, for a prompt and for each decoded token after it.
// The model is made here (a random llama, its matrices quantized to Q4_0),
// so this runs without ../shared; the reference tests check the packed path
// against llama.cpp on the tiny Q4_0 files.
func TestPackedQ4_0MatchesUnpacked(t *testing.T) {
	c := tinyInitConfig(t, "llama")
	c.Vocab, c.FF = 40, 64 // every matrix whole Q4_0 blocks, every row count a multiple of 8
	src, err := RandomSource(c, InitOptions{Seed: 3, Std: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, convertedSource(src, tensor.Q4_0))
	if err != nil {
		t.Fatal(err)
	}
	if m.TokEmbd.Packed() || !m.Output.Packed() {
		t.Fatalf("token_embd packed %v, output packed %v", m.TokEmbd.Packed(), m.Output.Packed())
	}
	m.eachMatrix(func(w *tensor.Tensor) {
		if w != m.TokEmbd && !w.Packed() {
			t.Errorf("%s (%v %v) not packed", w.Name, w.DType, w.Shape)
		}
	})
	packed, err := m.NewState(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer packed.Close()
	plain, err := m.NewState(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.mm = func(w *tensor.Tensor, x []float32, nb int, out []float32) error {
		u := tensor.Tensor{Name: w.Name, DType: w.DType, Shape: w.Shape, Data: w.Data} // no packed copy
		return plain.pool.MatMul(&u, x, nb, out)
	}
	tokens := []int32{1, 5, 9, 14, 3, 22, 7}
	for step := range 6 {
		a, err := packed.Forward(tokens)
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.Forward(tokens)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("step %d: logit %d packed %v, unpacked %v", step, i, a[i], b[i])
			}
		}
		tokens = []int32{argmax(a)}
	}
}
