// Reference: IEEE 754 binary16/bfloat16 conversions as kernel/fp16.go does
// them (round to nearest even, as numpy's astype and ggml do); the row
// permutation of llama.cpp convert_hf_to_gguf.py LlamaModel.permute.

package hf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// elem is the element type of a float tensor on either side.
type elem uint8

const (
	eF32 elem = iota
	eF16
	eBF16
	eF64 // read only: HF checkpoints may hold float64 (written as F32)
)

func (e elem) size() int {
	switch e {
	case eF16, eBF16:
		return 2
	case eF64:
		return 8
	}
	return 4
}

func (e elem) String() string { return [...]string{"F32", "F16", "BF16", "F64"}[e] }

// matrix is a float tensor's bytes seen as rows × cols (1-D: one row).
type matrix struct {
	data       []byte
	kind       elem
	rows, cols int
}

// rowPlan says how output rows come from a source matrix.
type rowPlan struct {
	// rowOf maps an output row to the source row (nil: identity).
	rowOf func(r int) int
	// transpose: output row r is source column r (the source is cols × rows
	// of the output); GPT-2's Conv1D weights.
	transpose bool
}

// chunk bounds the bytes streamRows builds before writing: the converter's
// working memory besides the mapped source.
const chunk = 1 << 20

// streamRows writes the output matrix (rows × cols of the source, or cols ×
// rows when transposed) in kind to, row by row through one reused buffer.
// When kinds agree the bytes are copied as they are, so a float value
// (NaN payloads included) keeps its bits.
func streamRows(w io.Writer, src matrix, to elem, p rowPlan) error {
	rows, cols := src.rows, src.cols
	if p.transpose {
		rows, cols = cols, rows
	}
	if len(src.data) != rows*cols*src.kind.size() {
		return fmt.Errorf("hf: %d bytes for %d × %d %v", len(src.data), src.rows, src.cols, src.kind)
	}
	if p.rowOf == nil && !p.transpose && src.kind == to {
		_, err := w.Write(src.data)
		return err
	}
	in, out := src.kind.size(), to.size()
	buf := make([]byte, 0, max(chunk, cols*out))
	row := make([]byte, cols*in)
	for r := 0; r < rows; r++ {
		switch {
		case p.transpose:
			// Output row r is source column r: element c is at source row c.
			for c := 0; c < cols; c++ {
				copy(row[c*in:(c+1)*in], src.data[(c*rows+r)*in:])
			}
		default:
			sr := r
			if p.rowOf != nil {
				sr = p.rowOf(r)
			}
			copy(row, src.data[sr*cols*in:(sr+1)*cols*in])
		}
		buf = appendConverted(buf, row, src.kind, to)
		if len(buf)+cols*out > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// appendConverted appends the elements of row (kind from) in kind to.
func appendConverted(dst, row []byte, from, to elem) []byte {
	if from == to {
		return append(dst, row...)
	}
	n := len(row) / from.size()
	for i := 0; i < n; i++ {
		var f float32
		switch from {
		case eF32:
			f = math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
		case eF16:
			f = kernel.FP16ToFP32(binary.LittleEndian.Uint16(row[2*i:]))
		case eBF16:
			f = kernel.BF16ToFP32(binary.LittleEndian.Uint16(row[2*i:]))
		case eF64:
			f = float32(math.Float64frombits(binary.LittleEndian.Uint64(row[8*i:])))
		}
		switch to {
		case eF32:
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
		case eF16:
			dst = binary.LittleEndian.AppendUint16(dst, kernel.FP32ToFP16(f))
		case eBF16:
			dst = binary.LittleEndian.AppendUint16(dst, kernel.FP32ToBF16(f))
		}
	}
	return dst
}

// ropePermute gives the source row of each output row of a Q or K weight
// (or bias) for heads of width rows/heads. Hugging Face stores each head's
// rotary pairs as two halves (x[i], x[i+d/2]); GGUF's llama layout, like
// Meta's original, interleaves them (x[2i], x[2i+1]). Converting (toGGUF)
// takes output row h·d + 2i + j from source row h·d + j·d/2 + i; exporting
// is the inverse.
func ropePermute(rows, heads int, toGGUF bool) (func(int) int, error) {
	if heads <= 0 || rows%heads != 0 || (rows/heads)%2 != 0 {
		return nil, fmt.Errorf("hf: %d rows do not split into %d heads of even width", rows, heads)
	}
	d := rows / heads
	return func(r int) int {
		h, k := r/d, r%d
		if toGGUF {
			i, j := k/2, k%2
			return h*d + j*d/2 + i
		}
		j, i := k/(d/2), k%(d/2)
		return h*d + 2*i + j
	}, nil
}
