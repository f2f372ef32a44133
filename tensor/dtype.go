// Reference: ggml/include/ggml.h (enum ggml_type) and ggml/src/ggml.c (type_traits).
// The numbers are on-disk values in GGUF files: never renumber, never reuse a retired one.

package tensor

import "fmt"

// DType is a tensor element type, numbered as GGML numbers it.
type DType uint32

const (
	F32     DType = 0
	F16     DType = 1
	Q4_0    DType = 2
	Q4_1    DType = 3
	Q5_0    DType = 6 // 4 and 5 were Q4_2 and Q4_3, retired
	Q5_1    DType = 7
	Q8_0    DType = 8
	Q8_1    DType = 9
	Q2_K    DType = 10
	Q3_K    DType = 11
	Q4_K    DType = 12
	Q5_K    DType = 13
	Q6_K    DType = 14
	Q8_K    DType = 15
	IQ2_XXS DType = 16
	IQ2_XS  DType = 17
	IQ3_XXS DType = 18
	IQ1_S   DType = 19
	IQ4_NL  DType = 20
	IQ3_S   DType = 21
	IQ2_S   DType = 22
	IQ4_XS  DType = 23
	I8      DType = 24
	I16     DType = 25
	I32     DType = 26
	I64     DType = 27
	F64     DType = 28
	IQ1_M   DType = 29
	BF16    DType = 30
	// 31..33 were Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 (runtime repacks), retired.
	TQ1_0 DType = 34
	TQ2_0 DType = 35
	// 36..38 were IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8, retired.
	MXFP4 DType = 39

	numDTypes = 40
)

// Block sizes of the two quantization families.
const (
	QK  = 32  // elements per block of the legacy types (Q4_0 … Q8_1, IQ4_NL)
	QKK = 256 // elements per super-block of the K-quants and i-quants
)

// traits are the static facts of a type: how many elements a block holds and
// how many bytes it takes. A zero BlockSize marks an unknown number.
type traits struct {
	name      string
	blockSize int
	typeSize  int
}

var dtypeTraits = [numDTypes]traits{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", QK, 2 + QK/2},
	Q4_1:    {"Q4_1", QK, 4 + QK/2},
	Q5_0:    {"Q5_0", QK, 2 + 4 + QK/2},
	Q5_1:    {"Q5_1", QK, 4 + 4 + QK/2},
	Q8_0:    {"Q8_0", QK, 2 + QK},
	Q8_1:    {"Q8_1", QK, 4 + QK},
	Q2_K:    {"Q2_K", QKK, QKK/16 + QKK/4 + 4},
	Q3_K:    {"Q3_K", QKK, QKK/8 + QKK/4 + 12 + 2},
	Q4_K:    {"Q4_K", QKK, 4 + 12 + QKK/2},
	Q5_K:    {"Q5_K", QKK, 4 + 12 + QKK/8 + QKK/2},
	Q6_K:    {"Q6_K", QKK, QKK/2 + QKK/4 + QKK/16 + 2},
	Q8_K:    {"Q8_K", QKK, 4 + QKK + QKK/16*2},
	IQ2_XXS: {"IQ2_XXS", QKK, 2 + QKK/8*2},
	IQ2_XS:  {"IQ2_XS", QKK, 2 + QKK/8*2 + QKK/32},
	IQ3_XXS: {"IQ3_XXS", QKK, 2 + 3*(QKK/8)},
	IQ1_S:   {"IQ1_S", QKK, 2 + QKK/8 + QKK/16},
	IQ4_NL:  {"IQ4_NL", QK, 2 + QK/2},
	IQ3_S:   {"IQ3_S", QKK, 2 + QKK/4 + QKK/32 + QKK/8 + QKK/64},
	IQ2_S:   {"IQ2_S", QKK, 2 + QKK/4 + QKK/16},
	IQ4_XS:  {"IQ4_XS", QKK, 2 + 2 + QKK/64 + QKK/2},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", QKK, QKK/8 + QKK/16 + QKK/32},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", QKK, 2 + (QKK-4*QKK/64)/5 + QKK/64},
	TQ2_0:   {"TQ2_0", QKK, 2 + 64},
	MXFP4:   {"MXFP4", QK, 1 + QK/2},
}

func (t DType) traits() traits {
	if t >= numDTypes {
		return traits{}
	}
	return dtypeTraits[t]
}

// Known reports whether t is a type number GGML defines (and so a file may hold).
// A known type need not be one gptgo can compute with: see Supported.
func (t DType) Known() bool { return t.traits().blockSize != 0 }

// String returns GGML's name for the type, or DType(n) for an unknown number.
func (t DType) String() string {
	if !t.Known() {
		return fmt.Sprintf("DType(%d)", uint32(t))
	}
	return t.traits().name
}

// BlockSize is the number of elements in one block (1 for plain types).
func (t DType) BlockSize() int { return t.traits().blockSize }

// TypeSize is the number of bytes of one block.
func (t DType) TypeSize() int { return t.traits().typeSize }

// RowSize returns the bytes taken by n elements of type t. It fails for an
// unknown type, or when n is negative or not a whole number of blocks.
func (t DType) RowSize(n int64) (int64, error) {
	tr := t.traits()
	if tr.blockSize == 0 {
		return 0, fmt.Errorf("tensor: unknown dtype %d", uint32(t))
	}
	if n < 0 || n%int64(tr.blockSize) != 0 {
		return 0, fmt.Errorf("tensor: %d elements is not a whole number of %s blocks of %d", n, tr.name, tr.blockSize)
	}
	return n / int64(tr.blockSize) * int64(tr.typeSize), nil
}

// ParseDType returns the type with GGML's name s (case-sensitive, e.g. "Q4_K").
func ParseDType(s string) (DType, error) {
	for i, tr := range dtypeTraits {
		if tr.blockSize != 0 && tr.name == s {
			return DType(i), nil
		}
	}
	return 0, fmt.Errorf("tensor: unknown dtype %q", s)
}
