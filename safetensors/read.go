// Reference: huggingface/safetensors README, "Format" (8-byte little-endian
// header size N, N bytes of JSON, then the byte buffer; data_offsets are
// relative to the buffer; the header may be padded with spaces) and
// safetensors/src/tensor.rs (validate: tensors cover the buffer without
// holes or overlaps, byte size = elements × dtype size, header ≤ 100 MB).

package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/internal/mmap"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation
// does (100,000,000 bytes): a length beyond it is damage, not a header.
const MaxHeaderSize = 100_000_000

// MaxDims bounds a tensor's rank; real checkpoints use at most 5 (conv3d).
const MaxDims = 8

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64 // PyTorch order: Shape[len-1] varies fastest (row-major)
	// Begin and End delimit the bytes in the data buffer (after the header).
	Begin, End int64
}

// Elements returns the product of Shape (1 for a scalar).
func (ti *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// File is one parsed safetensors file. Its tensor data stays in the mapped
// (or given) bytes; Data returns slices of it that are valid until Close.
type File struct {
	Tensors  []TensorInfo      // in data order
	Metadata map[string]string // "__metadata__", nil when absent

	path    string
	data    []byte // whole file
	dataOff int64  // 8 + header size
	index   map[string]int
	unmap   func() error
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Data returns the bytes of a tensor of f (no copy; read-only when mapped).
func (f *File) Data(ti *TensorInfo) []byte {
	lo, hi := f.dataOff+ti.Begin, f.dataOff+ti.End
	return f.data[lo:hi:hi]
}

// Release tells the system that the pages of tensor ti will not be read
// again soon (see mmap.Release), so a pass over a large checkpoint keeps
// only the tensor at hand resident.
func (f *File) Release(ti *TensorInfo) {
	if f.unmap == nil || len(f.data) == 0 {
		return
	}
	mmap.Release(f.data, int(f.dataOff+ti.Begin), int(f.dataOff+ti.End))
}

// Path is the file's path ("" for Parse).
func (f *File) Path() string { return f.path }

// Close releases the mapping of a file opened with Open.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Open maps the file at path read-only and parses its header.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	f.unmap, f.path = unmap, path
	return f, nil
}

// headerEntry is one tensor's JSON object.
type headerEntry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]int64  `json:"shape"`
	DataOffsets *[2]int64 `json:"data_offsets"`
}

// Parse reads a safetensors file held in memory. The File refers to data.
// Everything the file says is checked before it is used: the header length
// against the file, each dtype, shape and byte range, and that the tensors
// tile the data buffer exactly (a gap or an overlap means the header lies).
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: file of %d bytes is shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file (truncated?)", n, len(data))
	}
	hdr := data[8 : 8+n]
	if len(bytes.TrimSpace(hdr)) == 0 || hdr[0] != '{' {
		return nil, errors.New("safetensors: header does not start with a JSON object")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: header JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("safetensors: header JSON: data after the object")
	}
	f := &File{data: data, dataOff: int64(8 + n), index: make(map[string]int, len(raw))}
	size := int64(len(data)) - f.dataOff
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, errors.New("safetensors: __metadata__ must be an object of strings")
			}
			continue
		}
		ti, err := parseEntry(name, msg)
		if err != nil {
			return nil, err
		}
		f.Tensors = append(f.Tensors, ti)
	}
	slices.SortFunc(f.Tensors, func(a, b TensorInfo) int {
		if a.Begin != b.Begin {
			return cmpInt(a.Begin, b.Begin)
		}
		// Zero-size tensors share an offset; order them by name for a
		// deterministic listing.
		return strings.Compare(a.Name, b.Name)
	})
	var end int64
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if ti.Begin != end {
			if ti.Begin < end {
				return nil, fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) overlap the previous tensor's, which end at %d", ti.Name, ti.Begin, ti.End, end)
			}
			return nil, fmt.Errorf("safetensors: tensor %q: starts at %d, leaving a gap after byte %d of the data", ti.Name, ti.Begin, end)
		}
		if ti.End > size {
			return nil, fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) run past the %d bytes of data (truncated file?)", ti.Name, ti.Begin, ti.End, size)
		}
		end = ti.End
		f.index[ti.Name] = i
	}
	if end != size {
		return nil, fmt.Errorf("safetensors: the tensors cover %d of the %d bytes of data", end, size)
	}
	return f, nil
}

func parseEntry(name string, msg json.RawMessage) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	if name == "" {
		return ti, errors.New("safetensors: a tensor has an empty name")
	}
	var e headerEntry
	d := json.NewDecoder(bytes.NewReader(msg))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return ti, fmt.Errorf("safetensors: tensor %q: %v", name, err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return ti, fmt.Errorf("safetensors: tensor %q: needs dtype, shape and data_offsets", name)
	}
	t, err := ParseDType(*e.DType)
	if err != nil {
		return ti, fmt.Errorf("safetensors: tensor %q: %v", name, err)
	}
	ti.DType, ti.Shape = t, *e.Shape
	if len(ti.Shape) > MaxDims {
		return ti, fmt.Errorf("safetensors: tensor %q: %d dimensions (at most %d)", name, len(ti.Shape), MaxDims)
	}
	elems := int64(1)
	for i, x := range ti.Shape {
		if x < 0 || (x > 0 && elems > math.MaxInt64/x/t.Size()) {
			return ti, fmt.Errorf("safetensors: tensor %q: dimension %d is %d (negative, or the byte size overflows)", name, i, x)
		}
		elems *= x
	}
	ti.Begin, ti.End = e.DataOffsets[0], e.DataOffsets[1]
	if ti.Begin < 0 || ti.End < ti.Begin {
		return ti, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] are not a byte range", name, ti.Begin, ti.End)
	}
	if want := elems * t.Size(); ti.End-ti.Begin != want {
		return ti, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] hold %d bytes, but %v %v needs %d", name, ti.Begin, ti.End, ti.End-ti.Begin, t, ti.Shape, want)
	}
	return ti, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
