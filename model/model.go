// Reference: llama2.c (config → read-only weights → per-run state) and llama.cpp src/llama-model-loader.cpp.

package model

import (
	"fmt"
	"runtime"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// Model is a configured, read-only decoder. It is safe to share between
// goroutines; each conversation runs in its own State.
type Model struct {
	Config
	*Weights

	file *gguf.File // owner of the mapped weights when the model was opened from a path
	lora *loraRun   // LoRA adapters added to the matmuls unmerged (lora_infer.go); nil without
}

// New binds the weights of c from src, and packs its Q4_0 matrices for
// MatMul (packMatrices).
func New(c Config, src Source) (*Model, error) { return newModel(c, src, nil) }

func newModel(c Config, src Source, release func([]byte)) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w, err := bindWeights(c, src)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c, Weights: w}
	if err := m.packMatrices(release); err != nil {
		return nil, err
	}
	return m, nil
}

// packMatrices gives every matrix that goes through MatMul (the output head,
// the blocks' matrices) its packed copy where tensor.Pack makes one (Q4_0),
// as llama.cpp repacks Q4_0 at load. release, if not nil, is then handed
// each packed matrix's file bytes, which only an embedding lookup still
// reads, so that a mapped file's pages leave the resident set one tensor at
// a time instead of doubling the weights' memory.
func (m *Model) packMatrices(release func([]byte)) error {
	pack := func(t *tensor.Tensor) error {
		if t == nil {
			return nil
		}
		ok, err := t.Pack()
		if ok && release != nil {
			release(t.Data)
		}
		return err
	}
	if err := pack(m.Output); err != nil {
		return err
	}
	for i := range m.Blocks {
		l := &m.Blocks[i]
		for _, t := range []*tensor.Tensor{l.Wq, l.Wk, l.Wv, l.Wqkv, l.Wo, l.Gate, l.Up, l.Down} {
			if err := pack(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// FromGGUF builds a model over the tensors of f, which must stay open for
// as long as the model is used: the weights are views of its mapping.
func FromGGUF(f *gguf.File) (*Model, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return newModel(c, GGUFSource(f), f.Release)
}

// Open maps the GGUF file at path and builds its model; Close unmaps it.
func Open(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.file = f
	return m, nil
}

// OpenFile builds the model of f and takes f over, as Open does with the
// file it maps: File returns f, and Close closes it. For a file parsed
// from memory (gguf.Parse), such as the embedded default model.
func OpenFile(f *gguf.File) (*Model, error) {
	m, err := FromGGUF(f)
	if err != nil {
		return nil, err
	}
	m.file = f
	return m, nil
}

// File returns the GGUF file the model was opened from with Open or
// OpenFile (nil for New and FromGGUF).
func (m *Model) File() *gguf.File { return m.file }

// Close releases the file opened by Open. The model must not be used after.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	err := m.file.Close()
	m.file = nil
	return err
}

// GGUFSource finds tensors in f as tensor.Tensor views of its data.
func GGUFSource(f *gguf.File) Source {
	return func(name string) (*tensor.Tensor, bool, error) {
		ti, ok := f.Tensor(name)
		if !ok {
			return nil, false, nil
		}
		shape := make([]int, len(ti.Shape))
		for i, d := range ti.Shape {
			shape[i] = int(d)
		}
		t, err := tensor.New(name, ti.DType, f.TensorData(ti), shape...)
		if err != nil {
			return nil, false, err
		}
		return t, true, nil
	}
}

// WeightBytes is the size of all weight matrices as stored.
func (m *Model) WeightBytes() int64 {
	seen := map[*tensor.Tensor]bool{}
	var n int64
	add := func(t *tensor.Tensor) {
		if t != nil && !seen[t] {
			seen[t] = true
			n += int64(len(t.Data))
		}
	}
	add(m.TokEmbd)
	add(m.PosEmbd)
	add(m.Output)
	for i := range m.Blocks {
		l := &m.Blocks[i]
		for _, t := range []*tensor.Tensor{l.Wq, l.Wk, l.Wv, l.Wqkv, l.Wo, l.Gate, l.Up, l.Down} {
			add(t)
		}
	}
	return n
}

// hasHalfWeights reports whether any matrix is F16 or BF16 (whose matmuls
// round the activations to the same type).
func (m *Model) hasHalfWeights() bool {
	half := false
	m.eachMatrix(func(t *tensor.Tensor) { half = half || t.DType == tensor.F16 || t.DType == tensor.BF16 })
	return half
}

// eachMatrix calls fn for every bound weight matrix (tied ones once per use).
func (m *Model) eachMatrix(fn func(*tensor.Tensor)) {
	for _, t := range []*tensor.Tensor{m.TokEmbd, m.PosEmbd, m.Output} {
		if t != nil {
			fn(t)
		}
	}
	for i := range m.Blocks {
		l := &m.Blocks[i]
		for _, t := range []*tensor.Tensor{l.Wq, l.Wk, l.Wv, l.Wqkv, l.Wo, l.Gate, l.Up, l.Down} {
			if t != nil {
				fn(t)
			}
		}
	}
}

// Touch reads one byte of every page of the weights, so that a large model
// is paged in up front (with progress) rather than during the first prompt.
// The packed matrices' file bytes are left out: MatMul reads their packed
// copy, which is in memory already. progress, if not nil, is called with
// bytes done and total.
func (m *Model) Touch(progress func(done, total int64)) {
	if m.file == nil {
		return
	}
	var parts [][]byte
	var total int64
	seen := map[*tensor.Tensor]bool{}
	m.eachMatrix(func(t *tensor.Tensor) {
		if !seen[t] && !t.Packed() {
			seen[t] = true
			parts = append(parts, t.Data)
			total += int64(len(t.Data))
		}
	})
	const page, report = 4096, 64 << 20
	var sink byte
	var done int64
	for _, data := range parts {
		for off := 0; off < len(data); off += page {
			sink ^= data[off]
			if progress != nil && (done+int64(off))%report < page {
				progress(done+int64(off), total)
			}
		}
		done += int64(len(data))
	}
	if progress != nil {
		progress(total, total)
	}
	runtime.KeepAlive(sink) // the reads are the point; keep them
}
