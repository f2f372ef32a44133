//go:build !purego

// Reference: gemm_amd64.go (gemmKernelPairAsm); Intel SDM vol. 2 (VFMADD231PS).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		gemmKernelPairB = gemmKernelPairBAVX512
	}
}

// gemmKernelPairBAVX512 bounds-checks in Go, then runs gemmKernelPairBAsm.
func gemmKernelPairBAVX512(kc int, a, b []float32, ldb int, c []float32, ldc int, add bool) {
	_, _, _ = a[kc*gemmMR-1], b[(kc-1)*ldb+2*gemmNR-1], c[(gemmMR-1)*ldc+2*gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelPairBAsm(kc, &a[0], &b[0], ldb, &c[0], ldc, f)
}

// gemmKernelPairBAsm is gemmKernelPairAsm with B read in place, 32 columns
// of an untransposed B whose rows are ldb floats apart (kc >= 1):
//
//	for i < 6, j < 32: s := 0; for p < kc { s = fma(a[p*6+i], b[p*ldb+j], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelPairBAsm(kc int, a, b *float32, ldb int, c *float32, ldc int, add int)
