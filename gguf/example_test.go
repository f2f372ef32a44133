// Reference: GGUF specification (ggml/docs/gguf.md).

package gguf_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// Write a file with one metadata key and one tensor, then read it back.
func Example() {
	h := &gguf.Header{
		KV:      []gguf.KV{{Key: "general.architecture", Value: gguf.NewValue("llama")}},
		Tensors: []gguf.TensorInfo{{Name: "w", Shape: []int64{4, 2}, DType: tensor.F32}},
	}
	if err := h.Layout(); err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	err := gguf.Write(&buf, h, func(i int, w io.Writer) error {
		_, err := w.Write(make([]byte, h.Tensors[i].Size)) // eight zeros
		return err
	})
	if err != nil {
		panic(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		panic(err)
	}
	ti, _ := f.Tensor("w")
	fmt.Println(f.Arch(), len(buf.Bytes()), "bytes;", ti.Name, ti.DType, ti.Shape, ti.Size, "bytes at", f.DataOffset)
	// Output: llama 160 bytes; w F32 [4 2] 32 bytes at 128
}
