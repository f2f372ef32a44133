// Reference: llama.cpp src/llama-graph.cpp (build_pooling) and common/common.cpp (common_embd_normalize, L2),
// checked against naive_test.go's float64 Transformer.

package model

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
)

// headTimes returns Output·h in float64: the logits a hidden state gives.
func headTimes(t *testing.T, m *Model, h []float32) []float64 {
	t.Helper()
	w, err := m.Output.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	C := m.Embd
	out := make([]float64, m.Vocab)
	for r := range out {
		for i := range C {
			out[r] += float64(w[r*C+i]) * float64(h[i])
		}
	}
	return out
}

// TestEmbedAgainstNaive checks the pooled vectors against the float64
// Transformer of naive_test.go. The output head is linear and, in the tiny
// models, a 37×32 matrix of full column rank, so a hidden state is
// determined by its logits: Output·pool(h) must equal the same pooling of
// the naive logits (mean of every position's, the first's, the last's).
// With the F32 cache the forward pass agrees with the naive one within
// 2e-3 on the logits (TestForwardAgainstNaive); pooling keeps that bound
// (measured: 5e-7 for llama and qwen2, 4.4e-4 for gpt2, whose GELU goes
// through half precision).
// The normalised vector must be the unnormalised one over its float64 norm
// (within float32 rounding, 1e-6) and have norm 1.
func TestEmbedAgainstNaive(t *testing.T) {
	ctx := context.Background()
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		naive := naiveForward(t, m, tinyTokens)
		n := len(naive)
		want := map[Pooling][]float64{PoolMean: make([]float64, m.Vocab), PoolCLS: naive[0], PoolLast: naive[n-1]}
		for _, row := range naive {
			for j, v := range row {
				want[PoolMean][j] += v / float64(n)
			}
		}
		s, err := m.NewState(Options{KVF32: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []Pooling{PoolMean, PoolCLS, PoolLast} {
			raw, err := s.Embed(ctx, tinyTokens, EmbedOptions{Pooling: p})
			if err != nil {
				t.Fatal(err)
			}
			var maxD float64
			for j, v := range headTimes(t, m, raw) {
				maxD = math.Max(maxD, math.Abs(v-want[p][j]))
			}
			t.Logf("%s %s: max |Δlogit| of the pooled state %.2g against float64", arch, p, maxD)
			if maxD > 2e-3 {
				t.Errorf("%s %s: max |Δlogit| %.3g > 2e-3", arch, p, maxD)
			}
			unit, err := s.Embed(ctx, tinyTokens, EmbedOptions{Pooling: p, Normalize: true})
			if err != nil {
				t.Fatal(err)
			}
			var norm, ss float64
			for _, v := range raw {
				norm += float64(v) * float64(v)
			}
			norm = math.Sqrt(norm)
			for j, v := range unit {
				ss += float64(v) * float64(v)
				if d := math.Abs(float64(v) - float64(raw[j])/norm); d > 1e-6 {
					t.Fatalf("%s %s: normalised[%d] = %g, want %g", arch, p, j, v, float64(raw[j])/norm)
				}
			}
			if math.Abs(math.Sqrt(ss)-1) > 1e-6 {
				t.Errorf("%s %s: norm %g, want 1", arch, p, math.Sqrt(ss))
			}
		}
		s.Close()
	}
}

// TestEmbedHiddenIsTheHeadInput checks that Hidden hands out the vectors
// the output head multiplies: Output·h equals Forward's logits of each
// token, up to the dot order (float32 rounding; 1e-4 on logits of order 1).
func TestEmbedHiddenIsTheHeadInput(t *testing.T) {
	m := tinyModel(t, "llama")
	logits := allLogits(t, m, Options{}, tinyTokens)
	s, err := m.NewState(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seen := 0
	err = s.Hidden(context.Background(), tinyTokens, func(i int, h []float32) error {
		if i != seen {
			t.Fatalf("hidden state %d came as %d", seen, i)
		}
		seen++
		for j, v := range headTimes(t, m, h) {
			if d := math.Abs(v - float64(logits[i][j])); d > 1e-4+1e-4*math.Abs(v) {
				t.Fatalf("token %d logit %d: Output·h = %g, Forward %g", i, j, v, logits[i][j])
			}
		}
		return nil
	})
	if err != nil || seen != len(tinyTokens) {
		t.Fatalf("Hidden: %v after %d of %d tokens", err, seen, len(tinyTokens))
	}
	if s.Pos() != len(tinyTokens) {
		t.Errorf("Pos %d after Hidden, want %d", s.Pos(), len(tinyTokens))
	}
}

// TestEmbedFreshStateAndBatches checks that a text's vector does not depend
// on what the state ran before (each text starts from an empty cache), on
// how its tokens are split into batches (batches of 3 see the same numbers
// in the same order: bit-identical), nor on the order of texts in
// EmbedEach; and that different texts give different vectors.
func TestEmbedFreshStateAndBatches(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t, "qwen2")
	o := EmbedOptions{Pooling: PoolMean, Normalize: true}
	embed := func(opt Options, toks []int32) []float32 {
		s, err := m.NewState(opt)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		v, err := s.Embed(ctx, toks, o)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := tinyTokens, []int32{3, 3, 20, 8}
	wantA, wantB := embed(Options{}, a), embed(Options{}, b)
	if slicesEqual(wantA, wantB) {
		t.Fatal("two different texts gave the same vector")
	}
	if got := embed(Options{Batch: 3}, a); !slicesEqual(got, wantA) {
		t.Errorf("batches of 3 changed the vector: %v vs %v", got[:4], wantA[:4])
	}
	s, err := m.NewState(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seqs := [][]int32{b, a, b}
	var got [][]float32
	err = s.EmbedEach(ctx, seqs, o, func(i int, v []float32) error {
		if i != len(got) {
			t.Fatalf("vector %d came as %d", len(got), i)
		}
		got = append(got, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(got[0], wantB) || !slicesEqual(got[1], wantA) || !slicesEqual(got[2], wantB) {
		t.Error("EmbedEach's vectors depend on the texts before them")
	}
}

func TestEmbedErrors(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t, "gpt2")
	s, err := m.NewState(Options{Ctx: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := EmbedOptions{Pooling: PoolMean, Normalize: true}
	for _, c := range []struct {
		name string
		toks []int32
		o    EmbedOptions
		want string
	}{
		{"empty", nil, o, "no tokens"},
		{"too long", make([]int32, 9), o, "9 tokens exceed the context of 8"},
		{"vocabulary", []int32{1, 37}, o, "vocabulary"},
		{"negative", []int32{-1}, o, "vocabulary"},
		{"pooling none", []int32{1}, EmbedOptions{Pooling: PoolNone}, "pooling none"},
		{"pooling rank", []int32{1}, EmbedOptions{Pooling: PoolRank}, "pooling rank"},
		{"pooling 9", []int32{1}, EmbedOptions{Pooling: 9}, "pooling(9)"},
	} {
		if _, err := s.Embed(ctx, c.toks, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Embed(cancelled, []int32{1, 2}, o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	stop := errors.New("stop")
	err = s.EmbedEach(ctx, [][]int32{{1}, {2}}, o, func(int, []float32) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}
	err = s.EmbedEach(ctx, [][]int32{{1}, {}}, o, func(int, []float32) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "input 1") {
		t.Errorf("empty second input: %v", err)
	}
}

// TestPoolingFromGGUF checks the "<arch>.pooling_type" key: llama.cpp's
// numbers, mean when absent, an error for a number outside the enum.
func TestPoolingFromGGUF(t *testing.T) {
	u32 := func(v uint32) gguf.Value { return gguf.Value{Type: gguf.TypeUint32, X: v} }
	for _, c := range []struct {
		extra map[string]gguf.Value
		want  Pooling
		err   string
	}{
		{nil, PoolMean, ""},
		{map[string]gguf.Value{"llama.pooling_type": u32(3)}, PoolLast, ""},
		{map[string]gguf.Value{"llama.pooling_type": u32(2)}, PoolCLS, ""},
		{map[string]gguf.Value{"llama.pooling_type": u32(9)}, PoolMean, "llama.pooling_type = 9"},
	} {
		path, _ := writeTiny(t, "llama", c.extra, "")
		m, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.DefaultPooling()
		m.Close()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want %q", c.extra, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%v: pooling %s, %v; want %s", c.extra, got, err, c.want)
		}
	}
	if p, err := (&Model{}).DefaultPooling(); p != PoolMean || err != nil {
		t.Errorf("in-memory model: %s, %v; want mean", p, err)
	}
	for p := PoolNone; p <= PoolRank; p++ {
		if q, err := ParsePooling(p.String()); q != p || err != nil {
			t.Errorf("ParsePooling(%q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := ParsePooling("max"); err == nil {
		t.Error(`ParsePooling("max") accepted`)
	}
}
