// Reference: huggingface/safetensors, safetensors/src/tensor.rs (enum Dtype
// and its serialized names) and the format description in its README.

package safetensors

import "fmt"

// DType is a tensor element type as the header names it. The numbers are
// ours (the format stores names, not numbers).
type DType uint8

const (
	Invalid DType = iota
	BOOL
	U8
	I8
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	F64
	I64
	U64
)

var dtypeNames = [...]string{Invalid: "", BOOL: "BOOL", U8: "U8", I8: "I8", I16: "I16", U16: "U16",
	F16: "F16", BF16: "BF16", I32: "I32", U32: "U32", F32: "F32", F64: "F64", I64: "I64", U64: "U64"}

var dtypeSizes = [...]int64{BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8}

// String returns the header's name of t ("F16").
func (t DType) String() string {
	if int(t) < len(dtypeNames) && t != Invalid {
		return dtypeNames[t]
	}
	return fmt.Sprintf("DType(%d)", uint8(t))
}

// Size returns the bytes of one element.
func (t DType) Size() int64 {
	if int(t) < len(dtypeSizes) {
		return dtypeSizes[t]
	}
	return 0
}

// ParseDType reads a header dtype name. The 8-bit float formats (F8_E4M3,
// F8_E5M2) are refused by name: nothing in gptgo computes with them yet.
func ParseDType(s string) (DType, error) {
	for t, n := range dtypeNames {
		if n == s && t != int(Invalid) {
			return DType(t), nil
		}
	}
	return Invalid, fmt.Errorf("dtype %q not supported (supported: F32, F16, BF16, F64, I8…I64, U8…U64, BOOL)", s)
}
