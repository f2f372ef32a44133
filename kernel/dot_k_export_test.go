// Reference: STYLE.md habit 1 (the plain-Go reference stays testable beside the assembly).

package kernel

// GenericK exposes the plain-Go K-quant dots and the Q8_K quantizer to the
// external tests, so that they are checked even where assembly replaces the
// selected ones at run time.
var GenericK = map[string]func(n int, w, x []byte) float32{
	"Q2_K": dotQ2_KGeneric, "Q3_K": dotQ3_KGeneric, "Q4_K": dotQ4_KGeneric,
	"Q5_K": dotQ5_KGeneric, "Q6_K": dotQ6_KGeneric, "IQ4_XS": dotIQ4_XSGeneric,
	"TQ1_0": dotTQ1_0Generic, "TQ2_0": dotTQ2_0Generic,
	"IQ2_XXS": dotIQ2_XXSGeneric, "IQ2_XS": dotIQ2_XSGeneric, "IQ2_S": dotIQ2_SGeneric,
	"IQ3_XXS": dotIQ3_XXSGeneric, "IQ3_S": dotIQ3_SGeneric, "IQ1_S": dotIQ1_SGeneric, "IQ1_M": dotIQ1_MGeneric,
}

// BlockBytesK are the K-quant block sizes the dots assume, checked against
// the tensor package's DType table.
var BlockBytesK = map[string]int{
	"Q2_K": blockQ2KBytes, "Q3_K": blockQ3KBytes, "Q4_K": blockQ4KBytes,
	"Q5_K": blockQ5KBytes, "Q6_K": blockQ6KBytes, "Q8_K": BlockQ8KBytes,
	"IQ4_XS": blockIQ4XSBytes, "TQ1_0": blockTQ1_0Bytes, "TQ2_0": blockTQ2_0Bytes,
	"IQ2_XXS": blockIQ2XXSBytes, "IQ2_XS": blockIQ2XSBytes, "IQ2_S": blockIQ2SBytes,
	"IQ3_XXS": blockIQ3XXSBytes, "IQ3_S": blockIQ3SBytes, "IQ1_S": blockIQ1SBytes, "IQ1_M": blockIQ1MBytes,
}

var QuantizeQ8_KGeneric = quantizeQ8_KGeneric
