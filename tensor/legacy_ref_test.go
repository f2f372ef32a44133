package tensor_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// openModel opens a reference model, skipping when the shared files are absent.
func openModel(t *testing.T, name string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testkit.Shared(t, "reference", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Quantizing the F32 tensors of each tiny reference model gives, block for
// block, the bytes llama.cpp's quantizer wrote into the Q8_0, Q4_0 and F16
// files of the same model.
func TestQuantizeMatchesLlamaCpp(t *testing.T) {
	mine := map[tensor.DType]bool{tensor.F16: true, tensor.BF16: true, tensor.Q4_0: true, tensor.Q4_1: true,
		tensor.Q5_0: true, tensor.Q5_1: true, tensor.Q8_0: true, tensor.IQ4_NL: true}
	total := map[tensor.DType][2]int{} // identical, all blocks
	logged := 0
	for _, model := range []string{"llama", "qwen2", "gpt2"} {
		src := openModel(t, fmt.Sprintf("tiny-%s-f32.gguf", model))
		for _, kind := range []string{"q8_0", "q4_0", "f16"} {
			qf := openModel(t, fmt.Sprintf("tiny-%s-%s.gguf", model, kind))
			for i := range qf.Tensors {
				qt := &qf.Tensors[i]
				if !mine[qt.DType] {
					continue
				}
				ft, ok := src.Tensor(qt.Name)
				if !ok || ft.DType != tensor.F32 || ft.Elements() != qt.Elements() {
					t.Fatalf("%s: %s has no F32 twin of the same size in the f32 file", kind, qt.Name)
				}
				vals := make([]float32, ft.Elements())
				if err := tensor.Dequantize(tensor.F32, src.TensorData(ft), vals); err != nil {
					t.Fatal(err)
				}
				want := qf.TensorData(qt)
				got := make([]byte, len(want))
				if err := tensor.Quantize(qt.DType, vals, got); err != nil {
					t.Fatalf("%s %s: %v", kind, qt.Name, err)
				}
				bs := qt.DType.TypeSize()
				same := 0
				for o := 0; o < len(want); o += bs {
					if bytes.Equal(got[o:o+bs], want[o:o+bs]) {
						same++
					} else if logged++; logged <= 5 {
						t.Logf("%s %s block %d: got % x, want % x", kind, qt.Name, o/bs, got[o:o+bs], want[o:o+bs])
					}
				}
				c := total[qt.DType]
				total[qt.DType] = [2]int{c[0] + same, c[1] + len(want)/bs}
			}
		}
	}
	if len(total) == 0 {
		t.Fatal("no tensor of a legacy or half type found in the reference files")
	}
	for dt := range tensor.DType(64) {
		c, ok := total[dt]
		if !ok {
			continue
		}
		frac := float64(c[0]) / float64(c[1])
		t.Logf("%v: %d of %d blocks identical to llama.cpp's (%.4f%%)", dt, c[0], c[1], 100*frac)
		if c[0] != c[1] {
			t.Errorf("%v: %d blocks differ from llama.cpp's", dt, c[1]-c[0])
		}
	}
}

// Dequantize reads llama.cpp's blocks as the format says, checked by an
// independent bit-level reading in float64: fp16 d from its sign, exponent
// and mantissa fields, then d·(nibble-8) or d·int8.
func TestDequantizeLlamaCppBlocks(t *testing.T) {
	for _, name := range []string{"tiny-llama-q4_0.gguf", "tiny-qwen2-q8_0.gguf", "tiny-gpt2-f16.gguf"} {
		f := openModel(t, name)
		checked := 0
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			var read func(b []byte, k int) float64 // value k of a block (or element) b
			switch ti.DType {
			case tensor.Q4_0:
				read = func(b []byte, k int) float64 {
					q := b[2+k%16] & 15
					if k >= 16 {
						q = b[2+k%16] >> 4
					}
					return halfBits(b) * float64(int(q)-8)
				}
			case tensor.Q8_0:
				read = func(b []byte, k int) float64 { return halfBits(b) * float64(int8(b[2+k])) }
			case tensor.F16:
				read = func(b []byte, k int) float64 { return halfBits(b) }
			default:
				continue
			}
			data := f.TensorData(ti)
			got := make([]float32, ti.Elements())
			if err := tensor.Dequantize(ti.DType, data, got); err != nil {
				t.Fatal(err)
			}
			bn, bs := ti.DType.BlockSize(), ti.DType.TypeSize()
			for e := range got {
				want := read(data[e/bn*bs:], e%bn)
				if float64(got[e]) != want {
					t.Fatalf("%s %s element %d: got %v, want %v", name, ti.Name, e, got[e], want)
				}
			}
			checked++
		}
		if checked == 0 {
			t.Errorf("%s: no tensor of the expected type", name)
		}
	}
}

// halfBits decodes the little-endian fp16 at b[0:2] field by field.
func halfBits(b []byte) float64 {
	h := binary.LittleEndian.Uint16(b)
	sign := 1.0
	if h>>15 == 1 {
		sign = -1
	}
	exp, mant := int(h>>10&31), float64(h&1023)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

// The kernel's conversion and the field-by-field decoding agree on all halves.
func TestHalfBitsAgreesWithKernel(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		want := halfBits([]byte{byte(i), byte(i >> 8)})
		got := float64(kernel.FP16ToFP32(uint16(i)))
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("%#04x: kernel %v, fields %v", i, got, want)
		}
	}
}

// Quantize a block of 32 values to Q4_0 (18 bytes: an fp16 scale and 32
// four-bit codes) and read it back.
func ExampleQuantize() {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i-16) / 4 // -4 … 3.75
	}
	b := make([]byte, tensor.Q4_0.TypeSize())
	if err := tensor.Quantize(tensor.Q4_0, x, b); err != nil {
		fmt.Println(err)
		return
	}
	y := make([]float32, 32)
	if err := tensor.Dequantize(tensor.Q4_0, b, y); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), "bytes")
	fmt.Println(x[:6])
	fmt.Println(y[:6])
	// Output:
	// 18 bytes
	// [-4 -3.75 -3.5 -3.25 -3 -2.75]
	// [-4 -3.5 -3.5 -3 -3 -2.5]
}
