// Reference: llama.cpp include/llama.h (enum llama_ftype) and src/llama-quant.cpp
// (llama_model_quantize_impl: the default tensor type of each file type).

package quant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/tensor"
)

// FileType is a whole-file quantization mix, numbered as llama.cpp's
// LLAMA_FTYPE and stored in general.file_type. It is not a tensor dtype: a
// Q4_K_M file holds Q4_K, Q6_K and F32 tensors.
type FileType uint32

// The numbers are on-disk values: never renumber, never reuse a retired one.
const (
	AllF32  FileType = 0
	F16     FileType = 1
	Q4_0    FileType = 2
	Q4_1    FileType = 3
	Q8_0    FileType = 7 // 4..6 were Q4_1_SOME_F16, Q4_2, Q4_3, retired
	Q5_0    FileType = 8
	Q5_1    FileType = 9
	Q2_K    FileType = 10
	Q3_K_S  FileType = 11
	Q3_K_M  FileType = 12
	Q3_K_L  FileType = 13
	Q4_K_S  FileType = 14
	Q4_K_M  FileType = 15
	Q5_K_S  FileType = 16
	Q5_K_M  FileType = 17
	Q6_K    FileType = 18
	Q2_K_S  FileType = 21 // needs an importance matrix: named but refused
	IQ4_NL  FileType = 25
	IQ4_XS  FileType = 30
	BF16    FileType = 32
	TQ1_0   FileType = 36 // ternary: for models trained with weights in {-1, 0, +1}
	TQ2_0   FileType = 37
	Guessed FileType = 1024 // llama.cpp's "not specified in the model file"
)

// QuantizationVersion is written as general.quantization_version
// (GGML_QNT_VERSION): the version of the block layouts.
const QuantizationVersion = 2

type ftypeInfo struct {
	name  string
	base  tensor.DType // default tensor type
	write bool         // Quantize can produce this mix
}

var ftypes = map[FileType]ftypeInfo{
	AllF32: {"F32", tensor.F32, true},
	F16:    {"F16", tensor.F16, true},
	BF16:   {"BF16", tensor.BF16, true},
	Q4_0:   {"Q4_0", tensor.Q4_0, true},
	Q4_1:   {"Q4_1", tensor.Q4_1, true},
	Q5_0:   {"Q5_0", tensor.Q5_0, true},
	Q5_1:   {"Q5_1", tensor.Q5_1, true},
	Q8_0:   {"Q8_0", tensor.Q8_0, true},
	Q2_K:   {"Q2_K", tensor.Q2_K, true},
	Q2_K_S: {"Q2_K_S", tensor.Q2_K, false},
	Q3_K_S: {"Q3_K_S", tensor.Q3_K, true},
	Q3_K_M: {"Q3_K_M", tensor.Q3_K, true},
	Q3_K_L: {"Q3_K_L", tensor.Q3_K, true},
	Q4_K_S: {"Q4_K_S", tensor.Q4_K, true},
	Q4_K_M: {"Q4_K_M", tensor.Q4_K, true},
	Q5_K_S: {"Q5_K_S", tensor.Q5_K, true},
	Q5_K_M: {"Q5_K_M", tensor.Q5_K, true},
	Q6_K:   {"Q6_K", tensor.Q6_K, true},
	IQ4_NL: {"IQ4_NL", tensor.IQ4_NL, true},
	IQ4_XS: {"IQ4_XS", tensor.IQ4_XS, true},
	TQ1_0:  {"TQ1_0", tensor.TQ1_0, true},
	TQ2_0:  {"TQ2_0", tensor.TQ2_0, true},
}

// String returns llama-quantize's name of the mix ("Q4_K_M"), or FileType(n).
func (ft FileType) String() string {
	if i, ok := ftypes[ft]; ok {
		return i.name
	}
	return fmt.Sprintf("FileType(%d)", uint32(ft))
}

// BaseType is the dtype most quantized tensors get; false for an unknown mix.
func (ft FileType) BaseType() (tensor.DType, bool) {
	i, ok := ftypes[ft]
	return i.base, ok
}

// isQuantized reports whether the mix is a quantized one: only then do the
// per-tensor rules apply (F32/F16/BF16 convert every quantizable tensor).
func (ft FileType) isQuantized() bool {
	b, _ := ft.BaseType()
	return b != tensor.F32 && b != tensor.F16 && b != tensor.BF16
}

// FileTypes lists the mixes Quantize writes, in FileType order.
func FileTypes() []FileType {
	var out []FileType
	for ft, i := range ftypes {
		if i.write {
			out = append(out, ft)
		}
	}
	slices.Sort(out)
	return out
}

// ParseFileType reads a mix name, case-insensitively ("q4_k_m", "F16"), or
// its number.
func ParseFileType(s string) (FileType, error) {
	for ft, i := range ftypes {
		if strings.EqualFold(s, i.name) {
			return ft, nil
		}
	}
	var n uint32
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		if _, ok := ftypes[FileType(n)]; ok {
			return FileType(n), nil
		}
	}
	names := make([]string, 0, len(ftypes))
	for _, ft := range FileTypes() {
		names = append(names, ft.String())
	}
	return 0, fmt.Errorf("quant: unknown file type %q (one of %s)", s, strings.Join(names, ", "))
}
