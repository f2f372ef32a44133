// Reference: BLIS (Van Zee & van de Geijn, ACM TOMS 41(3), 2015), section 4: parallelising the loops around the micro-kernel.

package tensor

import "github.com/gptgo/gptgo/kernel"

// Gemm is kernel.GemmF32 spread over the pool: C (+)= op(A)·op(B) with C
// [M, N] cut into blocks of gemmBlockRows×gemmBlockCols, each computed
// whole (all of K) by one worker. C is never split along K, so every
// element's sum runs in the same order whatever the number of workers, and
// the result is the same bit for bit.
func (p *Pool) Gemm(transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, C []float32, ldc int, accumulate bool) {
	bm := (M + gemmBlockRows - 1) / gemmBlockRows
	bn := (N + gemmBlockCols - 1) / gemmBlockCols
	p.For(bm*bn, 1, func(s, e int) {
		for b := s; b < e; b++ {
			m0, n0 := b/bn*gemmBlockRows, b%bn*gemmBlockCols
			kernel.GemmF32Range(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate,
				m0, min(m0+gemmBlockRows, M), n0, min(n0+gemmBlockCols, N))
		}
	})
}

// The block of C one worker takes: the kernel's own A and B block sizes
// (96 rows of 6-row tiles, 512 columns of 16-column tiles), so a block
// packs each panel once, and a training matmul of 2048 rows still gives
// 22 blocks to share.
const (
	gemmBlockRows = 96
	gemmBlockCols = 512
)
