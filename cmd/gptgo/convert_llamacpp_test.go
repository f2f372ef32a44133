// Reference: llama.cpp's convert_hf_to_gguf.py (snapshot c392e5094); the fixtures in
// testdata/llamacpp-convert are its output's manifests, made by tools/convert-compare/run.sh.

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/safetensors"
)

// convertManifest is a GGUF file as tools/convert-compare/manifest.py
// writes it: keys with gguf-py's type names and JSON values, tensors with
// type, shape (ne order) and the SHA-256 of their bytes.
type convertManifest struct {
	Keys    map[string]manifestKey    `json:"keys"`
	Tensors map[string]manifestTensor `json:"tensors"`
	Skipped []string                  `json:"skipped_key_prefixes"`
}

type manifestKey struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type manifestTensor struct {
	Type   string  `json:"type"`
	Shape  []int64 `json:"shape"`
	SHA256 string  `json:"sha256"`
}

// pyTypeNames are gguf-py's GGUFValueType names, lower-cased, by type.
var pyTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func manifestOf(t *testing.T, path string, skip []string) convertManifest {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := convertManifest{Keys: map[string]manifestKey{}, Tensors: map[string]manifestTensor{}}
	for _, kv := range f.KV {
		if slices.ContainsFunc(skip, func(p string) bool { return strings.HasPrefix(kv.Key, p) }) {
			continue
		}
		typ := pyTypeNames[kv.Value.Type]
		if kv.Value.Type == gguf.TypeArray {
			typ += ":" + pyTypeNames[kv.Value.Elem]
		}
		// Through JSON, as the fixture's values went: float32 values as
		// the float64 they equal, as Python holds them.
		x := kv.Value.X
		switch v := x.(type) {
		case float32:
			x = float64(v)
		case []float32:
			f := make([]float64, len(v))
			for i, e := range v {
				f[i] = float64(e)
			}
			x = f
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		json.Unmarshal(b, &v)
		m.Keys[kv.Key] = manifestKey{Type: typ, Value: v}
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		sum := sha256.Sum256(f.TensorData(ti))
		m.Tensors[ti.Name] = manifestTensor{Type: ti.DType.String(), Shape: ti.Shape, SHA256: hex.EncodeToString(sum[:])}
	}
	return m
}

// tieGPT2 leaves lm_head out of an exported GPT-2 checkpoint and marks it
// tied, as Hugging Face saves GPT-2 (tools/convert-compare/drop_tensor.py).
func tieGPT2(t *testing.T, dir string) {
	t.Helper()
	ck, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	var infos []*safetensors.TensorInfo
	for i := range ck.Tensors {
		ti := &ck.Tensors[i]
		if ti.Name == "lm_head.weight" {
			continue
		}
		ts = append(ts, safetensors.Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape})
		infos = append(infos, ti)
	}
	out := filepath.Join(dir, "tied.safetensors")
	err = safetensors.WriteFile(out, ts, nil, func(i int, w io.Writer) error { _, err := w.Write(ck.Data(infos[i])); return err })
	ck.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(out, filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["tie_word_embeddings"] = true
	b, _ = json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// TestConvertMatchesLlamaCpp converts the checkpoints of
// tools/convert-compare/run.sh with gptgo convert and compares the result
// with what llama.cpp's converter made of them: every tensor's type, shape
// and bytes, every key and value. Allowed differences, each for a reason:
// general.name (llama.cpp title-cases the directory's name, gptgo keeps
// it), and for SentencePiece tokenizer.ggml.unknown_token_id, which gptgo
// writes from tokenizer_config.json and llama.cpp's converter leaves out
// when there is no tokenizer.json (llama.cpp then takes the same id 0).
// Tensor order is not compared: llama.cpp keeps the checkpoint's, gptgo
// writes the model's; loaders look tensors up by name. The feed-forward
// width is 4 × the embedding width, because llama.cpp's converter writes
// that for GPT-2 whatever n_inner says (gptgo writes n_inner).
func TestConvertMatchesLlamaCpp(t *testing.T) {
	for _, a := range []string{"llama", "qwen2", "gpt2", "bert"} {
		t.Run(a, func(t *testing.T) {
			vocab := testkit.Shared(t, "reference", "models", "tiny-"+a+"-f32.gguf")
			b, err := os.ReadFile(filepath.Join("testdata", "llamacpp-convert", a+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want convertManifest
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			model, hfDir, out := filepath.Join(dir, a+".gguf"), filepath.Join(dir, "hf-"+a), filepath.Join(dir, "out.gguf")
			for _, args := range [][]string{
				{"init", model, "--arch", a, "--dim", "16", "--layers", "1", "--heads", "2", "--ff", "64", "--ctx", "64", "--type", "f16", "--seed", "1", "--vocab-from", vocab, "--quiet"},
				{"export", model, hfDir, "--quiet"},
			} {
				if _, stderr, code := runCLI(t, "", args...); code != 0 {
					t.Fatalf("%s: exit %d\n%s", args[0], code, stderr)
				}
			}
			if a == "gpt2" {
				tieGPT2(t, hfDir)
			}
			if _, stderr, code := runCLI(t, "", "convert", hfDir, out, "--quiet"); code != 0 {
				t.Fatalf("convert: exit %d\n%s", code, stderr)
			}
			got := manifestOf(t, out, want.Skipped)
			for name, w := range want.Tensors {
				if g, ok := got.Tensors[name]; !ok {
					t.Errorf("tensor %s: missing", name)
				} else if !reflect.DeepEqual(g, w) {
					t.Errorf("tensor %s: %v %v %.12s, llama.cpp's %v %v %.12s", name, g.Type, g.Shape, g.SHA256, w.Type, w.Shape, w.SHA256)
				}
			}
			for name := range got.Tensors {
				if _, ok := want.Tensors[name]; !ok {
					t.Errorf("tensor %s: not in llama.cpp's file", name)
				}
			}
			allowedExtra := map[string]bool{"tokenizer.ggml.unknown_token_id": a == "llama"}
			for k, w := range want.Keys {
				if k == "general.name" {
					continue
				}
				if g, ok := got.Keys[k]; !ok {
					t.Errorf("key %s: missing (llama.cpp: %v)", k, w.Value)
				} else if !reflect.DeepEqual(g, w) {
					t.Errorf("key %s: %v %.80v, llama.cpp's %v %.80v", k, g.Type, g.Value, w.Type, w.Value)
				}
			}
			for k := range got.Keys {
				if _, ok := want.Keys[k]; !ok && k != "general.name" && !allowedExtra[k] {
					t.Errorf("key %s: not in llama.cpp's file", k)
				}
			}
		})
	}
}
