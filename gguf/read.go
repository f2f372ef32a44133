// Reference: GGUF specification (ggml/docs/gguf.md), "File Structure".

package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/gptgo/gptgo/internal/mmap"
	"github.com/gptgo/gptgo/tensor"
)

// Magic is "GGUF" read as a little-endian uint32.
const Magic = 0x46554747

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// MaxNameLen is the longest tensor name, in bytes, that llama.cpp accepts
// (GGML_MAX_NAME is 64 including the terminating NUL).
const MaxNameLen = 63

// MaxKeyLen is the longest metadata key the GGUF specification allows.
const MaxKeyLen = 65535

// MaxAlignment bounds general.alignment: GGUF files use 32, and a larger
// value only wastes space, so a huge one is treated as damage.
const MaxAlignment = 1 << 20

// Smallest on-disk sizes of a metadata entry (8-byte key length, a one-byte
// key, a 4-byte type and a one-byte value) and of a tensor info (8-byte name
// length, a one-byte name, n_dims, one dimension, type, offset). They bound
// the counts in the header before anything is allocated for them.
const (
	minKVBytes     = 8 + 1 + 4 + 1
	minTensorBytes = 8 + 1 + 4 + 8 + 4 + 8
)

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	Shape []int64 // GGML order: Shape[0] is the row length (ne0), then rows, …
	DType tensor.DType
	// Offset is where the data starts, relative to the start of the data section.
	Offset uint64
	// Size is the number of bytes the data takes.
	Size int64
}

// Elements returns the number of elements (product of Shape).
func (ti *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its tensor data stays in the mapped (or given)
// bytes; TensorData returns slices of it that are valid until Close.
type File struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  int
	DataOffset int64 // absolute offset of the data section

	data  []byte // whole file
	index map[string]int
	tidx  map[string]int
	unmap func() error
}

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// String returns the string value of key.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Lookup(key)
	return v.String()
}

// Uint returns the non-negative integer value of key.
func (f *File) Uint(key string) (uint64, bool) {
	v, _ := f.Lookup(key)
	return v.Uint()
}

// Float returns the numeric value of key as float64.
func (f *File) Float(key string) (float64, bool) {
	v, _ := f.Lookup(key)
	return v.Float()
}

// Bool returns the boolean value of key.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Lookup(key)
	return v.Bool()
}

// Strings returns the string-array value of key.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Lookup(key)
	return v.Strings()
}

// Arch returns general.architecture ("" if absent).
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tidx[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of a tensor of this file (no copy).
func (f *File) TensorData(ti *TensorInfo) []byte {
	start := f.DataOffset + int64(ti.Offset)
	return f.data[start : start+ti.Size : start+ti.Size]
}

// Bytes returns the whole file as read or mapped.
func (f *File) Bytes() []byte { return f.data }

// Close releases the mapping of a file opened with Open.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Parse reads a GGUF file held in memory. The File refers to data.
func Parse(data []byte) (*File, error) {
	r := &reader{b: data}
	magic := r.u32("magic")
	if r.err == nil && magic != Magic {
		return nil, fmt.Errorf("gguf: magic %#08x is not GGUF (%#08x)", magic, Magic)
	}
	version := r.u32("version")
	if r.err == nil && version != 2 && version != 3 {
		if bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3 {
			return nil, fmt.Errorf("gguf: version field %#08x: the file is big-endian (version %d); only little-endian GGUF files are supported", version, bits.ReverseBytes32(version))
		}
		return nil, fmt.Errorf("gguf: version %d not supported (2 and 3 are)", version)
	}
	nt := r.u64("tensor_count")
	nkv := r.u64("metadata_kv_count")
	if r.err != nil {
		return nil, r.err
	}
	left := uint64(len(data) - r.off)
	if nkv > left/minKVBytes {
		return nil, fmt.Errorf("gguf: metadata_kv_count %d too large for the %d bytes after the header", nkv, left)
	}
	if nt > (left-nkv*minKVBytes)/minTensorBytes {
		return nil, fmt.Errorf("gguf: tensor_count %d too large for the %d bytes after the header", nt, left)
	}
	f := &File{Version: version, data: data, index: map[string]int{}, tidx: map[string]int{}}
	f.KV = make([]KV, 0, nkv)
	for i := uint64(0); i < nkv; i++ {
		key := r.str("metadata key")
		if r.err == nil && (key == "" || len(key) > MaxKeyLen) {
			return nil, fmt.Errorf("gguf: metadata entry %d: key length %d outside 1..%d", i, len(key), MaxKeyLen)
		}
		t := Type(r.u32("metadata value type"))
		v := r.value(key, t, 0)
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := f.index[key]; dup {
			return nil, fmt.Errorf("gguf: metadata key %q appears twice", key)
		}
		f.index[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	f.Alignment = DefaultAlignment
	if v, ok := f.Lookup("general.alignment"); ok {
		a, ok := v.Uint()
		if !ok || v.Type != TypeUint32 || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return nil, fmt.Errorf("gguf: general.alignment %v (type %v) is not a power of two u32 up to %d", v.X, v.Type, MaxAlignment)
		}
		f.Alignment = int(a)
	}
	f.Tensors = make([]TensorInfo, 0, nt)
	for i := uint64(0); i < nt; i++ {
		name := r.str("tensor name")
		nd := r.u32("tensor n_dims")
		if r.err != nil {
			return nil, r.err
		}
		if name == "" || len(name) > MaxNameLen {
			return nil, fmt.Errorf("gguf: tensor %d: name length %d outside 1..%d", i, len(name), MaxNameLen)
		}
		if nd == 0 || nd > MaxDims {
			return nil, fmt.Errorf("gguf: tensor %q: n_dims %d outside 1..%d", name, nd, MaxDims)
		}
		ti := TensorInfo{Name: name, Shape: make([]int64, nd)}
		n := int64(1)
		for d := range ti.Shape {
			x := r.u64("tensor dimension")
			if r.err != nil {
				return nil, r.err
			}
			if x == 0 || x > math.MaxInt64/uint64(n) {
				return nil, fmt.Errorf("gguf: tensor %q: dimension %d is %d (zero, or the element count overflows)", name, d, x)
			}
			ti.Shape[d] = int64(x)
			n *= int64(x)
		}
		ti.DType = tensor.DType(r.u32("tensor type"))
		ti.Offset = r.u64("tensor offset")
		if r.err != nil {
			return nil, r.err
		}
		if !ti.DType.Known() {
			return nil, fmt.Errorf("gguf: tensor %q: unknown type %d", name, uint32(ti.DType))
		}
		if ti.Shape[0]%int64(ti.DType.BlockSize()) != 0 {
			return nil, fmt.Errorf("gguf: tensor %q: row length %d is not a multiple of the %v block size %d", name, ti.Shape[0], ti.DType, ti.DType.BlockSize())
		}
		if n/int64(ti.DType.BlockSize()) > math.MaxInt64/int64(ti.DType.TypeSize()) {
			return nil, fmt.Errorf("gguf: tensor %q: %d elements of %v overflow the byte size", name, n, ti.DType)
		}
		size, err := ti.DType.RowSize(n)
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
		}
		ti.Size = size
		if ti.Offset%uint64(f.Alignment) != 0 {
			return nil, fmt.Errorf("gguf: tensor %q: offset %d not aligned to %d", name, ti.Offset, f.Alignment)
		}
		if _, dup := f.tidx[name]; dup {
			return nil, fmt.Errorf("gguf: tensor %q appears twice", name)
		}
		f.tidx[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	if r.err != nil {
		return nil, r.err
	}
	f.DataOffset = alignUp(int64(r.off), int64(f.Alignment))
	if f.DataOffset > int64(len(data)) && len(f.Tensors) > 0 {
		return nil, fmt.Errorf("gguf: data section at %d beyond file size %d", f.DataOffset, len(data))
	}
	avail := int64(len(data)) - f.DataOffset
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if ti.Offset > uint64(avail) || uint64(ti.Size) > uint64(avail)-ti.Offset {
			return nil, fmt.Errorf("gguf: tensor %q: data [%d, +%d) beyond the %d bytes of the data section", ti.Name, ti.Offset, ti.Size, avail)
		}
	}
	if err := checkOverlaps(f.Tensors); err != nil {
		return nil, err
	}
	return f, nil
}

func checkOverlaps(ts []TensorInfo) error {
	order := dataOrder(ts)
	for k := 1; k < len(order); k++ {
		a, b := &ts[order[k-1]], &ts[order[k]]
		if a.Offset+uint64(a.Size) > b.Offset {
			return fmt.Errorf("gguf: tensors %q and %q overlap (offsets %d+%d and %d)", a.Name, b.Name, a.Offset, a.Size, b.Offset)
		}
	}
	return nil
}

func alignUp(x, a int64) int64 { return (x + a - 1) / a * a }

// reader is a bounds-checked little-endian cursor; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("file truncated")

func (r *reader) need(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("gguf: %s at offset %d: need %d bytes, %d left: %w", what, r.off, n, len(r.b)-r.off, errTruncated)
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

func (r *reader) u8(what string) uint8 {
	if p := r.need(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if p := r.need(2, what); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if p := r.need(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if p := r.need(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) str(what string) string {
	n := r.u64(what + " length")
	return string(r.need(n, what))
}

// elemSize is the smallest on-disk size of one value of type t.
func elemSize(t Type) uint64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64, TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return 0
}

const maxNesting = 8

func (r *reader) value(key string, t Type, depth int) Value {
	if r.err != nil {
		return Value{}
	}
	v := Value{Type: t}
	switch t {
	case TypeUint8:
		v.X = r.u8(key)
	case TypeInt8:
		v.X = int8(r.u8(key))
	case TypeUint16:
		v.X = r.u16(key)
	case TypeInt16:
		v.X = int16(r.u16(key))
	case TypeUint32:
		v.X = r.u32(key)
	case TypeInt32:
		v.X = int32(r.u32(key))
	case TypeFloat32:
		v.X = math.Float32frombits(r.u32(key))
	case TypeBool:
		v.X = r.boolean(key)
	case TypeString:
		v.X = r.str(key)
	case TypeUint64:
		v.X = r.u64(key)
	case TypeInt64:
		v.X = int64(r.u64(key))
	case TypeFloat64:
		v.X = math.Float64frombits(r.u64(key))
	case TypeArray:
		if depth >= maxNesting {
			r.err = fmt.Errorf("gguf: key %q: arrays nested deeper than %d", key, maxNesting)
			return v
		}
		et := Type(r.u32(key + " array type"))
		n := r.u64(key + " array length")
		if r.err != nil {
			return v
		}
		es := elemSize(et)
		if es == 0 {
			r.err = fmt.Errorf("gguf: key %q: unknown array element type %d", key, uint32(et))
			return v
		}
		if n > uint64(len(r.b)-r.off)/es {
			r.err = fmt.Errorf("gguf: key %q: array length %d exceeds the %d bytes left: %w", key, n, len(r.b)-r.off, errTruncated)
			return v
		}
		v.Elem = et
		v.X = r.array(key, et, int(n), depth)
	default:
		r.err = fmt.Errorf("gguf: key %q: unknown value type %d", key, uint32(t))
	}
	return v
}

// boolean reads a bool byte. llama.cpp reads any non-zero byte as true; we
// reject 2…255 so that every file we accept is written back byte for byte.
func (r *reader) boolean(key string) bool {
	off := r.off
	b := r.u8(key)
	if r.err == nil && b > 1 {
		r.err = fmt.Errorf("gguf: key %q: bool value %d at offset %d is not 0 or 1", key, b, off)
	}
	return b == 1
}

func readArray[T any](r *reader, n int, get func() T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = get()
	}
	return s
}

func (r *reader) array(key string, et Type, n, depth int) any {
	switch et {
	case TypeUint8:
		return readArray(r, n, func() uint8 { return r.u8(key) })
	case TypeInt8:
		return readArray(r, n, func() int8 { return int8(r.u8(key)) })
	case TypeUint16:
		return readArray(r, n, func() uint16 { return r.u16(key) })
	case TypeInt16:
		return readArray(r, n, func() int16 { return int16(r.u16(key)) })
	case TypeUint32:
		return readArray(r, n, func() uint32 { return r.u32(key) })
	case TypeInt32:
		return readArray(r, n, func() int32 { return int32(r.u32(key)) })
	case TypeFloat32:
		return readArray(r, n, func() float32 { return math.Float32frombits(r.u32(key)) })
	case TypeBool:
		return readArray(r, n, func() bool { return r.boolean(key) })
	case TypeString:
		return readArray(r, n, func() string { return r.str(key) })
	case TypeUint64:
		return readArray(r, n, func() uint64 { return r.u64(key) })
	case TypeInt64:
		return readArray(r, n, func() int64 { return int64(r.u64(key)) })
	case TypeFloat64:
		return readArray(r, n, func() float64 { return math.Float64frombits(r.u64(key)) })
	}
	// Array of arrays.
	return readArray(r, n, func() Value { return r.value(key, TypeArray, depth+1) })
}

// Release tells the system that b, a part of a mapped file's data (a
// tensor's bytes), will not be read for a while: its whole pages leave the
// process's resident memory now, and come back from the page cache or the
// file on the next read. It changes nothing for a file parsed from memory,
// or for bytes outside the file.
func (f *File) Release(b []byte) {
	if f.unmap == nil || len(b) == 0 || len(f.data) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	if start < base || start-base+uintptr(len(b)) > uintptr(len(f.data)) {
		return
	}
	mmap.Release(f.data, int(start-base), int(start-base)+len(b))
}
