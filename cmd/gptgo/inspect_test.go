// Reference: GGUF specification (ggml/docs/gguf.md); checks the inspect command on a writer-made file.

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// writeGGUF writes h (after Layout) with every data byte set to 1 and
// returns the path.
func writeGGUF(t *testing.T, h *gguf.Header) string {
	t.Helper()
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	err := gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		_, err := w.Write([]byte(strings.Repeat("\x01", int(h.Tensors[i].Size))))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func inspectSample(t *testing.T) string {
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
	}
	return writeGGUF(t, &gguf.Header{
		KV: []gguf.KV{
			{Key: "general.architecture", Value: gguf.NewValue("llama")},
			{Key: "tokenizer.ggml.tokens", Value: gguf.NewValue(tokens)},
			{Key: "odd.nan", Value: gguf.NewValue(float32(math.NaN()))},
			{Key: "odd.nested", Value: gguf.NewValue([]gguf.Value{gguf.NewValue([]int32{1, 2, 3})})},
		},
		Tensors: []gguf.TensorInfo{
			{Name: "a", Shape: []int64{64}, DType: tensor.F32},
			{Name: "b", Shape: []int64{64, 2}, DType: tensor.Q8_0},
		},
	})
}

func TestInspectText(t *testing.T) {
	path := inspectSample(t)
	out, errOut, code := runCLI(t, "", "inspect", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"GGUF v3", "metadata (4 keys)", "[string × 100]", `"tok0", "tok1"`, `"tok7", …]`, "NaN", "[[i32 × 3]]",
		"tensors (2)", "[64, 2]", "totals: 2 tensors, 192 parameters", "Q8_0        1 tensor ", "F32         1 tensor ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tok8") {
		t.Errorf("long array not summarised:\n%s", out)
	}
}

func TestInspectJSON(t *testing.T) {
	path := inspectSample(t)
	for _, full := range []bool{false, true} {
		args := []string{"inspect", "--json", path}
		if full {
			args = append(args, "--full")
		}
		out, errOut, code := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rep inspectReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		tokens := rep.Metadata[1]
		wantLen := 8
		if full {
			wantLen = 100
		}
		if tokens.Len != 100 || len(tokens.Value.([]any)) != wantLen || rep.Metadata[2].Value != "NaN" {
			t.Errorf("full=%v: tokens len %d shown %d, nan %v", full, tokens.Len, len(tokens.Value.([]any)), rep.Metadata[2].Value)
		}
		q := rep.Totals.ByDType["Q8_0"]
		if rep.Totals.Parameters != 192 || q.Bytes != 136 || q.Tensors != 1 || rep.Tensors[1].Offset%32 != 0 {
			t.Errorf("totals %+v, tensors %+v", rep.Totals, rep.Tensors)
		}
	}
}

func TestInspectErrors(t *testing.T) {
	if _, _, code := runCLI(t, "", "inspect", "a.gguf", "b.gguf"); code != 2 {
		t.Errorf("two files: exit %d, want 2", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("GGUF\x01\x00\x00\x00"), 0o644)
	if _, errOut, code := runCLI(t, "", "inspect", bad); code != 1 || !strings.Contains(errOut, "version 1 not supported") {
		t.Errorf("bad file: exit %d, %s", code, errOut)
	}
}

func TestInspectReferenceModel(t *testing.T) {
	path := testkit.Shared(t, "reference", "models", "tiny-llama-q4_k_m.gguf")
	out, errOut, code := runCLI(t, "", "inspect", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// 21 tensors: Q4_K for most 2-D weights, Q6_K for output and the layer-1 bumps, F32 norms.
	if rep.Totals.Tensors != 21 || rep.Totals.ByDType["Q6_K"].Tensors != 3 || rep.Totals.ByDType["F32"].Tensors != 5 {
		t.Errorf("totals %+v", rep.Totals)
	}
}
