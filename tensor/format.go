// Reference: ggml/src/ggml-cpu/ggml-cpu.c (type_traits_cpu: from_float, vec_dot, vec_dot_type).

package tensor

import "fmt"

// Format is what gptgo can do with one dtype: turn its blocks into float32,
// make them from float32, and take dot products with activations. Each format
// file registers its row with register in an init function; a nil field means
// the operation is not available for that type.
type Format struct {
	// Dequantize expands whole blocks: len(dst) = blocks × BlockSize,
	// len(src) = blocks × TypeSize.
	Dequantize func(src []byte, dst []float32)
	// Quantize packs float32 values into whole blocks with llama.cpp's
	// reference algorithm (no importance matrix). Same length rules.
	Quantize func(src []float32, dst []byte)
	// VecDotType is the type activations are converted to before VecDot
	// (Q8_0 for the legacy types, Q8_K for the K-quants, F32 for float types).
	VecDotType DType
	// VecDot returns the dot product of n elements: w holds n elements of this
	// type, x holds n elements of VecDotType. n is a multiple of BlockSize.
	VecDot func(n int, w, x []byte) float32
}

var formats [numDTypes]Format

// register installs the format of t; each dtype is registered once.
func register(t DType, f Format) {
	if formats[t].Dequantize != nil || formats[t].Quantize != nil || formats[t].VecDot != nil {
		panic(fmt.Sprintf("tensor: format %v registered twice", t))
	}
	formats[t] = f
}

// FormatOf returns the registered format of t (zero Format if none).
func FormatOf(t DType) Format {
	if t >= numDTypes {
		return Format{}
	}
	return formats[t]
}

// CanDequantize reports whether values of type t can be read as float32.
func (t DType) CanDequantize() bool { return FormatOf(t).Dequantize != nil }

// CanQuantize reports whether gptgo can write tensors of type t.
func (t DType) CanQuantize() bool { return FormatOf(t).Quantize != nil }

// Dequantize expands src, which holds whole blocks of type t, into dst.
func Dequantize(t DType, src []byte, dst []float32) error {
	f := FormatOf(t)
	if f.Dequantize == nil {
		return fmt.Errorf("tensor: cannot dequantize %v", t)
	}
	if err := checkLengths(t, len(src), len(dst)); err != nil {
		return err
	}
	f.Dequantize(src, dst)
	return nil
}

// Quantize packs src into dst as whole blocks of type t.
func Quantize(t DType, src []float32, dst []byte) error {
	f := FormatOf(t)
	if f.Quantize == nil {
		return fmt.Errorf("tensor: cannot quantize to %v", t)
	}
	if err := checkLengths(t, len(dst), len(src)); err != nil {
		return err
	}
	f.Quantize(src, dst)
	return nil
}

func checkLengths(t DType, nbytes, nelem int) error {
	size, err := t.RowSize(int64(nelem))
	if err != nil {
		return err
	}
	if size != int64(nbytes) {
		return fmt.Errorf("tensor: %d %v elements take %d bytes, have %d", nelem, t, size, nbytes)
	}
	return nil
}
