// Reference: the tiny llama.cpp-converted models in ../shared/reference/models (names, shapes, types, keys).

package model

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// tinyVocab is the tokenizer metadata of a made-up SentencePiece vocabulary of n pieces.
func tinyVocab(n int) []gguf.KV {
	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("▁t%d", i)
		types[i] = 1
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.NewValue("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewValue(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.NewValue(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.NewValue(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.NewValue(uint32(1))},
		{Key: "tokenizer.chat_template", Value: gguf.NewValue("{{ messages[0]['content'] }}")},
	}
}

// tinyInitConfig is a small shape of arch: GQA where allowed, heads tiling the embedding.
func tinyInitConfig(t testing.TB, arch string) Config {
	t.Helper()
	c, err := ArchConfig(arch)
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 37, 32, 2, 4, 2, 8, 48, 64
	c.RopeDims = 8
	if arch == "gpt2" {
		c.KVHeads = 4
	}
	return c
}

func randomBytes(t *testing.T, c Config, o InitOptions) []byte {
	t.Helper()
	h, src, err := RandomGGUF(c, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := gguf.Write(&b, h, src); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRandomModelLoadsAndRuns: init → write → Open → forward gives finite,
// varied logits, for every architecture and float type.
func TestRandomModelLoadsAndRuns(t *testing.T) {
	for _, arch := range Architectures() {
		for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
			t.Run(fmt.Sprintf("%s/%v", arch, dt), func(t *testing.T) {
				c := tinyInitConfig(t, arch)
				path := filepath.Join(t.TempDir(), "m.gguf")
				if err := WriteRandom(path, c, InitOptions{Type: dt, Seed: 7, Tokenizer: tinyVocab(c.Vocab)}); err != nil {
					t.Fatal(err)
				}
				m, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if got := m.Config; got != c {
					t.Errorf("config read back %+v, want %+v", got, c)
				}
				if tmpl, _ := m.File().String("tokenizer.chat_template"); tmpl == "" {
					t.Error("chat template not copied")
				}
				s, err := m.NewState(Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				logits, err := s.Forward([]int32{1, 5, 9, 36, 0})
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
				for i, x := range logits {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("logit %d is %v", i, x)
					}
					lo, hi = min(lo, x), max(hi, x)
				}
				if hi-lo < 1e-3 {
					t.Errorf("logits all within %g of each other: the weights look constant", hi-lo)
				}
			})
		}
	}
}

// TestRandomDeterministic: the bytes depend on the seed only, not on the
// number of threads drawing them.
func TestRandomDeterministic(t *testing.T) {
	c := tinyInitConfig(t, "llama")
	c.Vocab = 3000 // token_embd spans two 64 Ki chunks
	a := randomBytes(t, c, InitOptions{Type: tensor.F16, Seed: 3, Threads: 1})
	b := randomBytes(t, c, InitOptions{Type: tensor.F16, Seed: 3, Threads: 3})
	if !bytes.Equal(a, b) {
		t.Error("1 thread and 3 threads wrote different files")
	}
	d := randomBytes(t, c, InitOptions{Type: tensor.F16, Seed: 4, Threads: 1})
	if bytes.Equal(a, d) {
		t.Error("seeds 3 and 4 wrote the same file")
	}
}

// TestRandomStatistics: matrices ~ N(0, std), residual projections
// N(0, std/√(2L)), norms one, biases zero; and RandomSource gives exactly
// the values of an F32 file.
func TestRandomStatistics(t *testing.T) {
	c := tinyInitConfig(t, "gpt2")
	c.Vocab, c.Embd, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.Layers = 500, 128, 4, 4, 32, 512, 8
	o := InitOptions{Type: tensor.F32, Seed: 11, Std: 0.05}
	f, err := gguf.Parse(randomBytes(t, c, o))
	if err != nil {
		t.Fatal(err)
	}
	src, err := RandomSource(c, o)
	if err != nil {
		t.Fatal(err)
	}
	res := 0.05 / math.Sqrt(2*8)
	for _, tc := range []struct {
		name     string
		mean, sd float64
	}{
		{"token_embd.weight", 0, 0.05}, {"position_embd.weight", 0, 0.05}, {"blk.3.attn_qkv.weight", 0, 0.05},
		{"blk.3.attn_output.weight", 0, res}, {"blk.7.ffn_down.weight", 0, res}, {"blk.0.ffn_up.weight", 0, 0.05},
		{"blk.1.attn_norm.weight", 1, 0}, {"blk.1.ffn_up.bias", 0, 0}, {"output_norm.bias", 0, 0},
	} {
		ti, ok := f.Tensor(tc.name)
		if !ok {
			t.Fatalf("no tensor %q", tc.name)
		}
		x, err := tensor.New(tc.name, ti.DType, f.TensorData(ti), int(ti.Shape[0]), int(ti.Elements()/ti.Shape[0]))
		if err != nil {
			t.Fatal(err)
		}
		v, err := x.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		var sum, ss float64
		for _, e := range v {
			sum += float64(e)
		}
		mean := sum / float64(len(v))
		for _, e := range v {
			ss += (float64(e) - mean) * (float64(e) - mean)
		}
		sd := math.Sqrt(ss / float64(len(v)))
		// With n ≥ 16 Ki samples the sample mean is within 5 sd/√n and the
		// sample sd within 5% of the truth far beyond any seed's bad luck.
		n := float64(len(v))
		if math.Abs(mean-tc.mean) > 5*tc.sd/math.Sqrt(n)+1e-12 || math.Abs(sd-tc.sd) > 0.05*tc.sd+1e-12 {
			t.Errorf("%s: mean %.5f sd %.5f over %d values, want %g and %g", tc.name, mean, sd, len(v), tc.mean, tc.sd)
		}
		st, ok, err := src(tc.name)
		if err != nil || !ok {
			t.Fatalf("RandomSource(%q): ok %v, %v", tc.name, ok, err)
		}
		w, _ := st.Float32s()
		if !slicesEqual(v, w) {
			t.Errorf("%s: RandomSource differs from the file", tc.name)
		}
	}
	if _, ok, _ := src("blk.0.attn_q.weight"); ok {
		t.Error("RandomSource made a tensor gpt2 does not have")
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestRandomStreams: writing a model holds a few chunks, not its tensors:
// 64 MB of F32 weights are written with a few MB allocated.
func TestRandomStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 16 M numbers")
	}
	c := tinyInitConfig(t, "llama")
	c.Vocab, c.Embd, c.Heads, c.KVHeads, c.HeadDim, c.RopeDims, c.Layers = 32000, 256, 4, 4, 64, 64, 1
	h, src, err := RandomGGUF(c, InitOptions{Type: tensor.F32, Seed: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cw := &countingWriter{}
	if err := gguf.Write(cw, h, src); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if cw.n < 64e6 || alloc > 16<<20 {
		t.Errorf("wrote %d bytes with %d bytes allocated; want ≥ 64 MB written with ≤ 16 MiB allocated", cw.n, alloc)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestRandomErrors(t *testing.T) {
	llama := tinyInitConfig(t, "llama")
	qwen := tinyInitConfig(t, "qwen2")
	qwen.HeadDim = 16
	qwen.RopeDims = 16
	noRope := llama
	noRope.RopeDims = 4
	for _, tc := range []struct {
		name string
		c    Config
		o    InitOptions
		want string
	}{
		{"quantized type", llama, InitOptions{Type: tensor.Q4_0}, "F32, F16 or BF16"},
		{"tied gpt2", tinyInitConfig(t, "gpt2"), InitOptions{Type: tensor.F16, Tied: true}, "output.weight"},
		{"vocab size", llama, InitOptions{Type: tensor.F16, Tokenizer: tinyVocab(40)}, "differs from the 40 tokens"},
		{"foreign key", llama, InitOptions{Type: tensor.F16, Tokenizer: []gguf.KV{{Key: "general.name", Value: gguf.NewValue("x")}}}, "tokenizer. prefix"},
		{"qwen2 heads", qwen, InitOptions{Type: tensor.F16}, "heads × head width"},
		{"llama rope", noRope, InitOptions{Type: tensor.F16}, "rotates whole heads"},
		{"negative std", llama, InitOptions{Type: tensor.F16, Std: -1}, "standard deviation"},
		{"bad config", Config{Arch: "llama"}, InitOptions{Type: tensor.F16}, "bad llama config"},
	} {
		_, _, err := RandomGGUF(tc.c, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := ArchConfig("mamba"); err == nil {
		t.Error("ArchConfig(mamba) succeeded")
	}
	if err := WriteRandom(filepath.Join(t.TempDir(), "no", "such", "dir", "m.gguf"), llama, InitOptions{Type: tensor.F16}); err == nil || !strings.Contains(err.Error(), "m.gguf") {
		t.Errorf("writing into a missing directory: %v", err)
	}
}

// TestRandomMatchesConverter makes, for each tiny reference model written
// by llama.cpp's tools, a random model of the same shape and vocabulary and
// checks that it has the very same tensors (names, shapes, types) and every
// metadata key of the reference with the same type and value: what
// llama.cpp's loader reads is then the same.
func TestRandomMatchesConverter(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		t.Run(arch, func(t *testing.T) {
			ref, err := gguf.Open(testkit.Shared(t, "reference", "models", "tiny-"+arch+"-f16.gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			c, err := ConfigFromGGUF(ref)
			if err != nil {
				t.Fatal(err)
			}
			kv, n, err := TokenizerKV(ref)
			if err != nil || n != c.Vocab {
				t.Fatalf("TokenizerKV: %d tokens, %v (vocab %d)", n, err, c.Vocab)
			}
			_, hasOutput := ref.Tensor("output.weight")
			h, _, err := RandomGGUF(c, InitOptions{Type: tensor.F16, Tokenizer: kv, Tied: !hasOutput})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, ti := range h.Tensors {
				got[ti.Name] = fmt.Sprint(ti.Shape, ti.DType)
			}
			for _, ti := range ref.Tensors {
				want := fmt.Sprint(ti.Shape, ti.DType)
				if got[ti.Name] != want {
					t.Errorf("tensor %s: ours %q, llama.cpp's %q", ti.Name, got[ti.Name], want)
				}
				delete(got, ti.Name)
			}
			for name := range got {
				t.Errorf("tensor %s is ours only", name)
			}
			for _, e := range ref.KV {
				if e.Key == "general.name" {
					continue
				}
				v, ok := h.Lookup(e.Key)
				if !ok {
					t.Errorf("key %s missing", e.Key)
					continue
				}
				if v.Type != e.Value.Type || v.Elem != e.Value.Elem || fmt.Sprint(v.X) != fmt.Sprint(e.Value.X) {
					t.Errorf("key %s: ours %v %v, llama.cpp's %v %v", e.Key, v.Type, v.X, e.Value.Type, e.Value.X)
				}
			}
		})
	}
}
