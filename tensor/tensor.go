// Reference: ggml/include/ggml.h (struct ggml_tensor: ne[] in elements, row-major, ne[0] fastest).

package tensor

import (
	"fmt"
	"unsafe"
)

// Tensor is typed bytes with a shape. Shape is in GGML order: Shape[0] is the
// number of elements in a row (the fastest-varying axis), Shape[1] the number
// of rows, and so on. Data is usually a read-only slice of a mapped GGUF file.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte

	packed []byte // Data in MatMul's eight-row layout, for Q4_0 (Pack)
}

// New checks that data holds exactly the elements of shape in type dt.
func New(name string, dt DType, data []byte, shape ...int) (*Tensor, error) {
	if !dt.Known() {
		return nil, fmt.Errorf("tensor %q: unknown dtype %d", name, uint32(dt))
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("tensor %q: no shape", name)
	}
	n := int64(1)
	for _, d := range shape {
		if d <= 0 || n > (1<<62)/int64(d) {
			return nil, fmt.Errorf("tensor %q: bad shape %v", name, shape)
		}
		n *= int64(d)
	}
	if shape[0]%dt.BlockSize() != 0 {
		return nil, fmt.Errorf("tensor %q: row length %d is not a multiple of the %v block size %d", name, shape[0], dt, dt.BlockSize())
	}
	size, err := dt.RowSize(n)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if size != int64(len(data)) {
		return nil, fmt.Errorf("tensor %q: %v %v needs %d bytes, have %d", name, dt, shape, size, len(data))
	}
	return &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...), Data: data}, nil
}

// FromFloat32 wraps float32 values as an F32 tensor without copying.
func FromFloat32(name string, x []float32, shape ...int) (*Tensor, error) {
	return New(name, F32, F32Bytes(x), shape...)
}

// Cols is the number of elements in a row (Shape[0]).
func (t *Tensor) Cols() int { return t.Shape[0] }

// Rows is the number of rows: the product of Shape[1:].
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return n
}

// Elements is the number of elements.
func (t *Tensor) Elements() int { return t.Cols() * t.Rows() }

// RowBytes is the size of one row in bytes.
func (t *Tensor) RowBytes() int { return t.Shape[0] / t.DType.BlockSize() * t.DType.TypeSize() }

// Row returns the bytes of row i.
func (t *Tensor) Row(i int) []byte {
	rb := t.RowBytes()
	return t.Data[i*rb : (i+1)*rb : (i+1)*rb]
}

// DequantizeRow writes row i as float32 into dst (len Cols()).
func (t *Tensor) DequantizeRow(i int, dst []float32) error {
	return Dequantize(t.DType, t.Row(i), dst[:t.Cols()])
}

// Float32s returns all elements as a new float32 slice.
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.Elements())
	if err := Dequantize(t.DType, t.Data, out); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// F32Bytes views float32 values as their little-endian bytes (no copy).
func F32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}
