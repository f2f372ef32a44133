//go:build !purego

// Reference: gemm_amd64.go (gemmKernelPairAsm); Intel SDM vol. 2 (VFMADD231PS).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		gemmKernelPairStride = gemmKernelPairStrideAVX512
	}
}

// gemmKernelPairStrideAVX512 bounds-checks in Go, then runs
// gemmKernelPairStrideAsm.
func gemmKernelPairStrideAVX512(kc int, a, b []float32, bstride int, c []float32, ldc int, add bool) {
	_, _, _, _ = a[kc*gemmMR-1], b[kc*gemmNR-1], b[bstride+kc*gemmNR-1], c[(gemmMR-1)*ldc+2*gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelPairStrideAsm(kc, &a[0], &b[0], &c[0], ldc, f, bstride)
}

// gemmKernelPairStrideAsm is gemmKernelPairAsm with the second B panel
// bstride floats after the first (kc >= 1):
//
//	for i < 6, j < 32: s := 0; for p < kc { s = fma(a[p*6+i], b[j/16*bstride + p*16 + j%16], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelPairStrideAsm(kc int, a, b, c *float32, ldc int, add int, bstride int)
