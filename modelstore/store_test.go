package modelstore

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
)

// writeTiny writes a GGUF with one small F32 tensor and the given metadata.
func writeTiny(t *testing.T, path string, kv ...gguf.KV) {
	t.Helper()
	h := &gguf.Header{KV: append([]gguf.KV{{Key: "general.architecture", Value: gguf.NewValue("llama")},
		{Key: "llama.context_length", Value: gguf.NewValue(uint32(256))}}, kv...),
		Tensors: []gguf.TensorInfo{{Name: "w", Shape: []int64{32, 2}, DType: tensor.F32}}}
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	err := gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		_, err := w.Write(make([]byte, h.Tensors[i].Size))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestParseName(t *testing.T) {
	good := map[string]string{
		"x": "x:latest", "x:latest": "x:latest", "llama3.2:1b-q4_K_M": "llama3.2:1b-q4_K_M",
		"_a-b.c:v1": "_a-b.c:v1", "a:b:c": "", // the last ':' splits: "a:b" is not a valid name
	}
	for in, want := range good {
		got, _, _, err := ParseName(in)
		if want == "" {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("ParseName(%q): err %v, want ErrInvalidName", in, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ":x", "x:", "../x", "a/b", `a\b`, "a..b", ".x", "-x", "x:.y", "a@b", "a b", "é", string(make([]byte, 81))} {
		if _, _, _, err := ParseName(in); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ParseName(%q): err %v, want ErrInvalidName", in, err)
		}
	}
}

func TestFileNamesRoundTrip(t *testing.T) {
	for _, in := range []string{"x", "x:v1", "a.b-c_d:1.5b-q8_0", "x:latest"} {
		canon, n, tag, err := ParseName(in)
		if err != nil {
			t.Fatal(err)
		}
		back, ok := nameOfFile(fileName(n, tag))
		if !ok || back != canon {
			t.Errorf("%q: file %q maps back to %q, %v", in, fileName(n, tag), back, ok)
		}
	}
	for _, f := range []string{"x@latest.gguf", ".x.gguf", ".x.gguf.tmp-123", "x.gguf.tmp", "a b.gguf", "x@.gguf", "x@y@z.gguf", "x.GGUF", "x.bin"} {
		if n, ok := nameOfFile(f); ok {
			t.Errorf("file %q taken as model %q", f, n)
		}
	}
}

func TestStoreListResolveCopyRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models") // Open creates it
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name != DefaultModel || !es[0].Embedded || es[0].Err != nil || es[0].Size != int64(models.DefaultSize()) {
		t.Fatalf("empty store lists %+v, want only the embedded default", es)
	}
	if es[0].Modified.IsZero() {
		t.Error("the embedded default has no modification time (want the build's commit or the binary's time)")
	}
	if es[0].Details.ParameterCount == 0 || es[0].Details.Family == "" {
		t.Errorf("default details %+v", es[0].Details)
	}

	writeTiny(t, filepath.Join(dir, "tiny.gguf"),
		gguf.KV{Key: KeySystem, Value: gguf.NewValue("be brief")},
		gguf.KV{Key: KeyParameters, Value: gguf.NewValue([]string{"stop <a>", "stop <b c>", "temperature 0.5"})})
	writeTiny(t, filepath.Join(dir, "tiny@v2.gguf"))
	os.WriteFile(filepath.Join(dir, "broken.gguf"), []byte("not a gguf"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "tiny@latest.gguf"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "dir.gguf"), 0o755)
	writeTiny(t, filepath.Join(dir, "default.gguf")) // shadowed by the embedded one

	es, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(es), []string{"default:latest", "broken:latest", "tiny:latest", "tiny:v2"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if es[1].Err == nil {
		t.Error("broken.gguf listed without an error")
	}
	if es[0].Path != "" || !es[0].Embedded {
		t.Errorf("default:latest is %+v, want the embedded model", es[0])
	}

	e, err := s.Resolve("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if e.System != "be brief" || !slices.Equal(e.Parameters["stop"], []string{"<a>", "<b c>"}) || !slices.Equal(e.Parameters["temperature"], []string{"0.5"}) {
		t.Errorf("tiny: system %q parameters %v", e.System, e.Parameters)
	}
	if e.Details.Family != "llama" || e.Details.ContextLength != 256 || e.Details.ParameterCount != 64 || e.Details.QuantizationLevel != "F32" {
		t.Errorf("tiny details %+v", e.Details)
	}
	f, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	if _, err := s.Resolve("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(nope): %v, want ErrNotFound", err)
	}
	if _, err := s.Resolve("../tiny"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Resolve(../tiny): %v, want ErrInvalidName", err)
	}
	if _, err := s.Resolve("broken"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(broken): %v, want a parse error", err)
	}

	// Copy the embedded default out, and a file to a tag.
	c, err := s.Copy("default", "mine:v1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != filepath.Join(dir, "mine@v1.gguf") || c.Size != int64(models.DefaultSize()) || c.Embedded {
		t.Errorf("copy of default: %+v", c)
	}
	if _, err := s.Copy("tiny", "tiny2"); err != nil {
		t.Fatal(err)
	}
	if e2, err := s.Resolve("tiny2:latest"); err != nil || e2.System != "be brief" {
		t.Errorf("tiny2: %+v, %v", e2, err)
	}
	if _, err := s.Copy("tiny", "default"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Copy to default: %v, want ErrReadOnly", err)
	}
	if _, err := s.Copy("tiny", "tiny:latest"); err == nil {
		t.Error("Copy onto itself succeeded")
	}
	if _, err := s.Copy("nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Copy(nope): %v, want ErrNotFound", err)
	}

	if err := s.Remove("default"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Remove(default): %v, want ErrReadOnly", err)
	}
	if err := s.Remove("broken"); err != nil {
		t.Errorf("Remove(broken): %v", err)
	}
	if err := s.Remove("tiny2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("tiny2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	es, _ = s.List()
	if got, want := names(es), []string{"default:latest", "mine:v1", "tiny:latest", "tiny:v2"}; !slices.Equal(got, want) {
		t.Errorf("after changes List = %v, want %v", got, want)
	}
}

func TestOpenRejectsAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, nil, 0o644)
	if _, err := Open(p); err == nil {
		t.Error("Open of a regular file succeeded")
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestBadParametersMetadata(t *testing.T) {
	dir := t.TempDir()
	writeTiny(t, filepath.Join(dir, "x.gguf"), gguf.KV{Key: KeyParameters, Value: gguf.NewValue([]string{"mirostat 2"})})
	writeTiny(t, filepath.Join(dir, "y.gguf"), gguf.KV{Key: KeySystem, Value: gguf.NewValue(uint32(1))})
	s, _ := Open(dir)
	for _, n := range []string{"x", "y"} {
		if _, err := s.Resolve(n); err == nil {
			t.Errorf("model %s with bad gptgo metadata resolved", n)
		}
	}
}

func TestParameterSize(t *testing.T) {
	for n, want := range map[int64]string{999: "999", 110_000_000: "110M", 1_100_000_000: "1.1B", 5_900_000: "5.9M", 8_000_000_000: "8B"} {
		if got := (Details{ParameterCount: n}).ParameterSize(); got != want {
			t.Errorf("ParameterSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheckParam(t *testing.T) {
	ok := map[[2]string]string{{"temperature", "0.70"}: "0.7", {"num_ctx", "4096.0"}: "4096", {"stop", "<|im_end|>"}: "<|im_end|>",
		{"mirostat", "0"}: "0", {"use_mmap", "true"}: "true", {"typical_p", "1.0"}: "1"}
	for in, want := range ok {
		if got, err := CheckParam(in[0], in[1]); err != nil || got != want {
			t.Errorf("CheckParam(%q, %q) = %q, %v; want %q", in[0], in[1], got, err, want)
		}
	}
	for _, in := range [][2]string{{"temprature", "1"}, {"num_ctx", "1.5"}, {"top_k", "x"}, {"temperature", "NaN"}, {"mirostat", "2"}, {"use_mmap", "maybe"}} {
		if _, err := CheckParam(in[0], in[1]); err == nil {
			t.Errorf("CheckParam(%q, %q) accepted", in[0], in[1])
		}
	}
}

// TestRereadsChangedFiles: what the store remembers of a file is dropped
// when the file is replaced, and callers cannot change it.
func TestRereadsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	p := filepath.Join(dir, "m.gguf")
	writeTiny(t, p, gguf.KV{Key: KeySystem, Value: gguf.NewValue("first")}, gguf.KV{Key: KeyParameters, Value: gguf.NewValue([]string{"seed 1"})})
	e, err := s.Resolve("m")
	if err != nil || e.System != "first" {
		t.Fatalf("%+v %v", e, err)
	}
	e.Parameters["seed"][0] = "changed by a caller"
	if e2, _ := s.Resolve("m"); e2.Parameters["seed"][0] != "1" {
		t.Errorf("a caller changed the remembered entry: %v", e2.Parameters)
	}
	writeTiny(t, p, gguf.KV{Key: KeySystem, Value: gguf.NewValue("second")})
	if e, err = s.Resolve("m"); err != nil || e.System != "second" || e.Parameters != nil {
		t.Errorf("after replacing the file: %+v %v", e, err)
	}
	os.WriteFile(p, []byte("broken now"), 0o644)
	if _, err = s.Resolve("m"); err == nil {
		t.Error("a file broken in place still resolves")
	}
	os.Remove(p)
	s.List()
	if len(s.known) != 0 {
		t.Errorf("removed files still remembered: %v", s.known)
	}
}
