package kernel

// The plain-Go references, for the external tests in asm_test.go that compare
// the selected kernels (assembly where the CPU allows) against them. The Ref
// prefix keeps these apart from other test exports of the package.
var (
	RefDotF32  = dotF32Generic
	RefDotF16  = dotF16Generic
	RefDotBF16 = dotBF16Generic
	RefDotQ4_0 = dotQ4_0Generic
	RefDotQ8_0 = dotQ8_0Generic
	RefDotQ4_K = dotQ4_KGeneric
	RefDotQ5_K = dotQ5_KGeneric
	RefDotQ6_K = dotQ6_KGeneric

	RefQuantizeQ8_0 = quantizeQ8_0Generic
	RefQuantizeQ8_K = quantizeQ8_KGeneric
)
