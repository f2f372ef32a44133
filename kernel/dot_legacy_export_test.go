package kernel

// Generic exposes the plain-Go dots to the external tests, so that they are
// checked even where assembly replaces them at run time.
var Generic = map[string]func(n int, w, x []byte) float32{
	"F32": dotF32Generic, "F16": dotF16Generic, "BF16": dotBF16Generic,
	"Q4_0": dotQ4_0Generic, "Q4_1": dotQ4_1Generic, "Q5_0": dotQ5_0Generic,
	"Q5_1": dotQ5_1Generic, "Q8_0": dotQ8_0Generic, "IQ4_NL": dotIQ4_NLGeneric,
}

// BlockBytes are the block sizes the kernels assume, checked against the
// tensor package's DType table.
var BlockBytes = map[string]int{
	"Q4_0": q4_0Bytes, "Q4_1": q4_1Bytes, "Q5_0": q5_0Bytes, "Q5_1": q5_1Bytes,
	"Q8_0": q8_0Bytes, "Q8_1": q8_1Bytes, "IQ4_NL": iq4nlBytes,
}

var (
	QuantizeQ8_0Generic = quantizeQ8_0Generic
	QuantizeQ8_1Generic = quantizeQ8_1Generic
)

// DotQ4_0x8Generic is the plain-Go packed Q4_0 group dot (nb > 0 blocks).
func DotQ4_0x8Generic(nb int, w, x []byte, out *[Q4_0x8Rows]float32) { dotQ4_0x8Generic(nb, w, x, out) }

// The plain-Go dots in llama.cpp's AVX2 lane order (dot_legacy_lanes.go),
// for the tests that compare the selected kernels with them.
var (
	RefDotQ4_1           = dotQ4_1Generic
	RefDotQ5_0           = dotQ5_0Generic
	RefDotQ5_1           = dotQ5_1Generic
	RefDotIQ4_NL         = dotIQ4_NLGeneric
	RefDotIQ4_NLTinyBLAS = dotIQ4_NLTinyBLASGeneric
)
