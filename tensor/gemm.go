// Reference: BLIS (Van Zee & van de Geijn, ACM TOMS 41(3), 2015), section 4: parallelising the loops around the micro-kernel.

package tensor

import "github.com/gptgo/gptgo/kernel"

// Gemm is kernel.GemmF32 spread over the pool: C (+)= op(A)·op(B) with C
// [M, N] cut into blocks, each computed whole (all of K) by one worker. C is
// never split along K, so every element's sum runs in the same order
// whatever the blocks, and the result is the same bit for bit for any number
// of workers.
//
// The blocks are gemmBlockCols columns wide and as tall as possible while
// still giving each worker about gemmBlocksPerWorker of them: a block packs
// its B panel once for all its rows, and repacking B for every short row
// block cost a quarter of the kernel's time on the 2048×32000×288 logits.
func (p *Pool) Gemm(transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool) {
	if M <= 0 || N <= 0 {
		return
	}
	rows, bn := gemmBlocks(p.n, M, N)
	rows = evenRows(p.n, M, rows, bn)
	bm := (M + rows - 1) / rows
	p.For(bm*bn, 1, func(s, e int) {
		for b := s; b < e; b++ {
			m0, n0 := b/bn*rows, b%bn*gemmBlockCols
			kernel.GemmF32Range(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate,
				m0, min(m0+rows, M), n0, min(n0+gemmBlockCols, N))
		}
	})
}

// evenRows evens out Gemm's row blocks where they are few: the 128 rows of
// a C×C weight gradient on two workers were cut 96 + 32, so one worker did
// three quarters of it (288 rows: 96·3, two blocks for one worker). Few
// blocks (under gemmBlocksPerWorker a worker) are made a multiple of the
// worker count in number and even in height, in whole micro-kernel panels
// of 6 rows: 128 → 66 + 62, 288 → 4 × 72. The cut never changes a bit of C.
func evenRows(n, M, rows, bn int) int {
	bm := (M + rows - 1) / rows
	if n <= 1 || bm*bn >= gemmBlocksPerWorker*n {
		return rows
	}
	bm = (bm + n - 1) / n * n
	return ((M+bm-1)/bm + 5) / 6 * 6
}

// gemmBlocks returns Gemm's block height and the number of block columns for
// an M×N product on n workers.
func gemmBlocks(n, M, N int) (rows, bn int) {
	bn = (N + gemmBlockCols - 1) / gemmBlockCols
	splitM := max(1, (gemmBlocksPerWorker*n+bn-1)/bn)
	rows = (M + splitM - 1) / splitM
	rows = (rows + gemmRowMultiple - 1) / gemmRowMultiple * gemmRowMultiple
	return rows, bn
}

// gemmBlockCols is the kernel's B block width (32 tiles of 16 columns) and
// gemmRowMultiple its A block height (16 tiles of 6 rows), so that blocks
// hold whole packed panels; gemmBlocksPerWorker leaves the dynamic hand-out
// room to even out a slow core.
const (
	gemmBlockCols       = 512
	gemmRowMultiple     = 96
	gemmBlocksPerWorker = 4
)
