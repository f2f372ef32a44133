// Reference: llama.cpp's llama-quantize output in ../shared/reference/models (see its README.md).

package tensor_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// The K-quant tensors in llama.cpp's quantized tiny models were made by
// llama-quantize, without an importance matrix, from the same weights as the
// f32 files. Quantizing the f32 tensor with our reference quantizer must
// reproduce llama.cpp's blocks byte for byte.
func TestKQuantBitExactVsLlamaCpp(t *testing.T) {
	type tally struct{ same, total int }
	counts := map[tensor.DType]*tally{}
	var mismatches []string
	archs := []string{"llama", "qwen2", "gpt2"}
	if testing.Short() {
		archs = archs[:1]
	}
	for _, arch := range archs {
		f32Path := testkit.Shared(t, "reference", "models", "tiny-"+arch+"-f32.gguf")
		ref, err := gguf.Open(f32Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, variant := range []string{"q4_k_m", "q6_k", "q4_0"} {
			qf, err := gguf.Open(testkit.Shared(t, "reference", "models", "tiny-"+arch+"-"+variant+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range qf.Tensors {
				ti := &qf.Tensors[i]
				if ti.DType < tensor.Q2_K || ti.DType > tensor.Q6_K {
					continue
				}
				src, ok := ref.Tensor(ti.Name)
				if !ok || src.DType != tensor.F32 || src.Elements() != ti.Elements() {
					t.Fatalf("%s: tensor %q has no F32 twin of the same size in %s", variant, ti.Name, f32Path)
				}
				raw := ref.TensorData(src)
				x := make([]float32, src.Elements())
				for j := range x {
					x[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
				}
				want := qf.TensorData(ti)
				got := make([]byte, len(want))
				if err := tensor.Quantize(ti.DType, x, got); err != nil {
					t.Fatal(err)
				}
				c := counts[ti.DType]
				if c == nil {
					c = &tally{}
					counts[ti.DType] = c
				}
				bs := ti.DType.TypeSize()
				bad := 0
				for off := 0; off < len(want); off += bs {
					c.total++
					if bytes.Equal(got[off:off+bs], want[off:off+bs]) {
						c.same++
					} else {
						bad++
					}
				}
				if bad > 0 {
					mismatches = append(mismatches, fmt.Sprintf("%s-%s %s %v: %d of %d blocks differ",
						arch, variant, ti.Name, ti.DType, bad, len(want)/bs))
				}
			}
			qf.Close()
		}
		ref.Close()
	}
	if len(counts) == 0 {
		t.Fatal("no K-quant tensors found in the reference files")
	}
	var types []tensor.DType
	for dt := range counts {
		types = append(types, dt)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, dt := range types {
		c := counts[dt]
		frac := float64(c.same) / float64(c.total)
		t.Logf("%v: %d of %d blocks identical (%.4f%%)", dt, c.same, c.total, 100*frac)
		if frac < 0.99 {
			t.Errorf("%v: only %.4f%% of blocks identical to llama.cpp's, want ≥ 99%%", dt, 100*frac)
		}
	}
	for i, m := range mismatches {
		if i == 10 {
			t.Logf("… and %d more", len(mismatches)-10)
			break
		}
		t.Log(m)
	}
}
