// Reference: llama.cpp include/llama.h (enum llama_ftype).

package quant_test

import (
	"fmt"

	"github.com/gptgo/gptgo/quant"
)

// A file type is a mix: its base dtype is what most 2-D weights get.
func ExampleParseFileType() {
	ft, err := quant.ParseFileType("q4_k_m")
	if err != nil {
		panic(err)
	}
	base, _ := ft.BaseType()
	fmt.Println(ft, uint32(ft), base)
	// Output: Q4_K_M 15 Q4_K
}
