// Reference: Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication" (ACM TOMS 34(3), 2008);
// BLIS (Van Zee & van de Geijn, ACM TOMS 41(3), 2015): packed panels, a register-blocked micro-kernel.

package kernel

import "sync"

// GemmF32 computes C (+)= op(A)·op(B) in single precision, all matrices
// row-major:
//
//	for i := 0; i < M; i++ {
//		for j := 0; j < N; j++ {
//			var s float32
//			for k := 0; k < K; k++ {
//				s += opA(i, k) * opB(k, j)
//			}
//			C[i*ldc+j] = s // C[i*ldc+j] += s when accumulate
//		}
//	}
//
// where opA(i, k) is A[i*lda+k], or A[k*lda+i] when transA (A stored K×M),
// and opB(k, j) is B[k*ldb+j], or B[j*ldb+k] when transB (B stored N×K).
// The transposes are taken care of while packing, so no transposed copy is
// ever made. It is GemmF32Range over the whole of C.
func GemmF32(transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool) {
	GemmF32Range(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, 0, M, 0, N)
}

// GemmF32Range is GemmF32 restricted to the block of C with rows [m0, m1)
// and columns [n0, n1); it reads and writes nothing of C outside the block.
// Callers split C into blocks over their workers (tensor.Pool.Gemm does).
//
// The result does not depend on the split: every element's K-sum runs over
// the fixed K blocks [0, gemmKC), [gemmKC, 2·gemmKC), … in order, each block
// summed from zero in k order by the micro-kernel (one fused multiply-add per
// product in the assembly; a rounded product and an add in plain Go) and then
// added to C (or stored, for the first block when not accumulating). Edge
// tiles are computed on zero-padded panels by the same micro-kernel, so an
// element gets the same bits whether it lies in a full tile or not.
//
// Where the time goes: the micro-kernel, which keeps a gemmMR×gemmNR block
// of C in registers while it streams a packed A micro-panel (gemmMR rows,
// from L2) and a packed B micro-panel (gemmNR columns, from L1). Packing
// costs O((M+N)·K) per block against the O(M·N·K) products.
//
// Where the AVX-512 pair kernel runs, an operand whose packed panels would
// serve few tiles is read in place instead (gemmMacroRows for an
// untransposed A, gemmBlocksBInPlace for a transposed A times an
// untransposed B), by kernels that sum each element exactly as the packed
// one does.
//
// After warm-up it allocates nothing: the packing buffers are reused.
func GemmF32Range(transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool, m0, m1, n0, n1 int) {
	if m0 < 0 || n0 < 0 || m1 > M || n1 > N || K < 0 || ldc < N {
		panic("kernel: GemmF32Range: block or sizes out of range")
	}
	if transA && !transB && gemmKernelPair != nil && gemmKernelPairB != nil && m0 < m1 && n0 < n1 && K > 0 {
		gemmBlocksBInPlace(K, A, lda, B, ldb, C, ldc, accumulate, m0, m1, n0, n1)
		return
	}
	gemmBlocks(transA, K, A, lda, C, ldc, accumulate, m0, m1, n0, n1, func(pc, kc, jc, nc int, dst []float32) {
		packB(transB, B, ldb, pc, kc, jc, nc, dst)
	})
}

// gemmBlocks is the blocked loop of GemmF32Range and the half-precision
// GEMMs, which differ only in how B is packed: packB writes the kc×nc panel
// of B at (pc, jc) into dst in the micro-kernel's layout.
func gemmBlocks(transA bool, K int, A []float32, lda int, C []float32, ldc int, accumulate bool, m0, m1, n0, n1 int, packB func(pc, kc, jc, nc int, dst []float32)) {
	if m0 >= m1 || n0 >= n1 {
		return
	}
	if K == 0 {
		if !accumulate {
			for i := m0; i < m1; i++ {
				clear(C[i*ldc+n0 : i*ldc+n1])
			}
		}
		return
	}
	s := gemmScratchPool.Get().(*gemmScratch)
	defer gemmScratchPool.Put(s)
	for jc := n0; jc < n1; jc += gemmNC {
		nc := min(gemmNC, n1-jc)
		for pc := 0; pc < K; pc += gemmKC {
			kc := min(gemmKC, K-pc)
			packB(pc, kc, jc, nc, s.b[:])
			for ic := m0; ic < m1; ic += gemmMC {
				mc := min(gemmMC, m1-ic)
				if !transA && gemmKernelPair != nil && gemmKernelPairRows != nil && mc%gemmMR == 0 && nc%(2*gemmNR) == 0 {
					gemmMacroRows(s, A[ic*lda+pc:], lda, mc, nc, kc, C[ic*ldc+jc:], ldc, accumulate || pc > 0)
					continue
				}
				packA(transA, A, lda, ic, mc, pc, kc, s.a[:])
				gemmMacro(s, mc, nc, kc, C[ic*ldc+jc:], ldc, accumulate || pc > 0)
			}
		}
	}
}

// gemmBlocksBInPlace is gemmBlocks for a transposed A and an untransposed B
// where the pair kernels are in use. The pair tiles read B's rows in place
// (gemmKernelPairB), so only the panels that an edge tile or a last lone
// column panel needs are packed; without a lone panel, the transposed A is
// read in place as well (gemmKernelPairGen). These are the weight gradients
// dW = dYᵀ·X (B = the layer's input, K = the tokens), whose B block serves
// few rows of A (128 rows of a C×C gradient, split over the workers):
// packing it was 8% of the 0.9M training step. Each element is summed as
// gemmKernelPair sums it.
func gemmBlocksBInPlace(K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool, m0, m1, n0, n1 int) {
	s := gemmScratchPool.Get().(*gemmScratch)
	defer gemmScratchPool.Put(s)
	for jc := n0; jc < n1; jc += gemmNC {
		nc := min(gemmNC, n1-jc)
		np := nc &^ (2*gemmNR - 1) // columns in whole pairs; the rest packed
		for pc := 0; pc < K; pc += gemmKC {
			kc := min(gemmKC, K-pc)
			if np < nc {
				packB(false, B, ldb, pc, kc, jc+np, nc-np, s.b[np*kc:])
			}
			add := accumulate || pc > 0
			for ic := m0; ic < m1; ic += gemmMC {
				mc := min(gemmMC, m1-ic)
				// With no lone last panel, A is read in place too (its six
				// values at each k lie side by side) and only an edge
				// panel of A is packed.
				direct := gemmKernelPairGen != nil && np == nc
				if !direct {
					packA(true, A, lda, ic, mc, pc, kc, s.a[:])
				} else if e := mc - mc%gemmMR; e < mc {
					packA(true, A, lda, ic+e, mc-e, pc, kc, s.a[e*kc:])
				}
				c := C[ic*ldc+jc:]
				for jr := 0; jr < np; jr += 2 * gemmNR {
					packed := false
					for ir := 0; ir < mc; ir += gemmMR {
						a := s.a[ir*kc : ir*kc+gemmMR*kc]
						if mr := mc - ir; mr < gemmMR { // an edge tile: through packed panels
							if !packed {
								packB(false, B, ldb, pc, kc, jc+jr, 2*gemmNR, s.b[jr*kc:])
								packed = true
							}
							gemmEdge(s, kc, a, s.b[jr*kc:], c[ir*ldc+jr:], ldc, mr, gemmNR, add)
							gemmEdge(s, kc, a, s.b[(jr+gemmNR)*kc:], c[ir*ldc+jr+gemmNR:], ldc, mr, gemmNR, add)
							continue
						}
						if direct {
							gemmKernelPairGen(kc, A[pc*lda+ic+ir:], 1, lda, B[pc*ldb+jc+jr:], ldb, gemmNR, c[ir*ldc+jr:], ldc, add)
						} else {
							gemmKernelPairB(kc, a, B[pc*ldb+jc+jr:], ldb, c[ir*ldc+jr:], ldc, add)
						}
					}
				}
				for jr := np; jr < nc; jr += gemmNR { // the last lone panel(s), packed above
					b, nr := s.b[jr*kc:jr*kc+gemmNR*kc], min(gemmNR, nc-jr)
					for ir := 0; ir < mc; ir += gemmMR {
						a := s.a[ir*kc : ir*kc+gemmMR*kc]
						if mr := min(gemmMR, mc-ir); mr < gemmMR || nr < gemmNR {
							gemmEdge(s, kc, a, b, c[ir*ldc+jr:], ldc, mr, nr, add)
						} else {
							gemmKernel(kc, a, b, c[ir*ldc+jr:], ldc, add)
						}
					}
				}
			}
		}
	}
}

// gemmKernelPairGen, where the CPU has it, computes a gemmMR×2·gemmNR tile
// as gemmKernelPair does, each element with the same bits, from A and B
// where they lie: A(i, p) at a[i*ai+p*ap], B's row p at b[p*bp:], its
// second 16 columns bhalf floats on. A transposed A is read in place with
// ai = 1, ap = lda.
var gemmKernelPairGen func(kc int, a []float32, ai, ap int, b []float32, bp, bhalf int, c []float32, ldc int, add bool)

// gemmKernelPairB, where the CPU has it, computes a gemmMR×2·gemmNR tile as
// gemmKernelPair does, each element with the same bits, from a packed A
// micro-panel and 32 columns of an untransposed B read in place (row p at
// b[p*ldb:]).
var gemmKernelPairB func(kc int, a, b []float32, ldb int, c []float32, ldc int, add bool)

// Block sizes. The micro-kernel's register block is gemmMR×gemmNR: 6×16
// float32 is 12 of AVX2's 16 YMM registers of accumulators, two for the B
// row and two for broadcast A values. An A block (gemmMC×gemmKC, 96 KiB)
// stays in L2 while a B micro-panel (gemmKC×gemmNR, 16 KiB) stays in L1;
// the whole packed B block (gemmKC×gemmNC, 512 KiB) lives in L2/L3.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 16 * gemmMR
	gemmNC = 32 * gemmNR
)

// gemmScratch holds one worker's packed panels.
type gemmScratch struct {
	a [gemmMC * gemmKC]float32 // A block: micro-panels of gemmMR rows, k-major
	b [gemmKC * gemmNC]float32 // B block: micro-panels of gemmNR columns, k-major

	// tile receives an edge tile whole (gemmEdge): on the heap here, since
	// a local array passed through the gemmKernel variable would escape
	// and be allocated per call.
	tile [gemmMR * gemmNR]float32
}

// gemmScratchPool lends packing buffers to concurrent GemmF32Range calls, so
// each worker has its own and none is allocated per call after warm-up.
var gemmScratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}

// packA copies opA(ic+i, pc+k) for i < mc, k < kc into dst as micro-panels
// of gemmMR rows: dst[(i/MR)*MR*kc + k*MR + i%MR], rows past mc zero.
//
// Packing is a plain copy, so how it is done never changes a bit of C; but
// where N is small it costs as much as the products: attention's P·v and
// dS·k (T×T by T×D, D = 32 on the 0.9M training shape) pack T·T values for
// 32 columns, and the element-by-element loops (packANaive) took a fifth of
// that shape's training step. Whole micro-panels are therefore copied six
// values at a time: one 24-byte move per k when the six values lie side by
// side (trans), and one pass over six rows with a 24-byte store per k
// otherwise.
func packA(trans bool, A []float32, lda, ic, mc, pc, kc int, dst []float32) {
	var _ [1]struct{} = [gemmMR - 5]struct{}{} // the copies below are written out for six rows: another gemmMR does not compile
	for ir := 0; ir < mc; ir += gemmMR {
		p := dst[ir*kc : ir*kc+gemmMR*kc]
		if mc-ir < gemmMR {
			packANaive(trans, A, lda, ic+ir, mc-ir, pc, kc, p)
			continue
		}
		if trans { // the gemmMR values of each k are contiguous in A
			for k := range kc {
				off := (pc+k)*lda + ic + ir
				a, q := (*[gemmMR]float32)(A[off:]), (*[gemmMR]float32)(p[k*gemmMR:])
				q[0], q[1], q[2], q[3], q[4], q[5] = a[0], a[1], a[2], a[3], a[4], a[5] // an array copy would call memmove
			}
			continue
		}
		r := (ic + ir) * lda
		a0 := A[r+pc : r+pc+kc]
		a1 := A[r+lda+pc : r+lda+pc+kc]
		a2 := A[r+2*lda+pc : r+2*lda+pc+kc]
		a3 := A[r+3*lda+pc : r+3*lda+pc+kc]
		a4 := A[r+4*lda+pc : r+4*lda+pc+kc]
		a5 := A[r+5*lda+pc : r+5*lda+pc+kc]
		a1, a2, a3, a4, a5 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)], a4[:len(a0)], a5[:len(a0)]
		for k, v := range a0 {
			q := (*[gemmMR]float32)(p[k*gemmMR:])
			q[0], q[1], q[2], q[3], q[4], q[5] = v, a1[k], a2[k], a3[k], a4[k], a5[k]
		}
	}
}

// packANaive is packA element by element, for one micro-panel of mr <=
// gemmMR rows starting at row ic (the rest of p zeroed): the reference the
// whole-panel copies are tested against, and the edge panel's packing.
func packANaive(trans bool, A []float32, lda, ic, mr, pc, kc int, p []float32) {
	if mr < gemmMR {
		clear(p)
	}
	if trans { // the mr values of each k are contiguous in A
		for k := range kc {
			a := A[(pc+k)*lda+ic : (pc+k)*lda+ic+mr]
			q := p[k*gemmMR : k*gemmMR+mr]
			for i, v := range a {
				q[i] = v
			}
		}
		return
	}
	for i := range mr {
		row := ic + i
		a := A[row*lda+pc : row*lda+pc+kc]
		for k, v := range a {
			p[k*gemmMR+i] = v
		}
	}
}

// packB copies opB(pc+k, jc+j) for k < kc, j < nc into dst as micro-panels
// of gemmNR columns: dst[(j/NR)*NR*kc + k*NR + j%NR], columns past nc zero.
// Whole panels are copied a row of 16 (or, transposed, eight rows of B) at a
// time; edge panels value by value (packBNaive, the reference).
func packB(trans bool, B []float32, ldb, pc, kc, jc, nc int, dst []float32) {
	for jr := 0; jr < nc; jr += gemmNR {
		p := dst[jr*kc : jr*kc+gemmNR*kc]
		if nc-jr < gemmNR {
			packBNaive(trans, B, ldb, pc, kc, jc+jr, nc-jr, p)
			continue
		}
		if trans {
			// Eight rows of B side by side, one 8-float store per k: a
			// store per value, 16 floats apart, took twice as long (the
			// logits' Wᵀ and attention's kᵀ and vᵀ are packed this way).
			for h := 0; h < gemmNR; h += 8 {
				r := (jc+jr+h)*ldb + pc
				b0 := B[r : r+kc]
				b1 := B[r+ldb : r+ldb+kc][:len(b0)]
				b2 := B[r+2*ldb : r+2*ldb+kc][:len(b0)]
				b3 := B[r+3*ldb : r+3*ldb+kc][:len(b0)]
				b4 := B[r+4*ldb : r+4*ldb+kc][:len(b0)]
				b5 := B[r+5*ldb : r+5*ldb+kc][:len(b0)]
				b6 := B[r+6*ldb : r+6*ldb+kc][:len(b0)]
				b7 := B[r+7*ldb : r+7*ldb+kc][:len(b0)]
				for k, v := range b0 {
					q := (*[8]float32)(p[k*gemmNR+h:])
					q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = v, b1[k], b2[k], b3[k], b4[k], b5[k], b6[k], b7[k]
				}
			}
			continue
		}
		for k := range kc { // whole rows of 16: array copies, no call per row
			off := (pc+k)*ldb + jc + jr
			// Through a local: a copy from one slice's array to another's
			// may overlap, so it would call memmove (a tenth of the 0.9M
			// training step went there).
			row := *(*[gemmNR]float32)(B[off:])
			*(*[gemmNR]float32)(p[k*gemmNR:]) = row
		}
	}
}

// packBNaive is packB value by value, for one micro-panel of nr <= gemmNR
// columns starting at column jc (the rest of p zeroed): the reference the
// whole-panel copies are tested against, and the edge panel's packing.
func packBNaive(trans bool, B []float32, ldb, pc, kc, jc, nr int, p []float32) {
	if nr < gemmNR {
		clear(p)
	}
	if trans {
		for j := range nr {
			b := B[(jc+j)*ldb+pc : (jc+j)*ldb+pc+kc]
			for k, v := range b {
				p[k*gemmNR+j] = v
			}
		}
		return
	}
	for k := range kc {
		off := (pc+k)*ldb + jc
		copy(p[k*gemmNR:k*gemmNR+nr], B[off:off+nr])
	}
}

// gemmMacro multiplies the packed A block (mc×kc) by the packed B block
// (kc×nc) into C (c starts at the block's top-left element). Micro-panels of
// B are the outer loop so that each stays in L1 while all of A passes.
// Where gemmKernelPair exists (AVX-512), two adjacent B panels are taken at
// once; it sums each element exactly as gemmKernel does, so which kernel
// computes a tile never changes its bits.
func gemmMacro(s *gemmScratch, mc, nc, kc int, c []float32, ldc int, add bool) {
	for jr := 0; jr < nc; {
		if gemmKernelPair != nil && jr+2*gemmNR <= nc {
			b := s.b[jr*kc : (jr+2*gemmNR)*kc]
			for ir := 0; ir < mc; ir += gemmMR {
				a := s.a[ir*kc : ir*kc+gemmMR*kc]
				if mr := mc - ir; mr < gemmMR {
					gemmEdge(s, kc, a, b[:gemmNR*kc], c[ir*ldc+jr:], ldc, mr, gemmNR, add)
					gemmEdge(s, kc, a, b[gemmNR*kc:], c[ir*ldc+jr+gemmNR:], ldc, mr, gemmNR, add)
					continue
				}
				gemmKernelPair(kc, a, b, c[ir*ldc+jr:], ldc, add)
			}
			jr += 2 * gemmNR
			continue
		}
		b := s.b[jr*kc : jr*kc+gemmNR*kc]
		nr := min(gemmNR, nc-jr)
		for ir := 0; ir < mc; ir += gemmMR {
			a := s.a[ir*kc : ir*kc+gemmMR*kc]
			if mr := min(gemmMR, mc-ir); mr < gemmMR || nr < gemmNR {
				gemmEdge(s, kc, a, b, c[ir*ldc+jr:], ldc, mr, nr, add)
				continue
			}
			gemmKernel(kc, a, b, c[ir*ldc+jr:], ldc, add)
		}
		jr += gemmNR
	}
}

// gemmMacroRows is gemmMacro for an untransposed A whose block is whole
// micro-tiles (mc a multiple of gemmMR, nc of 2·gemmNR) where the pair
// kernels are in use (gemmKernelPair and gemmKernelPairRows). The kernel
// reads A's rows in place (a is the block's top-left value), so A is never
// packed: packing it as six interleaved rows took an eighth of the 0.9M
// training step, a third of the time of the products it fed where N is
// 128. Each element is summed exactly as gemmKernelPair sums it.
func gemmMacroRows(s *gemmScratch, a []float32, lda, mc, nc, kc int, c []float32, ldc int, add bool) {
	for jr := 0; jr < nc; jr += 2 * gemmNR {
		b := s.b[jr*kc : (jr+2*gemmNR)*kc]
		for ir := 0; ir < mc; ir += gemmMR {
			gemmKernelPairRows(kc, a[ir*lda:], lda, b, kc*gemmNR, c[ir*ldc+jr:], ldc, add)
		}
	}
}

// gemmKernelPairRows, where the CPU has it, computes a gemmMR×2·gemmNR tile
// as gemmKernelPair does, each element with the same bits, from A in place
// (row i of the tile is a[i*lda:], k along the row) and two B micro-panels
// bstride floats apart.
var gemmKernelPairRows func(kc int, a []float32, lda int, b []float32, bstride int, c []float32, ldc int, add bool)

// gemmEdge computes an edge tile (mr×nr of C, inside a whole micro-tile):
// the whole tile into s.tile by gemmKernel, then the part inside C,
// added with the same single rounding the kernel's own add makes.
func gemmEdge(s *gemmScratch, kc int, a, b, c []float32, ldc, mr, nr int, add bool) {
	tile := &s.tile
	gemmKernel(kc, a, b, tile[:], gemmNR, false)
	for i := range mr {
		ci := c[i*ldc : i*ldc+nr]
		ti := tile[i*gemmNR : i*gemmNR+nr]
		if add {
			for j := range ci {
				ci[j] += ti[j]
			}
		} else {
			copy(ci, ti)
		}
	}
}

// gemmKernelPair, where the CPU has it, computes a gemmMR×2·gemmNR tile from
// one A micro-panel and two adjacent B micro-panels (b holds 2·kc·gemmNR
// values), each element as gemmKernel computes it.
var gemmKernelPair func(kc int, a, b, c []float32, ldc int, add bool)

// gemmKernel computes one gemmMR×gemmNR tile from packed micro-panels a
// (kc×MR) and b (kc×NR) into c (row stride ldc), adding to c when add. The
// amd64 file installs the assembly version where the CPU allows.
var gemmKernel = gemmKernelGeneric

// gemmKernelGeneric is the reference micro-kernel:
//
//	for i < MR, j < NR: s := 0; for p < kc { s += a[p*MR+i] * b[p*NR+j] }
//	                    c[i*ldc+j] = s, or c[i*ldc+j] += s when add
func gemmKernelGeneric(kc int, a, b, c []float32, ldc int, add bool) {
	var acc [gemmMR][gemmNR]float32
	a, b = a[:kc*gemmMR], b[:kc*gemmNR]
	for p := range kc {
		ap := a[p*gemmMR : p*gemmMR+gemmMR]
		bp := b[p*gemmNR : p*gemmNR+gemmNR]
		for i, ai := range ap {
			row := &acc[i]
			for j, bj := range bp {
				row[j] += float32(ai * bj) // rounded product: no FMA fusion on any architecture
			}
		}
	}
	for i := range gemmMR {
		ci := c[i*ldc : i*ldc+gemmNR]
		if add {
			for j := range ci {
				ci[j] += acc[i][j]
			}
		} else {
			copy(ci, acc[i][:])
		}
	}
}
