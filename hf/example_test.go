package hf_test

import (
	"context"
	"fmt"

	"github.com/gptgo/gptgo/hf"
	"github.com/gptgo/gptgo/quant"
)

// Convert a checkpoint directory to a Q8_0 GGUF, then write it back as a
// checkpoint (a quantized file needs Dequantize to be exported).
func Example() {
	ft, _ := quant.ParseFileType("Q8_0")
	ctx := context.Background()
	if _, err := hf.Convert(ctx, "TinyLlama-1.1B-Chat", "tinyllama.gguf", hf.Options{Type: &ft}); err != nil {
		fmt.Println(err)
		return
	}
	if err := hf.Export(ctx, "tinyllama.gguf", "tinyllama-hf", hf.ExportOptions{Dequantize: true}); err != nil {
		fmt.Println(err)
	}
}
