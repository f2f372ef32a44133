// Reference: BLAS level 1 SAXPY (y ← a·x + y); gonum internal/asm/f32 AxpyUnitary (plain-Go reference beside
// the assembly).

package kernel

// Axpy adds a·x to y: y[i] += a·x[i] for i < len(x). It is the inner loop
// of the backward passes (a gradient row scaled into another), selected
// once: AVX2+FMA assembly where the CPU has it, else axpyGeneric. The
// assembly fuses each multiply-add, so its results may differ from the
// plain loop's in the last bit of each element.
func Axpy(a float32, x, y []float32) { axpy(a, x, y) }

var axpy = axpyGeneric

// axpyGeneric is the reference: for i, v := range x { y[i] += a * v }.
func axpyGeneric(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(a * v)
	}
}
