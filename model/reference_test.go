// Reference: ../shared/reference/README.md (llama.cpp's logits and greedy tokens for the tiny models, and the pass thresholds).

package model

import (
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// refCase is one line of outputs/<model>.jsonl.
type refCase struct {
	Prompt   string         `json:"prompt"`
	Tokens   []int32        `json:"tokens"`
	TopK     [][][2]float64 `json:"topk"` // [position][rank] = (token id, logit)
	LastHead []float64      `json:"last_logits_head"`
	Greedy   []int32        `json:"greedy"`
}

func readRefCases(t *testing.T, path string) []refCase {
	t.Helper()
	return testkit.ReadJSONL[refCase](t, path)
}

var refModels = []string{
	"tiny-llama-f32", "tiny-llama-f16", "tiny-llama-q8_0", "tiny-llama-q4_0", "tiny-llama-q4_k_m", "tiny-llama-q6_k",
	"tiny-qwen2-f32", "tiny-qwen2-f16", "tiny-qwen2-q8_0", "tiny-qwen2-q4_0", "tiny-qwen2-q4_k_m", "tiny-qwen2-q6_k",
	"tiny-gpt2-f32", "tiny-gpt2-f16", "tiny-gpt2-q8_0", "tiny-gpt2-q4_0", "tiny-gpt2-q4_k_m", "tiny-gpt2-q6_k",
}

// bitExactModels are the files whose logits gptgo computes in llama.cpp's
// float order throughout (8-bit activations as llama.cpp's AVX2 quantizer,
// the dots in its lanes, Q4_0 as its repacked q4_0_8x8 kernels, F32
// weights in its tinyBLAS and ggml_vec_dot_f32 orders, RoPE with glibc's
// sines and cosines and gcc's fused rotation: kernel.RopeCache, RopeNorm),
// on every CPU and with -tags purego: their logits must match to the
// printed precision and every greedy token must be llama.cpp's. That is
// every reference file.
var bitExactModels = func() map[string]bool {
	m := map[string]bool{"ollama_llama-2-tiny-random": true}
	for _, name := range refModels {
		m[name] = true
	}
	return m
}()

// nearTieModels may keep a greedy step where llama.cpp's token is within
// tieTol of ours in our own logits (logged, not failed), with the reason
// their arithmetic still differs from llama.cpp's. Every other file must
// reproduce the README's greedy tokens exactly.
// None needs it now: tiny-gpt2-f32's tie (0.0003 apart at step 13 of prompt
// 1) went once its F32 dots followed llama.cpp's orders and GELU's table
// llama.cpp's fused 1 + a·x·x.
var nearTieModels = map[string]string{}

// TestReferenceLogits checks every prompt position's top-8 logits and the
// greedy continuation against llama.cpp, with the README's thresholds:
// float files |Δ| ≤ 0.02 and all 24 greedy tokens; quantized files
// |Δ| ≤ 0.5, top-1 agreement ≥ 93% and the first 8 greedy tokens; and
// |Δ| ≤ 1e-4 and every greedy token for bitExactModels. Only nearTieModels may log a greedy near-tie
// instead of failing.
func TestReferenceLogits(t *testing.T) {
	for _, name := range refModels {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && !strings.HasSuffix(name, "-f16") && !strings.HasSuffix(name, "-q4_0") {
				t.Skip("-short: only the f16 and q4_0 files")
			}
			path := testkit.Shared(t, "reference", "models", name+".gguf")
			out := testkit.Shared(t, "reference", "outputs", name+".jsonl")
			float := strings.HasSuffix(name, "-f32") || strings.HasSuffix(name, "-f16")
			checkReference(t, name, path, readRefCases(t, out), float)
		})
	}
	// One more llama file, with LLaMA 2's full 32k vocabulary (F16 weights).
	t.Run("ollama_llama-2-tiny-random", func(t *testing.T) {
		dir := []string{"data", "5-models-tokenizers"}
		path := testkit.Shared(t, append(dir, "ollama_llama-2-tiny-random.gguf")...)
		out := testkit.Shared(t, append(dir, "ollama_llama-2-tiny-random.llamacpp_ref.jsonl")...)
		checkReference(t, "ollama_llama-2-tiny-random", path, readRefCases(t, out), true)
	})
}

func checkReference(t *testing.T, name, path string, cases []refCase, float bool) {
	t.Helper()
	tol, greedyN, tieTol := 0.5, 8, 0.5
	if float {
		tol, greedyN, tieTol = 0.02, 24, 0.005
	}
	why, tiesAllowed := nearTieModels[name]
	if !tiesAllowed {
		tieTol = -1
	}
	if bitExactModels[name] {
		tol, greedyN = 1e-4, math.MaxInt
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// llama.cpp's F16 cache: with it the first position (BOS alone)
	// is bit-identical to llama.cpp's even on quantized files.
	s, err := m.NewState(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var maxD float64
	agree, total, nearTies := 0, 0, 0
	for ci, rc := range cases {
		s.Reset()
		err := s.ForwardAll(rc.Tokens, func(i int, logits []float32) error {
			top := rc.TopK[i]
			for _, e := range top {
				maxD = math.Max(maxD, math.Abs(float64(logits[int(e[0])])-e[1]))
			}
			if argmax(logits) == int32(top[0][0]) {
				agree++
			}
			total++
			if i == len(rc.Tokens)-1 {
				for j, want := range rc.LastHead {
					maxD = math.Max(maxD, math.Abs(float64(logits[j])-want))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Greedy: the prompt's last logits are gone; recompute them
		// through the cache path the generator uses.
		s.Reset()
		logits, err := s.Forward(rc.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		var got []int32
		diverged := false
		for j := range rc.Greedy {
			tok := argmax(logits)
			got = append(got, tok)
			if !diverged && tok != rc.Greedy[j] {
				diverged = true
				gap := float64(logits[tok] - logits[rc.Greedy[j]])
				switch {
				case j >= greedyN:
					// Later tokens may diverge once a near-tie flips (README).
				case gap <= tieTol:
					// A tie we cannot break as llama.cpp does. In float
					// files our logits sit within ~0.003 of llama.cpp's
					// (different summation orders); in quantized files
					// one 8-bit activation rounding the other way (a
					// 1-ulp change in its input does that) moves them
					// by up to ~0.3, so a choice within tol is a coin flip.
					nearTies++
					t.Logf("prompt %d: greedy step %d is a near-tie: we pick %d, llama.cpp %d, %.4f apart in our logits", ci, j, tok, rc.Greedy[j], gap)
				default:
					t.Errorf("prompt %d (%q): greedy token %d = %d, want %d (%.3f apart)\n got  %v\n want %v", ci, rc.Prompt, j, tok, rc.Greedy[j], gap, got, rc.Greedy)
				}
			}
			if logits, err = s.Forward([]int32{tok}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rate := float64(agree) / float64(total)
	t.Logf("%s: max |Δlogit| %.4f over top-8 and last-position head, top-1 agreement %d/%d (%.1f%%), greedy near-ties %d", name, maxD, agree, total, 100*rate, nearTies)
	if tiesAllowed {
		t.Logf("%s: greedy near-ties allowed: %s", name, why)
	}
	if maxD > tol {
		t.Errorf("max |Δlogit| %.4f > %g", maxD, tol)
	}
	if rate < 0.93 {
		t.Errorf("top-1 agreement %.1f%% < 93%%", 100*rate)
	}
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}
