package kernel_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"golang.org/x/sys/cpu"
)

// On an AVX2+FMA+F16C machine every assembly kernel must actually be
// selected (a silent fall-back to plain Go would pass every other test and
// lose a factor of 10–30); on arm64 every NEON kernel must be; elsewhere
// Features says plain Go.
func TestFeaturesSelectsAssembly(t *testing.T) {
	f := kernel.Features()
	t.Log(f)
	if !strings.HasPrefix(f, runtime.GOARCH+":") {
		t.Errorf("Features() = %q, want it to start with the architecture", f)
	}
	if runtime.GOARCH == "arm64" && !strings.Contains(f, "purego") {
		// Every arm64 CPU has NEON; only the integer kernels' form
		// (SDOT or SMULL) depends on FEAT_DotProd.
		if cpu.ARM64.HasASIMDDP != strings.Contains(f, "+dotprod") {
			t.Errorf("Features() = %q, FEAT_DotProd %v", f, cpu.ARM64.HasASIMDDP)
		}
		for _, k := range []string{"f32", "f16", "bf16", "f32-llama.cpp-order", "f16-llama.cpp-order", "axpy",
			"f16-attention", "lanes8-tile", "q8_0", "q4_0", "q4_0x8", "q4_K", "q5_K", "q6_K",
			"q4_1", "q5_0", "q5_1", "iq4_nl", "softmax-silu", "gemm", "q8-activations", "q8_1-activations"} {
			if !strings.Contains(" "+f+" ", " "+k+" ") {
				t.Errorf("Features() = %q lacks %s", f, k)
			}
		}
		return
	}
	if strings.Contains(f, "purego") || runtime.GOARCH != "amd64" || !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		if !strings.Contains(f, "plain Go") && !strings.Contains(f, "assembly") {
			t.Errorf("Features() = %q says neither plain Go nor assembly", f)
		}
		return
	}
	for _, k := range []string{"sum", "f32", "f16", "bf16", "q4_0", "q8_0", "q4_K", "q5_K", "q6_K", "q4_1", "q5_0", "q5_1", "iq4_nl", "tiles"} {
		if !strings.Contains(" "+f+" ", " "+k+" ") {
			t.Errorf("Features() = %q lacks %s", f, k)
		}
	}
}
