package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample writes two tensors with known bytes and returns the file.
func sample(t testing.TB) []byte {
	ts := []Tensor{{"a", F32, []int64{2, 3}}, {"b.bias", BF16, []int64{5}}, {"empty", I64, []int64{0, 4}}}
	var buf bytes.Buffer
	err := Write(&buf, ts, map[string]string{"format": "pt"}, func(i int, w io.Writer) error {
		p := make([]byte, ts[i].Size())
		for j := range p {
			p[j] = byte(i*100 + j)
		}
		_, err := w.Write(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := sample(t)
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not a multiple of 8", 8+n)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	a, ok := f.Tensor("a")
	if !ok || a.DType != F32 || len(a.Shape) != 2 || a.Shape[1] != 3 || a.Elements() != 6 {
		t.Fatalf("a = %+v", a)
	}
	if d := f.Data(a); len(d) != 24 || d[5] != 5 {
		t.Errorf("a data %v", d)
	}
	bb, _ := f.Tensor("b.bias")
	if d := f.Data(bb); len(d) != 10 || d[0] != 100 {
		t.Errorf("b data %v", d)
	}
	if e, ok := f.Tensor("empty"); !ok || len(f.Data(e)) != 0 {
		t.Errorf("empty tensor %+v", e)
	}
}

// rewrite replaces the header of a sample file with hdr (data kept).
func rewrite(b []byte, edit func(h map[string]any)) []byte {
	n := binary.LittleEndian.Uint64(b)
	var h map[string]any
	json.Unmarshal(b[8:8+n], &h)
	edit(h)
	nh, _ := json.Marshal(h)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(nh)))
	out = append(out, nh...)
	return append(out, b[8+n:]...)
}

func TestMalformed(t *testing.T) {
	good := sample(t)
	n := binary.LittleEndian.Uint64(good)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short", good[:5], "shorter than the 8-byte"},
		{"truncated data", good[:len(good)-3], "run past the"},
		{"truncated header", good[:8+n/2], "runs past the end"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds"},
		{"not json", append(binary.LittleEndian.AppendUint64(nil, 3), "abc"...), "JSON object"},
		{"gap", rewrite(good, func(h map[string]any) {
			h["b.bias"].(map[string]any)["data_offsets"] = []int64{26, 36}
		}), "gap"},
		{"overlap", rewrite(good, func(h map[string]any) {
			h["b.bias"].(map[string]any)["data_offsets"] = []int64{20, 30}
		}), "overlap"},
		{"size lies", rewrite(good, func(h map[string]any) {
			h["a"].(map[string]any)["shape"] = []int64{2, 4}
		}), "needs 32"},
		{"bad dtype", rewrite(good, func(h map[string]any) {
			h["a"].(map[string]any)["dtype"] = "F8_E4M3"
		}), `dtype "F8_E4M3" not supported`},
		{"negative dim", rewrite(good, func(h map[string]any) {
			h["a"].(map[string]any)["shape"] = []int64{-2, -3}
		}), "negative"},
		{"missing field", rewrite(good, func(h map[string]any) {
			delete(h["a"].(map[string]any), "shape")
		}), "needs dtype, shape and data_offsets"},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2), "cover 34 of the 36"},
	}
	for _, c := range cases {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	fill := func(i int, w io.Writer) error { _, err := w.Write(make([]byte, 8)); return err }
	if err := WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{{"x", F32, []int64{2}}}, nil, fill); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{{"y", F16, []int64{4}}}, nil, fill); err != nil {
		t.Fatal(err)
	}
	idx := `{"metadata":{"total_size":16},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, IndexName), []byte(idx), 0o644)
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ti, f, ok := c.Tensor("y"); !ok || ti.DType != F16 || !strings.HasSuffix(f.Path(), "00002-of-00002.safetensors") {
		t.Errorf("y: %+v %v", ti, ok)
	}
	if len(c.Names) != 2 {
		t.Errorf("names %v", c.Names)
	}
	c.Close()

	bad := strings.Replace(idx, `"y":"model-00002`, `"z":"model-00002`, 1)
	os.WriteFile(filepath.Join(dir, IndexName), []byte(bad), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "z (in model-00002-of-00002.safetensors)") {
		t.Errorf("missing tensor: %v", err)
	}
	escape := strings.Replace(idx, `"model-00002-of-00002.safetensors"}`, `"../evil.safetensors"}`, 1)
	os.WriteFile(filepath.Join(dir, IndexName), []byte(escape), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "not a file name in the same directory") {
		t.Errorf("escaping shard: %v", err)
	}
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	none := func(int, io.Writer) error { return nil }
	if err := Write(io.Discard, []Tensor{{"a", F32, []int64{1}}, {"a", F32, []int64{1}}}, nil, none); err == nil {
		t.Error("repeated name accepted")
	}
	if err := Write(io.Discard, []Tensor{{"a", F32, []int64{1}}}, nil, none); err == nil || !strings.Contains(err.Error(), "4 bytes too few") {
		t.Errorf("short source: %v", err)
	}
}

// FuzzParse: no input panics, and whatever parses hands out only ranges
// inside the file.
func FuzzParse(f *testing.F) {
	good := sample(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(rewrite(good, func(h map[string]any) { h["a"].(map[string]any)["data_offsets"] = []int64{0, 1 << 62} }))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for i := range file.Tensors {
			ti := &file.Tensors[i]
			if d := file.Data(ti); int64(len(d)) != ti.Elements()*ti.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for %v %v", ti.Name, len(d), ti.DType, ti.Shape)
			}
		}
	})
}
