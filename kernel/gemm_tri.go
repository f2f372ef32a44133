// Reference: Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication" (ACM TOMS 34(3), 2008),
// with the triangle skipping of causal attention (FlashAttention, Dao et al. 2022, §3.1: blocks above the diagonal are not computed).

package kernel

// Tri names the triangle of zeros, or of unwanted results, that GemmF32Tri
// may skip. Causal attention's T×T weights P and their gradient dS are
// lower-triangular (row t holds positions 0…t), so four of its six GEMMs
// spend half their products on zeros, and its two score GEMMs compute a
// masked upper half that is then thrown away.
type Tri int

const (
	// TriLowerA: opA(i, k) = 0 for k > i (P·v, dS·k): row i's K-sum stops after k = i.
	TriLowerA Tri = iota + 1
	// TriUpperA: opA(i, k) = 0 for k < i (Pᵀ·dout, dSᵀ·q): row i's K-sum starts at k = i.
	TriUpperA
	// TriLowerC: only C(i, j) for j <= i are wanted (q·kᵀ, dout·vᵀ); the
	// rest of C may or may not be written.
	TriLowerC
)

// GemmF32Tri is GemmF32 over all of C for a causal operand: it skips, per
// micro-panel of gemmMR rows, the K range that only zeros of op(A) reach
// (TriLowerA, TriUpperA) or the column panels wholly above the diagonal
// (TriLowerC), and the packing of what it skips.
//
// The bits are GemmF32's, for finite operands. Every element's K-sum still
// runs over the same fixed K blocks, in k order, from zero, by the same
// micro-kernels, and leaving out terms that are exact zeros changes nothing:
// before the first kept term the sum is +0, and +0 + (±0) = +0; after the
// last, x + (±0) = x for every x but −0. A K block that a row's terms miss
// entirely adds its +0 to C as GemmF32 does (a −0 in C becomes +0).
//
// Two differences, neither in a value: a K-sum is −0 only when, with fused
// multiply-adds (the assembly kernels), every product so far was negative
// and below 2⁻¹⁵⁰ in size; GemmF32 may then turn it +0 with a skipped +0
// term, here it stays −0 (the plain-Go kernel rounds each product first and
// never makes a −0 sum). And a NaN or an infinity in op(B) times a skipped
// zero would have made a NaN that is not made here.
//
// The loop order suits attention's shapes (N = head dim, or K = head dim):
// A micro-panels outside, B micro-panels inside.
func GemmF32Tri(tri Tri, transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool) {
	if M < 0 || N < 0 || K < 0 || ldc < N || tri < TriLowerA || tri > TriLowerC {
		panic("kernel: GemmF32Tri: sizes out of range")
	}
	if M == 0 || N == 0 {
		return
	}
	if K == 0 {
		if !accumulate {
			for i := range M {
				clear(C[i*ldc : i*ldc+N])
			}
		}
		return
	}
	s := gemmScratchPool.Get().(*gemmScratch)
	defer gemmScratchPool.Put(s)
	for jc := 0; jc < N; jc += gemmNC {
		if tri == TriLowerC && jc >= M { // every row lies above these columns
			break
		}
		nc := min(gemmNC, N-jc)
		for pc := 0; pc < K; pc += gemmKC {
			kc := min(gemmKC, K-pc)
			packB(transB, B, ldb, pc, kc, jc, nc, s.b[:])
			for ic := 0; ic < M; ic += gemmMC {
				mc := min(gemmMC, M-ic)
				if tri == TriLowerC && ic+mc <= jc {
					continue
				}
				triMacro(tri, s, transA, A, lda, ic, mc, pc, kc, jc, nc, C, ldc, accumulate || pc > 0)
			}
		}
	}
}

// triMacro is gemmMacro for GemmF32Tri: for each A micro-panel (rows r…r+mr−1)
// it packs and multiplies only the k in [lo, hi) of the block that its rows
// need, and, for TriLowerC, only the B panels that reach the diagonal. A
// panel's packed values and each B panel keep their places in the block
// layout (k-major, kc·gemmMR and kc·gemmNR floats apart), so a shorter K
// range is the same panels entered lo values in.
func triMacro(tri Tri, s *gemmScratch, transA bool, A []float32, lda, ic, mc, pc, kc, jc, nc int, C []float32, ldc int, add bool) {
	for ir := 0; ir < mc; ir += gemmMR {
		mr := min(gemmMR, mc-ir)
		r := ic + ir
		lo, hi, n := 0, kc, nc
		switch tri {
		case TriLowerA:
			hi = min(kc, r+mr-pc) // the panel's last row needs k <= r+mr-1
		case TriUpperA:
			lo = min(kc, max(0, r-pc)) // its first row needs k >= r
		case TriLowerC:
			n = min(nc, r+mr-jc) // columns up to its last row
		}
		c := C[r*ldc+jc:]
		if n <= 0 {
			continue
		}
		if lo >= hi { // only zeros: the block's sum is +0, stored or added
			for i := range mr {
				ci := c[i*ldc : i*ldc+nc]
				for j := range ci {
					if add {
						ci[j] += 0 // −0 becomes +0, as GemmF32's add of this block makes it
					} else {
						ci[j] = 0
					}
				}
			}
			continue
		}
		kk := hi - lo
		a := s.a[ir*kc+lo*gemmMR : ir*kc+lo*gemmMR+gemmMR*kk]
		packed := false // A's panel is packed on first need: a kernel reading A in place needs none
		for jr := 0; jr < n; {
			b := s.b[jr*kc+lo*gemmNR:]
			if gemmKernelPairStride != nil && mr == gemmMR && jr+2*gemmNR <= nc {
				if !transA && gemmKernelPairRows != nil {
					gemmKernelPairRows(kk, A[r*lda+pc+lo:], lda, b, kc*gemmNR, c[jr:], ldc, add)
				} else if transA && gemmKernelPairGen != nil { // the six values of each k side by side in A
					gemmKernelPairGen(kk, A[(pc+lo)*lda+r:], 1, lda, b, gemmNR, kc*gemmNR, c[jr:], ldc, add)
				} else {
					if !packed {
						packA(transA, A, lda, r, mr, pc+lo, kk, a)
						packed = true
					}
					gemmKernelPairStride(kk, a, b, kc*gemmNR, c[jr:], ldc, add)
				}
				jr += 2 * gemmNR
				continue
			}
			if !packed {
				packA(transA, A, lda, r, mr, pc+lo, kk, a)
				packed = true
			}
			if nr := min(gemmNR, nc-jr); mr < gemmMR || nr < gemmNR {
				gemmEdge(s, kk, a, b, c[jr:], ldc, mr, nr, add)
			} else {
				gemmKernel(kk, a, b, c[jr:], ldc, add)
			}
			jr += gemmNR
		}
	}
}

// gemmKernelPairStride, where the CPU has it, computes a gemmMR×2·gemmNR
// tile as gemmKernelPair does, each element with the same bits, with the
// second B panel bstride floats after the first: a K range entered lo
// values in leaves the two panels kc·gemmNR apart, not kk·gemmNR.
var gemmKernelPairStride func(kc int, a, b []float32, bstride int, c []float32, ldc int, add bool)
