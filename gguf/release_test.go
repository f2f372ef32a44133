package gguf

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// Release only drops pages: a mapped file's tensors read back the same
// afterwards, bytes from elsewhere and a file parsed from memory are left
// alone.
func TestReleaseKeepsContents(t *testing.T) {
	h := sampleHeader()
	h.Tensors = append(h.Tensors, TensorInfo{Name: "big", Shape: []int64{4096, 9}, DType: tensor.F32})
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := WriteFile(path, h, patternSource(h)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := bytes.Clone(f.Bytes())
	for i := range f.Tensors {
		f.Release(f.TensorData(&f.Tensors[i]))
	}
	f.Release(make([]byte, 1<<16)) // not the file's
	f.Release(nil)
	if !bytes.Equal(f.Bytes(), want) {
		t.Fatal("file contents changed after Release")
	}
	f.Release(f.Bytes())
	if !bytes.Equal(f.Bytes(), want) {
		t.Fatal("file contents changed after releasing all of it")
	}

	mem := bytes.Clone(want)
	g, err := Parse(mem)
	if err != nil {
		t.Fatal(err)
	}
	g.Release(g.Bytes())
	if !bytes.Equal(mem, want) {
		t.Fatal("Release changed a file parsed from memory")
	}
}
