// Reference: ../shared/reference/README.md (the tiny models, their llama.cpp
// outputs and the pass thresholds for float files).

package hf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// extraKeys may appear in a converted file without being in the original:
// llama.cpp's converter writes them, and with the original's absent value
// llama.cpp reads the same (pre is not consulted for SentencePiece; the
// vocabulary size equals the embedding's rows; the quantization version
// only matters to quantized tensors; general.type "model" is what an absent
// type means; general.size_label is a description llama.cpp does not read).
var extraKeys = map[string]bool{"llama.vocab_size": true, "tokenizer.ggml.pre": true, "general.quantization_version": true, "general.type": true, "general.size_label": true}

// TestRoundTripReference: export → convert of every float reference model
// gives the same tensors bit for bit, equivalent metadata, llama.cpp's
// tokens for the reference prompts, and llama.cpp's logits.
func TestRoundTripReference(t *testing.T) {
	dir := testkit.Shared(t, "reference", "models")
	for _, name := range []string{"tiny-llama-f32", "tiny-llama-f16", "tiny-qwen2-f32", "tiny-qwen2-f16", "tiny-gpt2-f32", "tiny-gpt2-f16", "tiny-bert-f32", "tiny-bert-f16"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name+".gguf")
			hfDir := filepath.Join(t.TempDir(), "hf")
			if err := Export(context.Background(), src, hfDir, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "back.gguf")
			if _, err := Convert(context.Background(), hfDir, out, Options{}); err != nil {
				t.Fatal(err)
			}
			a, err := gguf.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			compareFiles(t, a, b)
			outputs := filepath.Join(filepath.Dir(dir), "outputs", name+".jsonl")
			if strings.HasPrefix(name, "tiny-bert") {
				checkEmbeddings(t, out, outputs)
			} else {
				checkLogits(t, out, outputs)
			}
		})
	}
}

func compareFiles(t *testing.T, a, b *gguf.File) {
	t.Helper()
	if len(a.Tensors) != len(b.Tensors) {
		t.Errorf("%d tensors, want %d", len(b.Tensors), len(a.Tensors))
	}
	for i := range a.Tensors {
		ta := &a.Tensors[i]
		tb, ok := b.Tensor(ta.Name)
		if !ok {
			t.Errorf("tensor %s missing", ta.Name)
			continue
		}
		if ta.DType != tb.DType || !reflect.DeepEqual(ta.Shape, tb.Shape) {
			t.Errorf("tensor %s: %v %v, want %v %v", ta.Name, tb.DType, tb.Shape, ta.DType, ta.Shape)
			continue
		}
		if !bytes.Equal(a.TensorData(ta), b.TensorData(tb)) {
			t.Errorf("tensor %s: data differs", ta.Name)
		}
	}
	for _, kv := range a.KV {
		if kv.Key == "general.name" {
			continue
		}
		got, ok := b.Lookup(kv.Key)
		if !ok {
			t.Errorf("key %s missing", kv.Key)
			continue
		}
		if got.Type != kv.Value.Type || got.Elem != kv.Value.Elem || !reflect.DeepEqual(got.X, kv.Value.X) {
			t.Errorf("key %s = %v (%v), want %v (%v)", kv.Key, short(got.X), got.Type, short(kv.Value.X), kv.Value.Type)
		}
	}
	for _, kv := range b.KV {
		if _, ok := a.Lookup(kv.Key); !ok && !extraKeys[kv.Key] && kv.Key != "general.name" {
			t.Errorf("extra key %s = %v", kv.Key, short(kv.Value.X))
		}
	}
}

func short(x any) string {
	s := strings.ReplaceAll(strings.TrimSpace(strings.Join(strings.Fields(strings.TrimSpace(fmtAny(x))), " ")), "\n", " ")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func fmtAny(x any) string { b, _ := json.Marshal(x); return string(b) }

// checkLogits runs the reference prompts through the converted file: its
// tokenizer must give llama.cpp's tokens and its logits llama.cpp's top-8
// within the README's float threshold (0.02).
func checkLogits(t *testing.T, path, outputs string) {
	t.Helper()
	f, err := os.Open(outputs)
	if err != nil {
		t.Skipf("no reference outputs: %v", err)
	}
	defer f.Close()
	type refCase struct {
		Prompt string         `json:"prompt"`
		Tokens []int32        `json:"tokens"`
		TopK   [][][2]float64 `json:"topk"`
	}
	tok, err := tokenizer.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewState(model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	var maxD float64
	n := 0
	for sc.Scan() && n < 6 {
		var rc refCase
		if err := json.Unmarshal(sc.Bytes(), &rc); err != nil {
			t.Fatal(err)
		}
		n++
		if got := tok.Encode(rc.Prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}); !reflect.DeepEqual(got, rc.Tokens) {
			t.Errorf("prompt %q: tokens %v, want %v", rc.Prompt, got, rc.Tokens)
		}
		s.Reset()
		err := s.ForwardAll(rc.Tokens, func(i int, logits []float32) error {
			for _, e := range rc.TopK[i] {
				maxD = math.Max(maxD, math.Abs(float64(logits[int(e[0])])-e[1]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d prompts: max |Δlogit| %.4f against llama.cpp", n, maxD)
	if maxD > 0.02 {
		t.Errorf("max |Δlogit| %.4f > 0.02", maxD)
	}
}

// checkEmbeddings embeds the reference texts with the converted BERT: its
// tokenizer must give llama.cpp's tokens and its pooled, normalised vector
// llama.cpp's within the README's bounds (cosine ≥ 0.9999, |Δ| ≤ 1e-3).
func checkEmbeddings(t *testing.T, path, outputs string) {
	t.Helper()
	f, err := os.Open(outputs)
	if err != nil {
		t.Skipf("no reference outputs: %v", err)
	}
	defer f.Close()
	tok, err := tokenizer.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := model.OpenEncoder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.NewState(model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	worst := 1.0
	for sc.Scan() {
		var rc struct {
			Text      string    `json:"text"`
			Tokens    []int32   `json:"tokens"`
			Embedding []float64 `json:"embedding"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rc); err != nil {
			t.Fatal(err)
		}
		// llama-embedding parses special tokens in the text ("[CLS]" is 101).
		if got := tok.Encode(rc.Text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}); !reflect.DeepEqual(got, rc.Tokens) {
			t.Errorf("text %q: tokens %v, want %v", short(rc.Text), got, rc.Tokens)
			continue
		}
		v, err := s.Embed(context.Background(), rc.Tokens, model.EmbedOptions{Pooling: model.PoolMean, Normalize: true})
		if err != nil {
			t.Fatal(err)
		}
		var dot, na, nb float64
		for i, w := range rc.Embedding {
			dot += float64(v[i]) * w
			na += float64(v[i]) * float64(v[i])
			nb += w * w
			if math.Abs(float64(v[i])-w) > 1e-3 {
				t.Errorf("text %q: component %d = %v, want %v", rc.Text, i, v[i], w)
				break
			}
		}
		worst = math.Min(worst, dot/math.Sqrt(na*nb))
	}
	t.Logf("worst cosine with llama.cpp's embeddings %.8f", worst)
	if worst < 0.9999 {
		t.Errorf("cosine %.6f < 0.9999", worst)
	}
}
