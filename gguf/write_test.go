// Reference: GGUF specification (ggml/docs/gguf.md); round trips against files written by llama.cpp.

package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// sampleHeader holds every metadata type, an array of strings, a nested
// array and three tensors of different dtypes.
func sampleHeader() *Header {
	h := &Header{Version: 3}
	for _, kv := range []struct {
		k string
		x any
	}{
		{"general.architecture", "llama"},
		{"general.alignment", uint32(64)},
		{"t.u8", uint8(200)}, {"t.i8", int8(-3)}, {"t.u16", uint16(60000)}, {"t.i16", int16(-300)},
		{"t.u32", uint32(1 << 31)}, {"t.i32", int32(-70000)}, {"t.f32", float32(1.5)}, {"t.bool", true},
		{"t.str", "héllo"}, {"t.u64", uint64(1 << 40)}, {"t.i64", int64(-1 << 40)}, {"t.f64", 2.25},
		{"t.strs", []string{"a", "", "ccc"}}, {"t.bools", []bool{true, false}}, {"t.f32s", []float32{1, 2, 3}},
		{"t.i32s", []int32{-1, 2}}, {"t.u8s", []uint8{}},
		{"t.nested", []Value{NewValue([]int16{1, 2}), NewValue([]string{"x"}), NewValue([]Value{NewValue([]uint64{7})})}},
	} {
		h.KV = append(h.KV, KV{kv.k, NewValue(kv.x)})
	}
	h.Tensors = []TensorInfo{
		{Name: "a", Shape: []int64{3}, DType: tensor.F32},
		{Name: "b.weight", Shape: []int64{64, 2}, DType: tensor.Q8_0},
		{Name: "c", Shape: []int64{5, 1, 1, 2}, DType: tensor.F16},
	}
	if err := h.Layout(); err != nil {
		panic(err)
	}
	return h
}

// patternSource fills tensor i with bytes i+1, i+2, …
func patternSource(h *Header) TensorSource {
	return func(i int, w io.Writer) error {
		b := make([]byte, h.Tensors[i].Size)
		for j := range b {
			b[j] = byte(i + 1 + j)
		}
		_, err := w.Write(b)
		return err
	}
}

func encode(t testing.TB, h *Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, h, patternSource(h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteParseRoundTrip(t *testing.T) {
	h := sampleHeader()
	data := encode(t, h)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 || len(data)%64 != 0 {
		t.Errorf("alignment %d, data offset %d, file size %d: want all multiples of 64", f.Alignment, f.DataOffset, len(data))
	}
	if !reflect.DeepEqual(f.KV, h.KV) {
		t.Errorf("metadata differs:\n got %v\nwant %v", f.KV, h.KV)
	}
	if !reflect.DeepEqual(f.Tensors, h.Tensors) {
		t.Errorf("tensors differ:\n got %+v\nwant %+v", f.Tensors, h.Tensors)
	}
	for i := range f.Tensors {
		d := f.TensorData(&f.Tensors[i])
		if d[0] != byte(i+1) || d[len(d)-1] != byte(i+len(d)) {
			t.Errorf("tensor %d data starts %d ends %d", i, d[0], d[len(d)-1])
		}
	}
	// Writing the parsed file again gives the same bytes.
	var again bytes.Buffer
	if err := Write(&again, f.Header(), f.Source()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Errorf("second write differs from first (%d vs %d bytes)", again.Len(), len(data))
	}
}

func TestWriteRejectsBadHeaders(t *testing.T) {
	cases := map[string]func(h *Header){
		"version 4":       func(h *Header) { h.Version = 4 },
		"empty key":       func(h *Header) { h.KV[2].Key = "" },
		"duplicate key":   func(h *Header) { h.KV[3].Key = h.KV[2].Key },
		"type mismatch":   func(h *Header) { h.KV[2].Value.Type = TypeUint32 },
		"scalar as array": func(h *Header) { h.KV[2].Value = Value{Type: TypeArray, Elem: TypeUint8, X: uint8(1)} },
		"bad alignment":   func(h *Header) { h.KV[1].Value = NewValue(uint32(48)) },
		"duplicate name":  func(h *Header) { h.Tensors[1].Name = "a" },
		"long name":       func(h *Header) { h.Tensors[1].Name = strings.Repeat("n", MaxNameLen+1) },
		"wrong size":      func(h *Header) { h.Tensors[1].Size++ },
		"unaligned":       func(h *Header) { h.Tensors[1].Offset++ },
		"overlap":         func(h *Header) { h.Tensors[2].Offset = h.Tensors[1].Offset },
		"block size":      func(h *Header) { h.Tensors[1].Shape[0] = 48 },
		"unknown dtype":   func(h *Header) { h.Tensors[1].DType = 4 },
	}
	for name, mutate := range cases {
		h := sampleHeader()
		mutate(h)
		var buf bytes.Buffer
		if err := Write(&buf, h, patternSource(h)); err == nil {
			t.Errorf("%s: Write succeeded", name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error %v", name, buf.Len(), err)
		}
	}
}

func TestWriteChecksSourceLength(t *testing.T) {
	h := sampleHeader()
	short := func(i int, w io.Writer) error { _, err := w.Write([]byte{1}); return err }
	if err := Write(io.Discard, h, short); err == nil || !strings.Contains(err.Error(), "wrote 1 of") {
		t.Errorf("short source: %v", err)
	}
	long := func(i int, w io.Writer) error { _, err := w.Write(make([]byte, 1000)); return err }
	if err := Write(io.Discard, h, long); !errors.Is(err, errTooMuch) {
		t.Errorf("long source: %v", err)
	}
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := sampleHeader()
	boom := errors.New("boom")
	fail := func(i int, w io.Writer) error {
		if i == 2 {
			return boom
		}
		return patternSource(h)(i, w)
	}
	if err := WriteFile(path, h, fail); !errors.Is(err, boom) {
		t.Fatalf("failing source: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("failed write changed the old file to %d bytes", len(b))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary file left behind: %v", ents)
	}
	if err := WriteFile(path, h, patternSource(h)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !bytes.Equal(f.Bytes(), encode(t, h)) {
		t.Error("WriteFile and Write give different bytes")
	}
}

func TestHeaderSetMovesKeyToEnd(t *testing.T) {
	h := sampleHeader()
	h.Set("t.u8", NewValue(uint32(5)))
	last := h.KV[len(h.KV)-1]
	if last.Key != "t.u8" || last.Value.X != uint32(5) || len(h.KV) != 20 {
		t.Errorf("after Set: last %v, %d keys", last, len(h.KV))
	}
}

// referenceFiles lists the GGUF files of ../shared that must round-trip.
func referenceFiles(t *testing.T) []string {
	dir := testkit.SharedDir(t)
	var paths []string
	for _, pat := range []string{"reference/models/*.gguf", "reference/tokenizer/*.gguf", "data/5-models-tokenizers/ollama_llama-2-tiny-random.gguf"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("skipping: no reference GGUF files")
	}
	return paths
}

// TestReferenceRoundTrip reads each reference file and writes it back: the
// bytes must be identical, which pins our layout to llama.cpp's.
func TestReferenceRoundTrip(t *testing.T) {
	for _, p := range referenceFiles(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var buf bytes.Buffer
			buf.Grow(len(f.Bytes()))
			if err := Write(&buf, f.Header(), f.Source()); err != nil {
				t.Fatal(err)
			}
			got, want := buf.Bytes(), f.Bytes()
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("written %d bytes, original %d; first difference at offset %d", len(got), len(want), i)
			}
		})
	}
}

func TestParseRejectsHostileFiles(t *testing.T) {
	good := encode(t, sampleHeader())
	f, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	// Offsets of fields in good, found by walking the header.
	firstTensorInfo := tensorInfoOffset(t, good, f)
	u32 := func(b []byte, off int, x uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], x)
		return b
	}
	u64 := func(b []byte, off int, x uint64) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint64(b[off:], x)
		return b
	}
	nameLen := firstTensorInfo
	ndims := nameLen + 8 + 1 // tensor "a"
	dim0 := ndims + 4
	dtype := dim0 + 8
	offset := dtype + 4
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "magic", nil},
		{"bad magic", "not GGUF", u32(good, 0, 0x46554746)},
		{"version 1", "version 1 not supported", u32(good, 4, 1)},
		{"big-endian", "big-endian", u32(good, 4, 0x03000000)},
		{"huge tensor count", "tensor_count", u64(good, 8, 1<<40)},
		{"huge kv count", "metadata_kv_count", u64(good, 16, 1<<62)},
		{"empty key", "key length 0", u64(good, 24, 0)},
		{"huge key", "need", u64(good, 24, 1<<50)},
		{"key type", "unknown value type", u32(good, 24+8+20, 99)},
		{"empty tensor name", "name length 0", u64(good, nameLen, 0)},
		{"n_dims 5", "n_dims 5", u32(good, ndims, 5)},
		{"zero dim", "dimension 0 is 0", u64(good, dim0, 0)},
		{"dim overflow", "overflow", u64(good, dim0, 1<<62)},
		{"dtype", "unknown type 4", u32(good, dtype, 4)},
		{"unaligned", "not aligned", u64(good, offset, 8)},
		{"beyond file", "beyond", u64(good, offset, 1<<20)},
		{"overlap", "overlap", u64(good, offset, f.Tensors[1].Offset)},
		{"truncated", "beyond", good[:f.DataOffset+int64(f.Tensors[2].Offset)+f.Tensors[2].Size-1]},
		{"truncated header", "truncated", good[:firstTensorInfo+3]},
	}
	for _, c := range cases {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// tensorInfoOffset re-encodes the metadata to find where the tensor infos start.
func tensorInfoOffset(t *testing.T, data []byte, f *File) int {
	var buf bytes.Buffer
	h := &Header{Version: f.Version, KV: f.KV}
	if err := h.writeMeta(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestParseRejectsBadValues(t *testing.T) {
	// writeMeta skips Write's checks, so it can make files Write refuses.
	mk := func(kv ...KV) []byte {
		var buf bytes.Buffer
		if err := (&Header{KV: kv}).writeMeta(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	// A bool array holding 2: the byte after the array header.
	b := mk(KV{"k", NewValue([]bool{true, false, true})})
	b[len(b)-2] = 2
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), "bool value 2") {
		t.Errorf("bool 2 in array: %v", err)
	}
	// An array of strings whose length claims more strings than bytes left.
	b = mk(KV{"k", NewValue([]string{"a"})})
	binary.LittleEndian.PutUint64(b[len(b)-9-8:], 1<<40)
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), "array length") {
		t.Errorf("long string array: %v", err)
	}
	// Nesting deeper than maxNesting.
	v := NewValue([]uint8{1})
	for range maxNesting + 1 {
		v = NewValue([]Value{v})
	}
	if _, err := Parse(mk(KV{"k", v})); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	// general.alignment of the wrong type.
	if _, err := Parse(mk(KV{"general.alignment", NewValue(uint64(32))})); err == nil || !strings.Contains(err.Error(), "general.alignment") {
		t.Errorf("u64 alignment: %v", err)
	}
}

// TestParseRejectsBadHeaders feeds Parse headers that Write would refuse,
// encoded by writeMeta (which does not check).
func TestParseRejectsBadHeaders(t *testing.T) {
	cases := []struct {
		name, want string
		mutate     func(h *Header)
	}{
		{"duplicate key", `"t.u8" appears twice`, func(h *Header) { h.KV[3].Key = "t.u8" }},
		{"duplicate tensor", `tensor "a" appears twice`, func(h *Header) { h.Tensors[1].Name = "a" }},
		{"long tensor name", "name length 64 outside 1..63", func(h *Header) { h.Tensors[1].Name = strings.Repeat("x", 64) }},
		{"alignment 48", "general.alignment 48", func(h *Header) { h.KV[1].Value = NewValue(uint32(48)) }},
		{"alignment 0", "general.alignment 0", func(h *Header) { h.KV[1].Value = NewValue(uint32(0)) }},
		{"bool 2", "bool value 2", func(h *Header) { h.KV[9].Value = NewValue(uint8(2)); h.KV[9].Value.Type = TypeBool }},
		{"row not whole blocks", "not a multiple", func(h *Header) { h.Tensors[1].Shape[0] = 40 }},
	}
	for _, c := range cases {
		h := sampleHeader()
		c.mutate(h)
		var buf bytes.Buffer
		if err := h.writeMeta(&buf); err != nil {
			t.Fatal(err)
		}
		buf.Write(make([]byte, 4096)) // room for the data
		if _, err := Parse(buf.Bytes()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
