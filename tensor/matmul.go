// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_compute_forward_mul_mat: activations converted once to
// vec_dot_type, rows split over threads); ggml/src/ggml-cpu/llamafile/sgemm.cpp (blocking for reuse).

package tensor

import (
	"fmt"

	"github.com/gptgo/gptgo/kernel"
)

// MatMul computes out[b*R + r] = dot(row r of w, x[b*C : (b+1)*C]) for the
// nb activation rows in x, where w has C = w.Cols() columns and R = w.Rows()
// rows. The activations are converted once to the weight type's VecDotType
// (e.g. Q8_0 for Q4_0 weights), as llama.cpp's CPU backend converts them
// (activationQuantizers), and reused for every weight row.
//
// Where the time goes: a decode step (nb = 1) streams every weight byte from
// memory once, so it runs at memory bandwidth if the dot kernel keeps up. A
// prefill (nb > 1) reads each weight row from cache many times: the rows are
// split over workers in chunks of matmulRows, and each chunk is multiplied
// by the activation rows a tile at a time, the tile sized so that it and the
// chunk stay in L2 while every pair is computed.
//
// Where the CPU allows (tileKernels: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K, Q4_1, Q5_0, Q5_1, IQ4_NL), each weight row is multiplied by groups of four activation rows in
// one tile kernel, which loads (and for the quantized types unpacks) each
// weight block once for four products. A tile computes each product in the
// very order of the single dot, so a row's result is the same bit for bit
// whether it comes alone (nb = 1) or in a batch.
// Where the CPU has AVX512-VNNI, Q8_0 (scaledTiles4) and Q5_0, IQ4_NL,
// Q4_1, Q5_1 (tiles4) first take whole groups of four weight rows by four
// activation rows in one 4×4 tile, which unpacks each weight block once
// for four activation rows, with the same bits again.
//
// A Q4_0 matrix that Pack has packed goes through matmulPacked instead,
// eight weight rows per kernel call, with the same bits per row.
//
// So the result does not depend on the number of workers or the activation
// tiling. After the first call with a given size, MatMul allocates nothing.
//
// One activation row by F16 or BF16 weights goes, where the CPU allows,
// through matmulHalfX: the row converted to the weight type as llama.cpp
// converts it, the dot in ggml_vec_dot_f16's or _bf16's order (the same
// bits as DotF16GGMLRows / DotBF16GGMLRows for a row that the type
// represents, as model.State makes it).
//
// A prefill of F16 or BF16 weights (nb >= gemmMinRows) goes through
// gemmHalf instead, with the activations rounded to the weight type as
// llama.cpp converts them to its vec_dot_type, and summed in tinyBLAS's
// order (or the packed GEMM's): those rows' results differ from a single
// row's by float32 rounding (and are still independent of the workers).
func (p *Pool) MatMul(w *Tensor, x []float32, nb int, out []float32) error {
	f := FormatOf(w.DType)
	if f.VecDot == nil {
		return fmt.Errorf("tensor: matmul: no dot product for %v weights (%s)", w.DType, w.Name)
	}
	C, R := w.Cols(), w.Rows()
	if nb < 0 || len(x) < nb*C || len(out) < nb*R {
		return fmt.Errorf("tensor: matmul %s: x has %d values for %d×%d, out %d for %d×%d", w.Name, len(x), nb, C, len(out), nb, R)
	}
	if nb == 0 {
		return nil
	}
	if (w.DType == F16 || w.DType == BF16) && nb >= gemmMinRows {
		p.gemmHalf(w, x[:nb*C], nb, out)
		return nil
	}
	if nb == 1 && halfXDecode(w.DType) {
		p.matmulHalfX(w, x, out)
		return nil
	}
	if w.packed != nil {
		return p.matmulPacked(w, x, nb, out)
	}
	stile := scaledTiles[w.DType]
	xb, xd, err := p.activations(f.VecDotType, x[:nb*C], nb, C, stile != nil)
	if err != nil {
		return fmt.Errorf("tensor: matmul %s: %w", w.Name, err)
	}
	dot := f.VecDot
	if bd := batchDots[w.DType]; bd != nil && nb >= 2 {
		dot = bd
	}
	m := &p.mm
	*m = matmulTask{dot: dot, rows: rowDots[w.DType], tile: tileKernels[w.DType], stile: stile, stile4: scaledTiles4[w.DType], tile4: tiles4[w.DType], w: w.Data, rb: w.RowBytes(), x: xb, xRow: len(xb) / nb, xd: xd, C: C, R: R, nb: nb, out: out}
	m.xTile = max(4, matmulTileBytes/max(m.xRow, 1)&^3) // a multiple of 4, whole tile groups
	chunk := matmulRows
	if nb <= decodeRows {
		chunk = max(matmulRows, ((R+decodeSplit*p.n-1)/(decodeSplit*p.n)+3)&^3) // whole 4-row tiles
	}
	p.forTask(R, chunk, m)
	*m = matmulTask{} // drop references to the caller's data
	return nil
}

// matmulRows is how many weight rows a worker takes at a time: small enough
// that two workers share the last rows evenly, large enough that handing out
// a chunk (one atomic add) costs nothing beside it.
const matmulRows = 16

// decodeSplit: for one activation row (a decode step), the rows are cut
// into decodeSplit chunks per worker instead of chunks of matmulRows, so
// that each worker streams long runs of contiguous weights, which the
// hardware prefetchers and DRAM pages reward: on the 110M Q8_0 model
// (`gptgo bench -p 0 -n 128 -r 3`), chunks of 16 rows gave 105–109 tok/s,
// 64 rows 126–134, 256 rows 136–142, and 1, 2 or 4 chunks per worker
// 132–137. Two keep some balance when a core is starved.
const decodeSplit = 2

// decodeRows is the most activation rows that still take decodeSplit's
// long runs: a decode step of a batch of sequences streams the weights as
// one row does (the 4×4 tiles read them at the same rate), so chunks of
// matmulRows, handed out in turn to the two workers, would break the runs
// the same way.
const decodeRows = 16

// matmulTileBytes bounds the activation bytes one pass over a chunk of
// weight rows reuses: half of Zen 3's 512 KiB L2, leaving room for the
// weight chunk (16 rows of 4096 Q8_0 values are 70 KiB).
const matmulTileBytes = 256 << 10

// matmulTask is one MatMul's arguments, kept in the pool so that handing it
// to the workers allocates nothing.
type matmulTask struct {
	packed bool // w is a packed Q4_0 matrix (runPacked)
	dot    func(n int, w, x []byte) float32
	rows   kernel.DotRows // the dot over a run of rows, for nb = 1; may be nil
	tile   tileFunc       // nil where no 1×4 tile kernel exists
	stile  scaledTileFunc // instead of tile for Q8_0 activations, with xd
	w      []byte         // weight rows, rb bytes each
	rb     int
	x      []byte // activation rows in VecDotType, xRow bytes each
	xRow   int
	xd     []float32 // x's block scales as float32, four rows interleaved (stile's)
	xTile  int       // activation rows per pass over a chunk of weight rows
	C, R   int
	nb     int
	out    []float32

	stile4 scaledTile4Func // four weight rows by four activation rows, before stile; may be nil
	tile4  tile4Func       // the same before tile; may be nil
}

func (m *matmulTask) run(start, end int) {
	if m.packed {
		m.runPacked(start, end)
		return
	}
	if m.nb == 1 && m.rows != nil {
		m.rows(m.C, m.w[start*m.rb:], m.rb, m.x, m.out[start:end])
		return
	}
	for b0 := 0; b0 < m.nb; b0 += m.xTile {
		b1 := min(b0+m.xTile, m.nb)
		r := start
		if (m.tile != nil || m.stile != nil) && b1-b0 >= 4 {
			bq := b0 + (b1-b0)&^3 // end of the whole groups of four
			xdGroup := 4 * (m.C / kernel.QK)
			for ; (m.stile4 != nil || m.tile4 != nil) && r+4 <= end; r += 4 { // four weight rows at a time, the same bits
				for b := b0; b < bq; b += 4 {
					if m.stile4 != nil {
						m.stile4(m.C, m.w[r*m.rb:(r+4)*m.rb], m.rb, m.x[b*m.xRow:(b+4)*m.xRow], m.xRow, m.xd[b/4*xdGroup:], m.out[b*m.R+r:], m.R)
					} else {
						m.tile4(m.C, m.w[r*m.rb:(r+4)*m.rb], m.rb, m.x[b*m.xRow:(b+4)*m.xRow], m.xRow, m.out[b*m.R+r:], m.R)
					}
				}
				for b := bq; b < b1; b++ {
					for i := r; i < r+4; i++ {
						m.out[b*m.R+i] = m.dot(m.C, m.w[i*m.rb:(i+1)*m.rb], m.x[b*m.xRow:(b+1)*m.xRow])
					}
				}
			}
			for ; r < end; r++ {
				wr := m.w[r*m.rb : (r+1)*m.rb]
				for b := b0; b < bq; b += 4 {
					if m.stile != nil {
						m.stile(m.C, wr, m.x[b*m.xRow:(b+4)*m.xRow], m.xRow, m.xd[b/4*xdGroup:], m.out[b*m.R+r:], m.R)
					} else {
						m.tile(m.C, wr, m.x[b*m.xRow:(b+4)*m.xRow], m.xRow, m.out[b*m.R+r:], m.R)
					}
				}
				for b := bq; b < b1; b++ {
					m.out[b*m.R+r] = m.dot(m.C, wr, m.x[b*m.xRow:(b+1)*m.xRow])
				}
			}
		}
		for ; r < end; r++ {
			wr := m.w[r*m.rb : (r+1)*m.rb]
			for b := b0; b < b1; b++ {
				m.out[b*m.R+r] = m.dot(m.C, wr, m.x[b*m.xRow:(b+1)*m.xRow])
			}
		}
	}
}

// tileFunc computes out[j*outStride] = dot(w, row j of x) for one weight row
// and four activation rows xStride bytes apart, bit for bit as the dot does.
type tileFunc func(n int, w, x []byte, xStride int, out []float32, outStride int)

// tileKernels holds the tile kernel of each weight type that has one; the
// amd64 file fills it at start-up when the CPU allows.
var tileKernels [numDTypes]tileFunc

// rowDots holds the DotRows form of the dots that have one (kernel.DotQ8_0Rows
// for Q8_0, …), which a decode step's matmul uses instead of a dot call per
// row. F16 and BF16 take llama.cpp's order for one token
// (kernel.DotF16GGMLRows, DotBF16GGMLRows), as F32 does in model.State
// (their batches go through gemmHalf, in tinyBLAS's order, either way).
var rowDots = [numDTypes]kernel.DotRows{
	F16:  kernel.DotF16GGMLRows,
	BF16: kernel.DotBF16GGMLRows,
	Q8_0: kernel.DotQ8_0Rows,
	Q4_0: kernel.DotQ4_0Rows,
	Q4_K: kernel.DotQ4_KRows,
	Q5_K: kernel.DotQ5_KRows,
	Q6_K: kernel.DotQ6_KRows,
	Q4_1: kernel.DotQ4_1Rows, Q5_0: kernel.DotQ5_0Rows, Q5_1: kernel.DotQ5_1Rows, IQ4_NL: kernel.DotIQ4_NLRows,
}

// batchDots holds, for the weight types whose llama.cpp batched matmul (two
// or more activation rows) sums in another order than its single-token dot,
// the dot in that order, which MatMul takes for every product of a batch:
// IQ4_NL, whose batches go through tinyBLAS (one set of lanes) where one
// token goes through ggml_vec_dot_iq4_nl_q8_0 (two). Their tiles
// (tileKernels) compute this dot's bits.
var batchDots = [numDTypes]func(n int, w, x []byte) float32{
	IQ4_NL: kernel.DotIQ4_NLTinyBLAS,
}

// scaledTileFunc is a tileFunc for Q8_0 activations that also reads the
// four rows' block scales as float32, interleaved (kernel.Q8_0Scales4).
type scaledTileFunc func(n int, w, x []byte, xStride int, xd, out []float32, outStride int)

// scaledTiles holds the scaledTileFunc of the weight types whose tile takes
// one (Q8_0, Q4_0), in place of tileKernels.
var scaledTiles [numDTypes]scaledTileFunc

// scaledTile4Func is a scaledTileFunc for four weight rows rb bytes apart:
// out[j*outStride+i] = dot(n, w[i*rb:], row j of x) for i, j < 4, bit for bit.
type scaledTile4Func func(n int, w []byte, rb int, x []byte, xStride int, xd, out []float32, outStride int)

// scaledTiles4 holds the 4×4 tiles (Q8_0 where the CPU has AVX512-VNNI),
// which MatMul runs before the 1×4 scaledTiles on the rows left over.
var scaledTiles4 [numDTypes]scaledTile4Func

// tile4Func is a tileFunc for four weight rows rb bytes apart:
// out[j*outStride+i] = dot(n, w[i*rb:], row j of x) for i, j < 4, bit for
// bit the tileFunc's products.
type tile4Func func(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int)

// tiles4 holds the 4×4 tiles of tileKernels types (Q5_0, IQ4_NL, Q4_1 and
// Q5_1 where the CPU has AVX512-VNNI), which MatMul runs before the 1×4
// tileKernels on the rows left over: each weight block is unpacked once for
// four activation rows instead of once per four products.
var tiles4 [numDTypes]tile4Func

// quantTask converts activation rows to a block type, and where xd is not
// nil (Q8_0 for a scaled tile), each whole group of four rows' block scales
// to float32 once the group's last row is done.
type quantTask struct {
	quant   func(src []float32, dst []byte)
	x       []float32
	buf     []byte
	n, size int // values and bytes per row
	xd      []float32
}

func (q *quantTask) run(start, end int) {
	for b := start; b < end; b++ {
		q.quant(q.x[b*q.n:(b+1)*q.n], q.buf[b*q.size:(b+1)*q.size])
	}
	if q.xd == nil {
		return
	}
	nblk := q.n / kernel.QK
	for g := (start + 3) / 4; 4*g+4 <= end; g++ { // the groups wholly in [start, end)
		kernel.Q8_0Scales4(nblk, q.buf[4*g*q.size:], q.size, q.xd[4*g*nblk:])
	}
}

// activationQuantizers holds, for the activation types whose llama.cpp CPU
// converter (type_traits_cpu's from_float on AVX2) differs from the reference
// quantizer, that converter: Q8_0 and Q8_1 (127/amax, ties to even). The
// others (Q8_K: quantize_row_q8_K is the reference) use Format.Quantize,
// which stays the reference algorithm so that weights gptgo writes are
// llama-quantize's bytes.
var activationQuantizers = [numDTypes]func(src []float32, dst []byte){
	Q8_0: kernel.QuantizeQ8_0Activations,
	Q8_1: kernel.QuantizeQ8_1Activations,
}

// activations returns x (nb rows of n values) in type t, reusing the pool's
// scratch buffer; F32 needs no conversion. With scales (for a scaled tile;
// t must be Q8_0) and nb >= 4 it also returns the block scales of the whole
// groups of four rows as float32, interleaved as the tile reads them.
func (p *Pool) activations(t DType, x []float32, nb, n int, scales bool) ([]byte, []float32, error) {
	if t == F32 {
		return F32Bytes(x), nil, nil
	}
	rowSize, err := t.RowSize(int64(n))
	if err != nil {
		return nil, nil, err
	}
	quant := activationQuantizers[t]
	if quant == nil {
		quant = FormatOf(t).Quantize
	}
	if quant == nil {
		return nil, nil, fmt.Errorf("cannot convert activations to %v", t)
	}
	need := int(rowSize) * nb
	if cap(p.scratch) < need {
		p.scratch = make([]byte, need)
	}
	var xd []float32
	if scales && t == Q8_0 && nb >= 4 {
		nd := (nb &^ 3) * (n / kernel.QK)
		if cap(p.xd) < nd {
			p.xd = make([]float32, nd)
		}
		xd = p.xd[:nd]
	}
	q := &p.quant
	*q = quantTask{quant: quant, x: x, buf: p.scratch[:need], n: n, size: int(rowSize), xd: xd}
	p.forTask(nb, 4, q) // groups of four stay whole for their scales
	*q = quantTask{}
	return p.scratch[:need], xd, nil
}

// gemmMinRows is the activation row count from which F16 and BF16 weights go
// through gemmHalf rather than the 1×4 dot tiles; decode (one row) keeps the
// dot and its bits. Two is where llama.cpp switches to tinyBLAS too, and so
// every batch of two or more rows gets the same bits for a row whatever the
// batch. BenchmarkMatMulHalfCrossover (2048×2048, 2 workers, under load):
// 2 rows 12 → 33 GFLOP/s, 3 rows 17 → 37, 4 rows a tie (~50, the dot tile's
// best case), 32 rows 35 → 78.
var gemmMinRows = 2

// gemmHalf computes out = x·Wᵀ for F16 or BF16 weights W (R rows of C) and nb
// activation rows x. The activations are first rounded to F16 (BF16), as
// llama.cpp converts them to its vec_dot_type for these weights. Then, where
// C is a multiple of 8, every product is summed in the order of llama.cpp's
// AVX2 tinyBLAS (kernel.GemmHalfLanes8Range), so that a prefill stays as
// close to llama.cpp's as the dot products are; otherwise (tinyBLAS declines
// those) the packed GEMM widens the weights while packing them
// (kernel.GemmF16Range, GemmBF16Range). Either way C is cut into blocks, each
// computed whole by one worker, so the result does not depend on the
// workers.
func (p *Pool) gemmHalf(w *Tensor, x []float32, nb int, out []float32) {
	C, R := w.Cols(), w.Rows()
	if cap(p.xh) < len(x) {
		p.xh = make([]float32, len(x))
	}
	xh := p.xh[:len(x)]
	bf16 := w.DType == BF16
	if bf16 {
		kernel.RoundBF16Into(xh, x)
	} else {
		kernel.RoundF16Into(xh, x)
	}
	g := &p.gh
	*g = gemmHalfTask{bf16: bf16, lanes: C%8 == 0, a: xh, b: w.Data, c: out, M: nb, N: R, K: C}
	if g.lanes {
		g.rows, g.cols = halfBlockRows, halfBlockCols
	} else {
		g.rows, g.cols = gemmBlocks(p.n, nb, R)
		g.cols = gemmBlockCols
	}
	g.bn = (R + g.cols - 1) / g.cols
	p.forTask(g.bn*((nb+g.rows-1)/g.rows), 1, g)
	*g = gemmHalfTask{}
}

// halfBlockRows activation rows (a multiple of the tile's 3) by
// halfBlockCols weight rows make one block of the lanes-of-8 path: on a 110M
// model's 512-token prefill, 12 to 24 blocks per worker to even out a slow
// core, each long enough that its tiles run from L1 and L2.
const (
	halfBlockRows = 96
	halfBlockCols = 256
)

// gemmHalfTask is one gemmHalf's arguments, kept in the pool so that handing
// it to the workers allocates nothing. Item b is the C block with rows from
// b/bn*rows and columns from b%bn*cols.
type gemmHalfTask struct {
	bf16, lanes bool
	a           []float32 // M×K activations, rounded
	b           []byte    // N×K weights, 2 bytes each
	c           []float32 // M×N out
	M, N, K     int
	rows, cols  int
	bn          int
}

func (g *gemmHalfTask) run(start, end int) {
	for b := start; b < end; b++ {
		m0, n0 := b/g.bn*g.rows, b%g.bn*g.cols
		m1, n1 := min(m0+g.rows, g.M), min(n0+g.cols, g.N)
		switch {
		case g.lanes:
			kernel.GemmHalfLanes8Range(g.bf16, g.K, g.a, g.K, g.b, g.K, g.c, g.N, m0, m1, n0, n1)
		case g.bf16:
			kernel.GemmBF16Range(g.M, g.N, g.K, g.a, g.K, g.b, g.K, g.c, g.N, m0, m1, n0, n1)
		default:
			kernel.GemmF16Range(g.M, g.N, g.K, g.a, g.K, g.b, g.K, g.c, g.N, m0, m1, n0, n1)
		}
	}
}
