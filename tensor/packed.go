// Reference: ggml/src/ggml-cpu/repack.cpp (llama.cpp's CPU backend repacks Q4_0 weights at load into
// blocks of eight interleaved rows and keeps them in its own buffer).

package tensor

import (
	"fmt"

	"github.com/gptgo/gptgo/kernel"
)

// Pack gives a Q4_0 matrix whose row count is a multiple of eight a second
// copy of its weights in the Q4_0x8 layout (kernel.PackQ4_0x8), which
// MatMul then multiplies eight rows at a time, with each row's bits
// unchanged. Data stays as it was, for everything else that reads rows
// (an embedding lookup, Row, Float32s); a caller that reads it only
// through MatMul may let its pages go (gguf.File.Release). Pack reports
// whether it packed; other types and shapes are left alone.
//
// Why: the single-row Q4_0 dot spends most of its time on per-row work
// (splitting the nibbles, a horizontal sum, one scalar FMA per block);
// eight rows per pass share the activation block and end in one vector of
// eight sums, and read one memory stream instead of eight. llama.cpp
// repacks Q4_0 too on AVX2 machines; that was where its Q4_0 lead over ours
// came from, and packing turned it round (docs/performance.md, "Fifth
// session").
func (t *Tensor) Pack() (bool, error) {
	if t.DType != Q4_0 || t.packed != nil || len(t.Shape) != 2 || t.Rows()%kernel.Q4_0x8Rows != 0 {
		return false, nil
	}
	n, rb := t.Cols(), t.RowBytes()
	gb := kernel.Q4_0x8Rows * rb
	p := make([]byte, len(t.Data))
	for g := 0; g < len(p); g += gb {
		if err := kernel.PackQ4_0x8(n, t.Data[g:g+gb], rb, p[g:g+gb]); err != nil {
			return false, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	t.packed = p
	return true, nil
}

// Packed reports whether Pack has given t a packed copy.
func (t *Tensor) Packed() bool { return t.packed != nil }

// matmulPacked is MatMul for a packed Q4_0 matrix: each worker takes whole
// groups of eight rows, and a prefill multiplies each group (in L1) by a
// tile of activation rows (in L2).
func (p *Pool) matmulPacked(w *Tensor, x []float32, nb int, out []float32) error {
	C, R := w.Cols(), w.Rows()
	xb, _, err := p.activations(Q8_0, x[:nb*C], nb, C, false)
	if err != nil {
		return fmt.Errorf("tensor: matmul %s: %w", w.Name, err)
	}
	m := &p.mm
	*m = matmulTask{packed: true, w: w.packed, rb: w.RowBytes(), x: xb, xRow: len(xb) / nb, C: C, R: R, nb: nb, out: out}
	m.xTile = max(1, matmulTileBytes/max(m.xRow, 1))
	chunk := matmulRows
	if nb <= decodeRows {
		chunk = max(matmulRows, (R+decodeSplit*p.n-1)/(decodeSplit*p.n))
	}
	chunk = (chunk + kernel.Q4_0x8Rows - 1) &^ (kernel.Q4_0x8Rows - 1)
	p.forTask(R, chunk, m)
	*m = matmulTask{}
	return nil
}

// runPacked computes rows [start, end) (whole groups of eight) of a packed
// matmul.
func (m *matmulTask) runPacked(start, end int) {
	if m.nb == 1 {
		kernel.DotQ4_0x8Rows(m.C, m.w[start*m.rb:end*m.rb], m.x, m.out[start:end])
		return
	}
	gb := kernel.Q4_0x8Rows * m.rb
	for b0 := 0; b0 < m.nb; b0 += m.xTile {
		b1 := min(b0+m.xTile, m.nb)
		for g := start; g < end; g += kernel.Q4_0x8Rows {
			wg := m.w[g*m.rb : g*m.rb+gb]
			b := b0
			for ; b+4 <= b1; b += 4 { // four activation rows per pass, each row's bits unchanged
				kernel.TileQ4_0x8(m.C, wg, m.x[b*m.xRow:(b+4)*m.xRow], m.xRow, m.out[b*m.R+g:], m.R)
			}
			for ; b < b1; b++ {
				o := m.out[b*m.R+g : b*m.R+g+kernel.Q4_0x8Rows]
				kernel.DotQ4_0x8Rows(m.C, wg, m.x[b*m.xRow:(b+1)*m.xRow], o)
			}
		}
	}
}
