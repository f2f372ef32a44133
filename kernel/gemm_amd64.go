//go:build !purego

// Reference: Intel SDM vol. 2 (VBROADCASTSS, VFMADD231PS); BLIS kernels/haswell/3/bli_gemm_haswell_asm_d6x8.c (6×16 float tile).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if !hasAVX2FMA {
		return
	}
	gemmKernel = gemmKernelAVX2
	useAsm("gemm")
	if cpu.X86.HasAVX512F {
		gemmKernelPair = gemmKernelPairAVX512
		useAsm("gemm-avx512")
	}
}

// gemmKernelAVX2 bounds-checks in Go, then runs gemmKernelAsm.
func gemmKernelAVX2(kc int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[kc*gemmMR-1], b[kc*gemmNR-1], c[(gemmMR-1)*ldc+gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelAsm(kc, &a[0], &b[0], &c[0], ldc, f)
}

// gemmKernelAsm computes, with one fused multiply-add per product (kc >= 1):
//
//	for i < 6, j < 16: s := 0; for p < kc { s = fma(a[p*6+i], b[p*16+j], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelAsm(kc int, a, b, c *float32, ldc int, add int)

// gemmKernelPairAVX512 bounds-checks in Go, then runs gemmKernelPairAsm.
func gemmKernelPairAVX512(kc int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[kc*gemmMR-1], b[2*kc*gemmNR-1], c[(gemmMR-1)*ldc+2*gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelPairAsm(kc, &a[0], &b[0], &c[0], ldc, f)
}

// gemmKernelPairAsm computes, with one fused multiply-add per product
// (kc >= 1), two 6×16 tiles side by side, b holding the second panel
// 16·kc floats after the first:
//
//	for i < 6, j < 32: s := 0; for p < kc { s = fma(a[p*6+i], b[j/16*16*kc + p*16 + j%16], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelPairAsm(kc int, a, b, c *float32, ldc int, add int)
