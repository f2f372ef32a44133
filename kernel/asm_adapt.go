//go:build !purego && (amd64 || arm64)

// Reference: cpu.go (the kernels chosen once at start-up); the adapters every assembly build shares.

package kernel

// asmDot adapts an assembly dot over whole units (blocks, or single elements
// for the float types) to the DotX signature. It slices w and x to exactly nb
// units first, so a short input panics here in Go with a bounds error instead
// of being over-read by the assembly, and it never passes a pointer into an
// empty slice.
func asmDot(asm func(nb int, w, x *byte) float32, unit, wBytes, xBytes int) func(n int, w, x []byte) float32 {
	return func(n int, w, x []byte) float32 {
		nb := n / unit
		w, x = w[:nb*wBytes], x[:nb*xBytes]
		if nb == 0 {
			return 0
		}
		return asm(nb, &w[0], &x[0])
	}
}

// asmRows adapts the same assembly dot to the DotRows signature: the dots of
// len(out) weight rows rb bytes apart with one activation row, bounds
// checked once for all of them, so that a decode step's matmul pays no Go
// call and slicing per row.
func asmRows(asm func(nb int, w, x *byte) float32, unit, wBytes, xBytes int) func(n int, w []byte, rb int, x []byte, out []float32) {
	return func(n int, w []byte, rb int, x []byte, out []float32) {
		nb := n / unit
		if len(out) == 0 {
			return
		}
		if nb == 0 {
			clear(out)
			return
		}
		if rb < nb*wBytes {
			panic("kernel: dot rows overlap")
		}
		_, _ = x[:nb*xBytes], w[:(len(out)-1)*rb+nb*wBytes]
		xp := &x[0]
		for r := range out {
			out[r] = asm(nb, &w[r*rb], xp)
		}
	}
}
