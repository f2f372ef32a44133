//go:build !purego

// Reference: gemm_amd64.go (gemmKernelPairAsm); Intel SDM vol. 2 (VBROADCASTSS, VFMADD231PS).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		gemmKernelPairGen = gemmKernelPairGenAVX512
	}
}

// gemmKernelPairGenAVX512 bounds-checks in Go, then runs
// gemmKernelPairGenAsm.
func gemmKernelPairGenAVX512(kc int, a []float32, ai, ap int, b []float32, bp, bhalf int, c []float32, ldc int, add bool) {
	_, _ = a[(gemmMR-1)*ai+(kc-1)*ap], b[(kc-1)*bp+bhalf+gemmNR-1]
	_, _ = b[(kc-1)*bp+gemmNR-1], c[(gemmMR-1)*ldc+2*gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelPairGenAsm(kc, &a[0], ai, ap, &b[0], bp, bhalf, &c[0], ldc, f)
}

// gemmKernelPairGenAsm is gemmKernelPairAsm with A and B read where they lie
// (kc >= 1; all strides in floats):
//
//	for i < 6, j < 32: s := 0; for p < kc { s = fma(a[i*ai+p*ap], b[p*bp + j/16*bhalf + j%16], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelPairGenAsm(kc int, a *float32, ai, ap int, b *float32, bp, bhalf int, c *float32, ldc int, add int)
