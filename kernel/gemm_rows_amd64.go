//go:build !purego

// Reference: gemm_amd64.go (gemmKernelPairAsm); BLIS's note that packing A pays only when a panel is reused (Van Zee & van de Geijn 2015, §2).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		gemmKernelPairRows = gemmKernelPairRowsAVX512
	}
}

// gemmKernelPairRowsAVX512 bounds-checks in Go, then runs
// gemmKernelPairRowsAsm.
func gemmKernelPairRowsAVX512(kc int, a []float32, lda int, b []float32, bstride int, c []float32, ldc int, add bool) {
	_, _, _, _ = a[(gemmMR-1)*lda+kc-1], b[kc*gemmNR-1], b[bstride+kc*gemmNR-1], c[(gemmMR-1)*ldc+2*gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelPairRowsAsm(kc, &a[0], lda, &b[0], bstride, &c[0], ldc, f)
}

// gemmKernelPairRowsAsm is gemmKernelPairStrideAsm with A read in place, six
// rows lda floats apart, instead of from a packed micro-panel (kc >= 1):
//
//	for i < 6, j < 32: s := 0; for p < kc { s = fma(a[i*lda+p], b[j/16*bstride + p*16 + j%16], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelPairRowsAsm(kc int, a *float32, lda int, b *float32, bstride int, c *float32, ldc int, add int)
