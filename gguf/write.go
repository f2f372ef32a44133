// Reference: ggml/src/gguf.cpp (gguf_writer, gguf_write_to_buf) and the GGUF
// specification (ggml/docs/gguf.md), "File Structure".

package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"io"
	"math"
)

// Header is everything of a GGUF file except the tensor data: what Write
// needs before the first data byte.
type Header struct {
	Version uint32 // 2 or 3; 0 writes 3
	KV      []KV   // in file order
	// Tensors in file order. Offset (relative to the data section) and Size
	// are written as given; Layout computes them for a new file.
	Tensors []TensorInfo
}

// Header returns a copy of the file's header that a Writer can change freely
// (values are shared: they are never modified in place).
func (f *File) Header() *Header {
	h := &Header{Version: f.Version, KV: append([]KV(nil), f.KV...)}
	h.Tensors = make([]TensorInfo, len(f.Tensors))
	for i, ti := range f.Tensors {
		ti.Shape = append([]int64(nil), ti.Shape...)
		h.Tensors[i] = ti
	}
	return h
}

// Source returns a TensorSource that copies each tensor's bytes from f. It
// suits a Header from f.Header() whose tensors are unchanged.
func (f *File) Source() TensorSource {
	return func(i int, w io.Writer) error {
		_, err := w.Write(f.TensorData(&f.Tensors[i]))
		return err
	}
}

// Lookup returns the value of key.
func (h *Header) Lookup(key string) (Value, bool) {
	for _, kv := range h.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// Set gives key the value v. Like gguf.cpp's gguf_set_val_*, an existing
// entry is removed and the new one appended, so the key moves to the end;
// llama-quantize's output order follows from this.
func (h *Header) Set(key string, v Value) {
	h.Delete(key)
	h.KV = append(h.KV, KV{key, v})
}

// Delete removes key if present.
func (h *Header) Delete(key string) {
	for i := range h.KV {
		if h.KV[i].Key == key {
			h.KV = append(h.KV[:i], h.KV[i+1:]...)
			return
		}
	}
}

// Alignment returns general.alignment, or DefaultAlignment when absent.
func (h *Header) Alignment() (int, error) {
	v, ok := h.Lookup("general.alignment")
	if !ok {
		return DefaultAlignment, nil
	}
	a, ok := v.Uint()
	if !ok || v.Type != TypeUint32 || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
		return 0, fmt.Errorf("gguf: general.alignment %v (type %v) is not a power of two u32 up to %d", v.X, v.Type, MaxAlignment)
	}
	return int(a), nil
}

// Layout sets each tensor's Size from its DType and Shape and packs the data
// in tensor order, each tensor starting at a multiple of the alignment, as
// gguf.cpp lays out a new file.
func (h *Header) Layout() error {
	align, err := h.Alignment()
	if err != nil {
		return err
	}
	var off uint64
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		size, err := tensorSize(ti)
		if err != nil {
			return err
		}
		ti.Size, ti.Offset = size, off
		off += uint64(alignUp(size, int64(align)))
	}
	return nil
}

// DataSize returns the bytes of the data section a Layout-ed header implies,
// with the padding after the last tensor.
func (h *Header) DataSize() int64 {
	align, err := h.Alignment()
	if err != nil || len(h.Tensors) == 0 {
		return 0
	}
	last := h.Tensors[len(h.Tensors)-1]
	return alignUp(int64(last.Offset)+last.Size, int64(align))
}

func tensorSize(ti *TensorInfo) (int64, error) {
	if ti.Name == "" || len(ti.Name) > MaxNameLen {
		return 0, fmt.Errorf("gguf: tensor %q: name length %d outside 1..%d", ti.Name, len(ti.Name), MaxNameLen)
	}
	if len(ti.Shape) == 0 || len(ti.Shape) > MaxDims {
		return 0, fmt.Errorf("gguf: tensor %q: %d dimensions outside 1..%d", ti.Name, len(ti.Shape), MaxDims)
	}
	n := int64(1)
	for d, x := range ti.Shape {
		if x <= 0 || x > math.MaxInt64/n {
			return 0, fmt.Errorf("gguf: tensor %q: dimension %d is %d (not positive, or the element count overflows)", ti.Name, d, x)
		}
		n *= x
	}
	if !ti.DType.Known() {
		return 0, fmt.Errorf("gguf: tensor %q: unknown type %d", ti.Name, uint32(ti.DType))
	}
	if ti.Shape[0]%int64(ti.DType.BlockSize()) != 0 {
		return 0, fmt.Errorf("gguf: tensor %q: row length %d is not a multiple of the %v block size %d", ti.Name, ti.Shape[0], ti.DType, ti.DType.BlockSize())
	}
	if n/int64(ti.DType.BlockSize()) > math.MaxInt64/int64(ti.DType.TypeSize()) {
		return 0, fmt.Errorf("gguf: tensor %q: %d elements of %v overflow the byte size", ti.Name, n, ti.DType)
	}
	return ti.DType.RowSize(n)
}

// TensorSource writes the data of tensor i (exactly Tensors[i].Size bytes) to w.
// Write calls it once per tensor, in the order of the data in the file (which
// is tensor order after Layout), so a whole model never needs to be in memory.
type TensorSource func(i int, w io.Writer) error

// Write writes h and the data src supplies to w in the layout gguf.cpp
// writes: header, metadata in order, tensor infos, zero padding to the
// alignment, then each tensor at its offset followed by zero padding to the
// alignment. A file without tensors ends right after its metadata, as the
// reference Python writer leaves vocabulary-only files.
func Write(w io.Writer, h *Header, src TensorSource) error {
	align, err := h.Alignment()
	if err != nil {
		return err
	}
	if err := h.check(align); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countWriter{w: bw}
	if err := h.writeMeta(cw); err != nil {
		return err
	}
	if len(h.Tensors) > 0 {
		if err := pad(cw, alignUp(cw.n, int64(align))-cw.n); err != nil {
			return err
		}
	}
	start := cw.n
	for _, i := range dataOrder(h.Tensors) {
		ti := &h.Tensors[i]
		if err := pad(cw, start+int64(ti.Offset)-cw.n); err != nil {
			return err
		}
		lw := &limitWriter{w: cw, left: ti.Size}
		if err := src(i, lw); err != nil {
			return fmt.Errorf("gguf: tensor %q: %w", ti.Name, err)
		}
		if lw.left != 0 {
			return fmt.Errorf("gguf: tensor %q: source wrote %d of %d bytes", ti.Name, ti.Size-lw.left, ti.Size)
		}
		if err := pad(cw, alignUp(cw.n, int64(align))-cw.n); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes a GGUF file at path atomically: into a temporary file in
// the same directory, synced, then renamed over path. A failure (or a
// crash) leaves any previous file at path untouched and no partial file.
func WriteFile(path string, h *Header, src TensorSource) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, h, src) }); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	return nil
}

// check validates h before any byte is written, so that a bad header never
// leaves half a file behind.
func (h *Header) check(align int) error {
	if h.Version != 0 && h.Version != 2 && h.Version != 3 {
		return fmt.Errorf("gguf: version %d not supported (2 and 3 are)", h.Version)
	}
	keys := make(map[string]bool, len(h.KV))
	for _, kv := range h.KV {
		if kv.Key == "" || len(kv.Key) > MaxKeyLen {
			return fmt.Errorf("gguf: metadata key %.40q: length %d outside 1..%d", kv.Key, len(kv.Key), MaxKeyLen)
		}
		if keys[kv.Key] {
			return fmt.Errorf("gguf: metadata key %q appears twice", kv.Key)
		}
		keys[kv.Key] = true
		if err := checkValue(kv.Key, kv.Value, 0); err != nil {
			return err
		}
	}
	names := make(map[string]bool, len(h.Tensors))
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		size, err := tensorSize(ti)
		if err != nil {
			return err
		}
		if names[ti.Name] {
			return fmt.Errorf("gguf: tensor %q appears twice", ti.Name)
		}
		names[ti.Name] = true
		if size != ti.Size {
			return fmt.Errorf("gguf: tensor %q: size %d, but %v %v takes %d bytes (call Layout)", ti.Name, ti.Size, ti.DType, ti.Shape, size)
		}
		if ti.Offset%uint64(align) != 0 || ti.Offset > math.MaxInt64-uint64(size) {
			return fmt.Errorf("gguf: tensor %q: offset %d is not aligned to %d, or too large (call Layout)", ti.Name, ti.Offset, align)
		}
	}
	return checkOverlaps(h.Tensors)
}

// dataOrder returns the tensor indices by increasing offset (ties by index).
func dataOrder(ts []TensorInfo) []int {
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	sortByOffset(order, ts)
	return order
}

func checkValue(key string, v Value, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("gguf: key %q: arrays nested deeper than %d", key, maxNesting)
	}
	want := v.Type
	if v.Type == TypeArray {
		want = v.Elem
	}
	ok := false
	switch x := v.X.(type) {
	case uint8, []uint8:
		ok = want == TypeUint8
	case int8, []int8:
		ok = want == TypeInt8
	case uint16, []uint16:
		ok = want == TypeUint16
	case int16, []int16:
		ok = want == TypeInt16
	case uint32, []uint32:
		ok = want == TypeUint32
	case int32, []int32:
		ok = want == TypeInt32
	case float32, []float32:
		ok = want == TypeFloat32
	case bool, []bool:
		ok = want == TypeBool
	case string, []string:
		ok = want == TypeString
	case uint64, []uint64:
		ok = want == TypeUint64
	case int64, []int64:
		ok = want == TypeInt64
	case float64, []float64:
		ok = want == TypeFloat64
	case []Value:
		if v.Type != TypeArray || v.Elem != TypeArray {
			break
		}
		for _, e := range x {
			if e.Type != TypeArray {
				return fmt.Errorf("gguf: key %q: element of an array of arrays has type %v", key, e.Type)
			}
			if err := checkValue(key, e, depth+1); err != nil {
				return err
			}
		}
		ok = true
	}
	// The element type matched; arrays must also hold slices and scalars not.
	if ok && (v.Type == TypeArray) != isSlice(v.X) {
		ok = false
	}
	if !ok {
		return fmt.Errorf("gguf: key %q: value of Go type %T does not match GGUF type %v (element %v)", key, v.X, v.Type, v.Elem)
	}
	return nil
}

func isSlice(x any) bool {
	switch x.(type) {
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string, []uint64, []int64, []float64, []Value:
		return true
	}
	return false
}

func (h *Header) writeMeta(w io.Writer) error {
	version := h.Version
	if version == 0 {
		version = 3
	}
	e := &encoder{w: w}
	e.u32(Magic)
	e.u32(version)
	e.u64(uint64(len(h.Tensors)))
	e.u64(uint64(len(h.KV)))
	for _, kv := range h.KV {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	for _, ti := range h.Tensors {
		e.str(ti.Name)
		e.u32(uint32(len(ti.Shape)))
		for _, d := range ti.Shape {
			e.u64(uint64(d))
		}
		e.u32(uint32(ti.DType))
		e.u64(ti.Offset)
	}
	return e.err
}

// encoder writes little-endian values; the first error sticks.
type encoder struct {
	w   io.Writer
	buf [8]byte
	err error
}

func (e *encoder) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.write(e.buf[:1]) }
func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.write(e.buf[:2])
}
func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.write(e.buf[:4])
}
func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.write(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}
func (e *encoder) boolean(b bool) {
	if b {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// value writes v's payload (its type tag is already written). checkValue has
// vetted the Go type against v.Type.
func (e *encoder) value(v Value) {
	switch x := v.X.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.boolean(x)
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.u32(uint32(v.Elem))
		e.u64(uint64(v.Len()))
		e.array(v.X)
	}
}

func (e *encoder) array(x any) {
	switch s := x.(type) {
	case []uint8:
		e.write(s)
	case []int8:
		for _, y := range s {
			e.u8(uint8(y))
		}
	case []uint16:
		for _, y := range s {
			e.u16(y)
		}
	case []int16:
		for _, y := range s {
			e.u16(uint16(y))
		}
	case []uint32:
		for _, y := range s {
			e.u32(y)
		}
	case []int32:
		for _, y := range s {
			e.u32(uint32(y))
		}
	case []float32:
		for _, y := range s {
			e.u32(math.Float32bits(y))
		}
	case []bool:
		for _, y := range s {
			e.boolean(y)
		}
	case []string:
		for _, y := range s {
			e.str(y)
		}
	case []uint64:
		for _, y := range s {
			e.u64(y)
		}
	case []int64:
		for _, y := range s {
			e.u64(uint64(y))
		}
	case []float64:
		for _, y := range s {
			e.u64(math.Float64bits(y))
		}
	case []Value:
		for _, y := range s {
			e.value(y)
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// limitWriter refuses to write past a tensor's size, so a faulty source
// cannot shift every later tensor.
type limitWriter struct {
	w    io.Writer
	left int64
}

var errTooMuch = errors.New("source wrote more bytes than the tensor holds")

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errTooMuch
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

var zeros [4096]byte

func pad(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// NewValue wraps a Go value as a metadata value: uint8 … float64, bool and
// string become scalars, slices of them arrays, and []Value an array of
// arrays. Any other Go type is a programmer error and panics.
func NewValue(x any) Value {
	var t Type
	switch x.(type) {
	case uint8, []uint8:
		t = TypeUint8
	case int8, []int8:
		t = TypeInt8
	case uint16, []uint16:
		t = TypeUint16
	case int16, []int16:
		t = TypeInt16
	case uint32, []uint32:
		t = TypeUint32
	case int32, []int32:
		t = TypeInt32
	case float32, []float32:
		t = TypeFloat32
	case bool, []bool:
		t = TypeBool
	case string, []string:
		t = TypeString
	case uint64, []uint64:
		t = TypeUint64
	case int64, []int64:
		t = TypeInt64
	case float64, []float64:
		t = TypeFloat64
	case []Value:
		t = TypeArray
	default:
		panic(fmt.Sprintf("gguf: NewValue: Go type %T has no GGUF type", x))
	}
	if isSlice(x) {
		return Value{Type: TypeArray, Elem: t, X: x}
	}
	return Value{Type: t, X: x}
}
