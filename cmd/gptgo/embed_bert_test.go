// Reference: ../shared/reference/README.md ("BERT embedding models"): llama-embedding's outputs for
// tiny-bert-{f32,f16,q8_0}.gguf, which `gptgo embed --json` must reproduce.

package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// bertRef is one line of ../shared/reference/outputs/tiny-bert-*.jsonl.
type bertRef struct {
	Text      string    `json:"text"`
	Tokens    []int32   `json:"tokens"`
	Embedding []float64 `json:"embedding"`
}

func readBertRefs(t *testing.T, kind string) []bertRef {
	t.Helper()
	return testkit.ReadJSONL[bertRef](t, testkit.Shared(t, "reference", "outputs", "tiny-bert-"+kind+".jsonl"))
}

func cosine32(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestEmbedBertMatchesLlamaCpp runs `gptgo embed MODEL TEXT... --json` on
// each tiny-bert file with every reference text as an argument (newlines
// and tabs inside them kept): the records' tokens must equal llama.cpp's
// and the vectors have cosine ≥ 0.9999 with llama-embedding's.
func TestEmbedBertMatchesLlamaCpp(t *testing.T) {
	for _, kind := range []string{"f32", "f16", "q8_0"} {
		refs := readBertRefs(t, kind)
		path := testkit.Shared(t, "reference", "models", "tiny-bert-"+kind+".gguf")
		args := []string{"embed", path, "--json", "--threads", "2"}
		for _, r := range refs {
			args = append(args, r.Text)
		}
		out, errOut, code := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(refs) {
			t.Fatalf("%s: %d records, want %d", kind, len(lines), len(refs))
		}
		worst := 1.0
		for i, l := range lines {
			var r embedRecord
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			if r.Index != i || r.Text != refs[i].Text || !slices.Equal(r.Tokens, refs[i].Tokens) {
				t.Errorf("%s record %d: index %d, text %q, tokens %v; want %q %v", kind, i, r.Index, r.Text, r.Tokens, refs[i].Text, refs[i].Tokens)
			}
			cos := cosine32(r.Embedding, refs[i].Embedding)
			worst = min(worst, cos)
			if cos < 0.9999 {
				t.Errorf("%s text %d: cosine %.7f with llama.cpp, want ≥ 0.9999", kind, i, cos)
			}
		}
		t.Logf("%s: worst cosine %.9f over %d texts", kind, worst, len(refs))
	}
}

// TestEmbedBertInitShapes makes a bert model of another shape with `gptgo
// init --arch bert` (the tiny-bert vocabulary), checks that `gptgo embed`
// gives EncoderState's CLS vectors, and that --pooling none gives one unit
// vector per token, one text per record.
func TestEmbedBertInitShapes(t *testing.T) {
	vocab := testkit.Shared(t, "reference", "models", "tiny-bert-f32.gguf")
	path := filepath.Join(t.TempDir(), "bert.gguf")
	if _, errOut, code := runCLI(t, "", "init", "--arch", "bert", "--dim", "96", "--layers", "3", "--heads", "6", "--ff", "200", "--ctx", "64",
		"--vocab-from", vocab, "--type", "f32", "--std", "0.2", "--quiet", path); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	texts := []string{"the cat sat on the mat", "[CLS] a 猫 and a dog"}
	e, err := model.OpenEncoder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Embd != 96 || e.Layers != 3 || e.Heads != 6 || e.HeadDim != 16 || e.Pooling != model.PoolMean {
		t.Fatalf("init wrote %+v, pooling %s", e.Config, e.Pooling)
	}
	tok, err := tokenizer.FromGGUF(e.File())
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.NewState(model.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	out, errOut, code := runCLI(t, "", "embed", path, texts[0], texts[1], "--json", "--pooling", "cls")
	if code != 0 {
		t.Fatalf("cls: exit %d: %s", code, errOut)
	}
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r embedRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		ids := tok.Encode(texts[i], tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		want, err := st.Embed(context.Background(), ids, model.EmbedOptions{Pooling: model.PoolCLS, Normalize: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Tokens, ids) || !slices.Equal(r.Embedding, want) {
			t.Errorf("cls record %d: tokens %v (want %v) or a vector other than EncoderState's", i, r.Tokens, ids)
		}
	}

	out, errOut, code = runCLI(t, "", "embed", path, texts[0], texts[1], "--json", "--pooling", "none")
	if code != 0 {
		t.Fatalf("none: exit %d: %s", code, errOut)
	}
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r tokenEmbedRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Embedding) != len(r.Tokens) || len(r.Tokens) < 3 {
			t.Fatalf("none record %d: %d vectors for %d tokens", i, len(r.Embedding), len(r.Tokens))
		}
		for k, v := range r.Embedding {
			var ss float64
			for _, x := range v {
				ss += float64(x) * float64(x)
			}
			if len(v) != 96 || math.Abs(ss-1) > 1e-5 {
				t.Errorf("none record %d token %d: %d values, squared norm %g", i, k, len(v), ss)
			}
		}
	}
	// Plain output of none: a line per token, a blank line after each text.
	out, _, code = runCLI(t, "", "embed", path, texts[0], "--pooling", "none")
	ids := tok.Encode(texts[0], tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if code != 0 || strings.Count(out, "\n") != len(ids)+1 || !strings.HasSuffix(out, "\n\n") {
		t.Errorf("plain none: exit %d, %d lines for %d tokens", code, strings.Count(out, "\n"), len(ids))
	}
	if _, errOut, code := runCLI(t, "", "embed", path, "x", "--kv-type", "f32"); code != 1 || !strings.Contains(errOut, "no KV cache") {
		t.Errorf("--kv-type on bert: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "run", path, "hello"); code != 1 || !strings.Contains(errOut, "encoder") {
		t.Errorf("run on bert: exit %d, %q; want an error naming it an encoder", code, errOut)
	}
}

// TestEmbedDecoderPoolingNone checks --pooling none on a decoder (the
// embedded default model): one vector per token, the last of which is
// --pooling last's vector.
func TestEmbedDecoderPoolingNone(t *testing.T) {
	text := "the cat sat on the mat"
	out, errOut, code := runCLI(t, "", "embed", "--model", "default", text, "--json", "--pooling", "none", "--threads", "2")
	if code != 0 {
		t.Fatalf("none: exit %d: %s", code, errOut)
	}
	var all tokenEmbedRecord
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI(t, "", "embed", "--model", "default", text, "--json", "--pooling", "last", "--threads", "2")
	if code != 0 {
		t.Fatalf("last: exit %d: %s", code, errOut)
	}
	var last embedRecord
	if err := json.Unmarshal([]byte(out), &last); err != nil {
		t.Fatal(err)
	}
	if n := len(all.Embedding); n != len(all.Tokens) || n < 2 || !slices.Equal(all.Tokens, last.Tokens) {
		t.Fatalf("%d vectors for tokens %v (last: %v)", n, all.Tokens, last.Tokens)
	}
	got := all.Embedding[len(all.Embedding)-1]
	want := make([]float64, len(last.Embedding))
	for i, v := range last.Embedding {
		want[i] = float64(v)
	}
	if cos := cosine32(got, want); cos < 0.999999 {
		t.Errorf("last token's vector has cosine %.7f with --pooling last's", cos)
	}
}

// TestQuantizeBertMatchesLlamaQuantize checks that `gptgo quantize` turns
// tiny-bert-f32 into llama-quantize's tiny-bert-q8_0 byte for byte (the
// F32 exceptions for positions, token types, norms and biases included).
func TestQuantizeBertMatchesLlamaQuantize(t *testing.T) {
	in := testkit.Shared(t, "reference", "models", "tiny-bert-f32.gguf")
	want, err := os.ReadFile(testkit.Shared(t, "reference", "models", "tiny-bert-q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "q8.gguf")
	if _, errOut, code := runCLI(t, "", "quantize", in, out, "q8_0"); code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("gptgo quantize gave %d bytes that differ from llama-quantize's %d", len(got), len(want))
	}
}
