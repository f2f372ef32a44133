// Reference: Orca (OSDI 2022) §4.2 and PagedAttention (SOSP 2023) §4: sequences at different positions share a
// forward pass; each must compute what it would alone.

package model

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
)

// soloRun is one sequence through a contiguous State: the prompt in one
// Forward, then greedy steps; the logits after the prompt and after each step.
func soloRun(t *testing.T, m *Model, o Options, prompt []int32, chunks []int, steps int) [][]float32 {
	t.Helper()
	s, err := m.NewState(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out [][]float32
	var l []float32
	done := 0
	for _, n := range append(chunks, len(prompt)-sum(chunks)) {
		if n == 0 {
			continue
		}
		if l, err = s.Forward(prompt[done : done+n]); err != nil {
			t.Fatal(err)
		}
		done += n
	}
	out = append(out, slices.Clone(l))
	for range steps {
		if l, err = s.Forward([]int32{argmax(l)}); err != nil {
			t.Fatal(err)
		}
		out = append(out, slices.Clone(l))
	}
	return out
}

func sum(x []int) int {
	n := 0
	for _, v := range x {
		n += v
	}
	return n
}

// sameBits reports the first index where a and b differ in bits, or -1.
func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestPagedLogitsEqualState runs one sequence through a BatchRunner and
// the same calls through a State, for every architecture, both cache types
// and block sizes that do and do not divide the lane widths: with the F16
// cache the logits agree to the bit (same sums, in place through the block
// table); with F32 the weighted sum of V is split per block, so they agree
// within float32 rounding, |Δ| ≤ 1e-5 + 1e-5·|logit|.
func TestPagedLogitsEqualState(t *testing.T) {
	prompt := tinyTokens
	chunks := []int{4, 3} // then the remaining 4
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		for _, f32 := range []bool{false, true} {
			o := Options{Threads: 2, Ctx: 40, KVF32: f32}
			want := soloRun(t, m, o, prompt, chunks, 12)
			for _, P := range []int{1, 5, 16} {
				c, err := m.NewPagedCache(PagedOptions{BlockTokens: P, Blocks: 40, KVF32: f32})
				if err != nil {
					t.Fatal(err)
				}
				r, err := m.NewBatchRunner(Options{Threads: 2, Ctx: 40, Batch: 16})
				if err != nil {
					t.Fatal(err)
				}
				q := c.NewSeq()
				var got [][]float32
				var last []float32
				feed := func(toks []int32) {
					err := r.Forward([]*PagedSeq{q}, [][]int32{toks}, func(i int, l []float32) error {
						last = slices.Clone(l)
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				feed(prompt[:4])
				feed(prompt[4:7])
				feed(prompt[7:])
				got = append(got, last)
				for range 12 {
					feed([]int32{argmax(last)})
					got = append(got, last)
				}
				for k := range want {
					if f32 {
						for j := range want[k] {
							if d := math.Abs(float64(got[k][j] - want[k][j])); d > 1e-5+1e-5*math.Abs(float64(want[k][j])) {
								t.Fatalf("%s %s P=%d step %d logit %d: %g vs %g", arch, kvName(f32), P, k, j, got[k][j], want[k][j])
							}
						}
					} else if i := sameBits(got[k], want[k]); i >= 0 {
						t.Fatalf("%s %s P=%d step %d logit %d: %g vs the State's %g", arch, kvName(f32), P, k, i, got[k][i], want[k][i])
					}
				}
				q.Free()
				if c.FreeBlocks() != c.Blocks() {
					t.Errorf("%d of %d blocks free after Free", c.FreeBlocks(), c.Blocks())
				}
				r.Close()
			}
		}
	}
}

// batchedGreedy decodes every prompt greedily in shared steps: sequence i
// joins at step join[i], its prompt goes in chunks of at most chunk tokens
// (never leaving a lone last token, which would be summed in the
// single-token order that the State's one-pass prefill does not use),
// then one token per step. It returns each sequence's logits after its
// prompt and after each of its steps.
func batchedGreedy(t *testing.T, m *Model, prompts [][]int32, join []int, chunk, steps int) [][][]float32 {
	t.Helper()
	c, err := m.NewPagedCache(PagedOptions{BlockTokens: 4, Blocks: 64})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.NewBatchRunner(Options{Threads: 2, Ctx: 64, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := len(prompts)
	seqs := make([]*PagedSeq, n)
	fed := make([]int, n)
	out := make([][][]float32, n)
	for step := 0; ; step++ {
		var ss []*PagedSeq
		var toks [][]int32
		var who []int
		for i := range n {
			if step < join[i] || len(out[i]) > steps {
				continue
			}
			if seqs[i] == nil {
				seqs[i] = c.NewSeq()
			}
			p := prompts[i]
			var tk []int32
			if rest := len(p) - fed[i]; rest > 0 {
				k := min(chunk, rest)
				if rest-k == 1 {
					k = rest
				}
				tk = p[fed[i] : fed[i]+k]
				fed[i] += k
			} else {
				tk = []int32{argmax(out[i][len(out[i])-1])}
			}
			ss, toks, who = append(ss, seqs[i]), append(toks, tk), append(who, i)
		}
		if len(ss) == 0 {
			break
		}
		err := r.Forward(ss, toks, func(j int, l []float32) error {
			i := who[j]
			if fed[i] == len(prompts[i]) {
				out[i] = append(out[i], slices.Clone(l))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range seqs {
		q.Free()
	}
	if c.FreeBlocks() != c.Blocks() {
		t.Errorf("%d of %d blocks free after every sequence's Free", c.FreeBlocks(), c.Blocks())
	}
	return out
}

// checkBatchedEqualsSolo runs four prompts of different lengths alone
// through a State and together through a BatchRunner (joining at steps 0,
// 0, 2 and 5, prompts in chunks of 3 beside the others' decoding) and
// requires the same logits to the bit at every step, hence the same
// greedy tokens.
func checkBatchedEqualsSolo(t *testing.T, name string, m *Model, vocab int) {
	t.Helper()
	var prompts [][]int32
	for i, n := range []int{11, 2, 7, 9} {
		p := make([]int32, n)
		for j := range p {
			p[j] = int32((i*31 + j*17 + 1) % vocab)
		}
		prompts = append(prompts, p)
	}
	const steps = 10
	got := batchedGreedy(t, m, prompts, []int{0, 0, 2, 5}, 3, steps)
	for i, p := range prompts {
		want := soloRun(t, m, Options{Threads: 2, Ctx: 64}, p, nil, steps)
		if len(got[i]) != len(want) {
			t.Fatalf("%s: sequence %d: %d steps batched, %d alone", name, i, len(got[i]), len(want))
		}
		for k := range want {
			if j := sameBits(got[i][k], want[k]); j >= 0 {
				t.Fatalf("%s: sequence %d step %d logit %d: %g batched, %g alone", name, i, k, j, got[i][k][j], want[k][j])
			}
		}
	}
}

// TestBatchedEqualsSolo: over quantized weights (the 8-bit activations of
// each row are the row's own, and the dots the single row's), so at
// temperature 0 batching changes nothing. The tiny models of every
// architecture with Q8_0 and Q4_0 matrices.
func TestBatchedEqualsSolo(t *testing.T) {
	for _, arch := range Architectures() {
		for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
			c := tinyConfig(arch)
			c.FF = 64 // quantized rows need multiples of 32
			src, _ := tinySource(c, 3)
			m, err := New(c, convertedSource(src, dt))
			if err != nil {
				t.Fatal(err)
			}
			checkBatchedEqualsSolo(t, arch+" "+dt.String(), m, c.Vocab)
		}
	}
}

// TestBatchedEqualsSoloDefaultModel is the same check on the embedded
// default model and the quantized reference models of ../shared.
func TestBatchedEqualsSoloDefaultModel(t *testing.T) {
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	checkBatchedEqualsSolo(t, "default", m, m.Vocab)
}

func TestBatchedEqualsSoloReferenceModels(t *testing.T) {
	for _, name := range refModels {
		if strings.HasSuffix(name, "-f32") || strings.HasSuffix(name, "-f16") {
			continue // batched F16/F32 matmuls sum in tinyBLAS's order, one token in ggml_vec_dot's
		}
		t.Run(name, func(t *testing.T) {
			m, err := Open(testkit.Shared(t, "reference", "models", name+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			checkBatchedEqualsSolo(t, name, m, m.Vocab)
		})
	}
}

func TestBatchRunnerErrors(t *testing.T) {
	m := tinyModel(t, "llama")
	c, err := m.NewPagedCache(PagedOptions{BlockTokens: 4, Blocks: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.NewBatchRunner(Options{Threads: 1, Ctx: 16, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b := c.NewSeq(), c.NewSeq()
	nop := func(int, []float32) error { return nil }
	other, _ := tinyModel(t, "qwen2").NewPagedCache(PagedOptions{Blocks: 1})
	for name, call := range map[string]func() error{
		"no sequences":     func() error { return r.Forward(nil, nil, nop) },
		"lengths differ":   func() error { return r.Forward([]*PagedSeq{a}, nil, nop) },
		"no tokens":        func() error { return r.Forward([]*PagedSeq{a}, [][]int32{{}}, nop) },
		"twice":            func() error { return r.Forward([]*PagedSeq{a, a}, [][]int32{{1}, {2}}, nop) },
		"bad token":        func() error { return r.Forward([]*PagedSeq{a}, [][]int32{{37}}, nop) },
		"over the budget":  func() error { return r.Forward([]*PagedSeq{a}, [][]int32{make([]int32, 9)}, nop) },
		"over the context": func() error { return r.Forward([]*PagedSeq{a}, [][]int32{make([]int32, 17)}, nop) },
		"other model":      func() error { return r.Forward([]*PagedSeq{other.NewSeq()}, [][]int32{{1}}, nop) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// 8 positions fill both blocks; one more is ErrCacheFull, and nothing advances.
	if err := r.Forward([]*PagedSeq{a}, [][]int32{{1, 2, 3, 4, 5, 6, 7, 8}}, nop); err != nil {
		t.Fatal(err)
	}
	err = r.Forward([]*PagedSeq{b, a}, [][]int32{{1}, {1}}, nop)
	if !errors.Is(err, ErrCacheFull) || a.Pos() != 8 || b.Pos() != 0 {
		t.Fatalf("a full pool: %v, positions %d and %d", err, a.Pos(), b.Pos())
	}
	a.Free()
	if err := r.Forward([]*PagedSeq{b, a}, [][]int32{{1}, {1}}, nop); err != nil {
		t.Fatalf("after Free: %v", err)
	}
}
