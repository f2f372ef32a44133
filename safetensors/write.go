// Reference: huggingface/safetensors README, "Format", and
// safetensors/src/tensor.rs (serialize: the header padded with spaces to a
// multiple of 8 bytes so the data starts aligned).

package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/gptgo/gptgo/internal/atomicfile"
)

// Tensor is what Write needs to know of a tensor before its data.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64 // PyTorch order
}

// Size returns the bytes of t's data.
func (t *Tensor) Size() int64 {
	n := t.DType.Size()
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Source writes the data of tensor i (exactly its Size bytes) to w. Write
// calls it once per tensor in order, so a model never needs to be in memory
// whole.
type Source func(i int, w io.Writer) error

// Write writes a safetensors file: the header (metadata first, then the
// tensors in the given order, back to back) and each tensor's data.
func Write(w io.Writer, ts []Tensor, meta map[string]string, src Source) error {
	hdr, err := header(ts, meta)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	bw.Write(n[:])
	bw.Write(hdr)
	for i := range ts {
		lw := &limitWriter{w: bw, left: ts[i].Size()}
		if err := src(i, lw); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", ts[i].Name, err)
		}
		if lw.left != 0 {
			return fmt.Errorf("safetensors: tensor %q: source wrote %d bytes too few", ts[i].Name, lw.left)
		}
	}
	return bw.Flush()
}

// WriteFile writes a safetensors file at path atomically (temporary file,
// sync, rename): a failure leaves no partial file.
func WriteFile(path string, ts []Tensor, meta map[string]string, src Source) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, ts, meta, src) }); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return nil
}

// header encodes the JSON header, padded with spaces to a multiple of 8.
func header(ts []Tensor, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(meta) > 0 {
		b.WriteString(`"__metadata__":{`)
		for i, k := range slices.Sorted(maps.Keys(meta)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(&b, k)
			b.WriteByte(':')
			writeJSON(&b, meta[k])
		}
		b.WriteByte('}')
	}
	seen := make(map[string]bool, len(ts))
	var off int64
	for i := range ts {
		t := &ts[i]
		if t.Name == "" || t.Name == "__metadata__" || seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor name %q is empty, reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		if t.DType.Size() == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: invalid dtype %v", t.Name, t.DType)
		}
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in %v", t.Name, t.Shape)
			}
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSON(&b, t.Name)
		fmt.Fprintf(&b, `:{"dtype":"%v","shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, d)
		}
		size := t.Size()
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, off+size)
		off += size
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// limitWriter refuses bytes beyond a tensor's size, so a wrong source
// cannot shift every later tensor.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("source wrote more than the tensor's size")
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}
