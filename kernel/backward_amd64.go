//go:build !purego

// Reference: Intel SDM vol. 2 (VBROADCASTSS, VFMADD231PS); gonum internal/asm/f32 (AxpyUnitary's contract).

package kernel

func init() {
	if hasAVX2FMA {
		axpy = axpyAVX2
		useAsm("axpy")
	}
}

// axpyAVX2 checks the lengths, then runs the assembly.
func axpyAVX2(a float32, x, y []float32) {
	y = y[:len(x)]
	if len(x) == 0 {
		return
	}
	axpyAsm(len(x), a, &x[0], &y[0])
}

// axpyAsm computes y[i] += a·x[i] for i < n (n > 0), fused: in Go,
// for i := range n { y[i] = fma(a, x[i], y[i]) }.
//
//go:noescape
func axpyAsm(n int, a float32, x, y *float32)
