package safetensors_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/gptgo/gptgo/safetensors"
)

// Write a file with one tensor and read it back.
func Example() {
	ts := []safetensors.Tensor{{Name: "w", DType: safetensors.F16, Shape: []int64{2, 3}}}
	var buf bytes.Buffer
	err := safetensors.Write(&buf, ts, map[string]string{"format": "pt"}, func(i int, w io.Writer) error {
		_, err := w.Write(make([]byte, ts[i].Size()))
		return err
	})
	if err != nil {
		panic(err)
	}
	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		panic(err)
	}
	ti, _ := f.Tensor("w")
	fmt.Println(ti.DType, ti.Shape, len(f.Data(ti)), f.Metadata["format"])
	// Output: F16 [2 3] 12 pt
}
