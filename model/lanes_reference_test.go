// Reference: docs/llamacpp-compat.md sections g and h (llama.cpp's logits for the reference F32 models
// quantized to Q4_1, Q5_0, Q5_1 and IQ4_NL, and tiny-gpt2 to Q5_K_M, Q2_K, IQ4_XS and TQ1_0:
// testdata/llamacpp/*.jsonl and how they were made, testdata/llamacpp/README.md).

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
// follow llama.cpp's AVX2 lanes (kernel/dot_legacy_lanes.go, dot_k.go,
// dot_k_lanes.go, dot_kiq4xs.go, dot_ktq.go) and that ../shared's outputs
// do not cover: each tiny F32 reference model of ../shared quantized by
// gptgo to the type (bytes llama-quantize writes too), with llama.cpp's
// outputs for it in testdata/llamacpp/<name>.jsonl, in the format of
// ../shared's outputs. The K-family mixes are checked on tiny-gpt2 only
// (no RoPE, see laneExact), to keep testdata small.
var laneTypeFiles = func() []string {
	var names []string
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		for _, ft := range []string{"q4_1", "q5_0", "q5_1", "iq4_nl"} {
			names = append(names, "tiny-"+arch+"-"+ft)
		}
	}
	for _, ft := range []string{"q5_k_m", "q2_k", "iq4_xs", "tq1_0"} {
		names = append(names, "tiny-gpt2-"+ft)
	}
	return names
}()

// laneExact are the files whose logits equal llama.cpp's at every position
// (|Δ| ≤ 1e-4). In the other six (llama and qwen2 files), the matmuls give
// llama.cpp's bits (tensor's TestLaneMatMulsMatchLlamaCpp) but RoPE does
// not: kernel.RopeNorm and RopeNeox round both products before the sum,
// where llama.cpp's gcc build contracts them to fma(x0, cos, −(x1·sin)) and
// fma(x0, sin, x1·cos), with cos and sin from glibc's cosf and sinf
// (kernel.RopeCache rounds float64 ones). About 14% of the rotated q and k
// values differ in their last bit; the F16 rounding of q and of the K cache
// hides nearly all of it, and once in a few thousand it does not: a q
// element rounds to the neighbouring half, one attention row moves by ~2e-4,
// one 8-bit activation of the next matmul flips, and that position's logits
// (and, through the cache, later ones) move by up to 0.17. Traced to the
// bit on tiny-qwen2-q4_1 (prompt 2, token 7, layer 1, head 1: q bits differ
// after rope_ext, then kq, softmax, kqv) against llama.cpp's own tensors;
// with RoPE computed that way all twelve files are exact (docs/
// llamacpp-compat.md section g). The shared files are exact only because
// no such flip happens on them. tiny-gpt2 has no RoPE. Those six get the
// quantized bounds of TestReferenceLogits until RoPE is changed.
var laneExact = map[string]bool{
	"tiny-llama-q4_1": true, "tiny-qwen2-iq4_nl": true,
	"tiny-gpt2-q4_1": true, "tiny-gpt2-q5_0": true, "tiny-gpt2-q5_1": true, "tiny-gpt2-iq4_nl": true,
	"tiny-gpt2-q5_k_m": true, "tiny-gpt2-q2_k": true, "tiny-gpt2-iq4_xs": true, "tiny-gpt2-tq1_0": true,
}

func init() {
	for name := range laneExact {
		bitExactModels[name] = true
	}
	// Prompt 2's last position is one of those past the flip, where
	// llama.cpp's first greedy token is 0.051 below ours.
	nearTieModels["tiny-llama-iq4_nl"] = "one 8-bit activation flip at prompt 2's 18th token, tipped by RoPE's last bit (see laneExact)"
}

// TestLaneTypesReferenceLogits checks every prompt position's top-8 logits
// and the greedy continuation of the Q4_1, Q5_0, Q5_1, IQ4_NL, Q5_K_M, Q2_K,
// IQ4_XS and TQ1_0 files against llama.cpp's, with TestReferenceLogits' bounds (for laneExact,
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
