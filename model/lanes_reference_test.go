// Reference: docs/llamacpp-compat.md section g (llama.cpp's logits for the reference F32 models quantized to
// Q4_1, Q5_0, Q5_1 and IQ4_NL: testdata/llamacpp/*.jsonl and how they were made).

package model

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/quant"
)

// laneTypeFiles are the reference files for the weight types whose dots
// follow llama.cpp's AVX2 lanes (kernel/dot_legacy_lanes.go): each tiny
// F32 reference model of ../shared quantized by gptgo to the type (bytes
// llama-quantize writes too), with llama.cpp's outputs for it in
// testdata/llamacpp/<name>.jsonl, in the format of ../shared's outputs.
var laneTypeFiles = func() []string {
	var names []string
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		for _, ft := range []string{"q4_1", "q5_0", "q5_1", "iq4_nl"} {
			names = append(names, "tiny-"+arch+"-"+ft)
		}
	}
	return names
}()

// laneExact are the files whose logits equal llama.cpp's at every position
// (|Δ| ≤ 1e-4). In the other six, every position agrees exactly up to one
// deep in a long prompt (the 10th to the 35th token), where one 8-bit
// activation rounds the other way and moves later logits by up to 0.17: the
// matmuls of these types give llama.cpp's bits (tensor's
// TestLaneMatMulsMatchLlamaCpp), so the last-bit difference that tips that
// rounding comes from another part of the layer (not traced; the attention
// over longer contexts is where it starts). Those files get the quantized
// bounds of TestReferenceLogits.
var laneExact = map[string]bool{
	"tiny-llama-q4_1": true, "tiny-qwen2-iq4_nl": true,
	"tiny-gpt2-q4_1": true, "tiny-gpt2-q5_0": true, "tiny-gpt2-q5_1": true, "tiny-gpt2-iq4_nl": true,
}

func init() {
	for name := range laneExact {
		bitExactModels[name] = true
	}
	// Prompt 2's last position is one of those past the flip, where
	// llama.cpp's first greedy token is 0.051 below ours.
	nearTieModels["tiny-llama-iq4_nl"] = "one 8-bit activation flip at prompt 2's 18th token (see laneExact)"
}

// TestLaneTypesReferenceLogits checks every prompt position's top-8 logits
// and the greedy continuation of the Q4_1, Q5_0, Q5_1 and IQ4_NL files
// against llama.cpp's, with TestReferenceLogits' bounds (for laneExact,
// those of bitExactModels: |Δ| ≤ 1e-4, the printed precision): the prompt goes through MatMul's
// batch path (tiles, IQ4_NL's tinyBLAS order), the greedy tokens through
// the single-row dots.
func TestLaneTypesReferenceLogits(t *testing.T) {
	for _, name := range laneTypeFiles {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && !strings.HasSuffix(name, "-q4_1") {
				t.Skip("-short: only the q4_1 files")
			}
			arch, ftName, _ := strings.Cut(strings.TrimPrefix(name, "tiny-"), "-")
			src := testkit.Shared(t, "reference", "models", "tiny-"+arch+"-f32.gguf")
			ft, err := quant.ParseFileType(ftName)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), name+".gguf")
			if _, err := quant.QuantizeFile(context.Background(), src, path, ft, quant.Options{Threads: 2}); err != nil {
				t.Fatal(err)
			}
			checkReference(t, name, path, filepath.Join("testdata", "llamacpp", name+".jsonl"), false)
		})
	}
}
