//go:build !purego

// Reference: John McCalpin's STREAM benchmark (read bandwidth); Intel SDM vol. 2 (VADDPS).

package kernel

func init() {
	if !hasAVX2FMA {
		return
	}
	sumF32 = sumF32AVX2
	useAsm("sum")
}

func sumF32AVX2(x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return sumF32Asm(len(x), &x[0])
}

// sumF32Asm computes, with four 8-lane accumulators:
//
//	for i := 0; i < n; i++ {
//		s += x[i]
//	}
//	return s
//
//go:noescape
func sumF32Asm(n int, x *float32) float32
