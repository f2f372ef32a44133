//go:build !purego

// Reference: gemm_amd64.go (the 6×16 micro-kernel this repeats); Arm ARM (DDI 0487) C7 (FMLA by element).

package kernel

func init() {
	gemmKernel = gemmKernelNEONGo
	useAsm("gemm")
}

// gemmKernelNEONGo bounds-checks in Go, then runs gemmKernelNEON.
func gemmKernelNEONGo(kc int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[kc*gemmMR-1], b[kc*gemmNR-1], c[(gemmMR-1)*ldc+gemmNR-1]
	var f int
	if add {
		f = 1
	}
	gemmKernelNEON(kc, &a[0], &b[0], &c[0], ldc, f)
}

// gemmKernelNEON computes, with one fused multiply-add per product (kc ≥ 1),
// as gemmKernelAsm does on amd64:
//
//	for i < 6, j < 16: s := 0; for p < kc { s = fma(a[p*6+i], b[p*16+j], s) }
//	                   c[i*ldc+j] = s, or c[i*ldc+j] += s when add != 0
//
//go:noescape
func gemmKernelNEON(kc int, a, b, c *float32, ldc int, add int)
