// Reference: Go fuzzing (go.dev/doc/security/fuzz); seeds from the reference models' headers.

package gguf

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// allocBound is the most Parse may allocate for an input of n bytes. Every
// allocation is tied to bytes of the input: a string copies its bytes; an
// array of n elements takes at most 2× its minimal encoding ([]string: 16
// bytes per 8-byte length, []Value: 24 per 12-byte header); a KV entry (40
// bytes + map slot) needs ≥ 14 bytes, a tensor info (64 bytes + shape +
// map slot) ≥ 33. 16 bytes per input byte covers those with room for Go's
// size classes and map growth; 64 KiB covers the fixed cost.
func allocBound(n int) uint64 { return 16*uint64(n) + 64<<10 }

// shrunk returns a small file in the image of a reference model: the same
// keys, value types and tensor names and dtypes, but arrays cut to a few
// elements and each tensor one block long. Whole models are too big to be
// good fuzz seeds.
func shrunk(t testing.TB, f *File) []byte {
	h := f.Header()
	for i, kv := range h.KV {
		v := kv.Value
		if v.Type == TypeArray && v.Len() > 4 {
			switch x := v.X.(type) {
			case []string:
				v.X = x[:4]
			case []float32:
				v.X = x[:4]
			case []int32:
				v.X = x[:4]
			default:
				v = NewValue([]uint8{1, 2})
			}
			h.KV[i].Value = v
		}
	}
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		ti.Shape = []int64{int64(ti.DType.BlockSize()), 1}
	}
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, h, patternSource(h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parseCountingAllocs parses data and returns the heap bytes allocated
// meanwhile (MemStats.TotalAlloc; /gc/heap/allocs:bytes of runtime/metrics
// is cheaper but lags behind small allocations, so it reads 0 here).
// ReadMemStats costs ~10 µs, about as much as Parse of a small file.
func parseCountingAllocs(data []byte) (*File, uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := Parse(data)
	runtime.ReadMemStats(&after)
	return f, after.TotalAlloc - before.TotalAlloc, err
}

// TestAllocMeasure shows the measure sees Parse's allocations (a bound
// checked with a blind counter would pass vacuously).
func TestAllocMeasure(t *testing.T) {
	data := encode(t, sampleHeader())
	_, n, err := parseCountingAllocs(data)
	if err != nil || n < 1000 || n > allocBound(len(data)) {
		t.Fatalf("Parse of %d bytes: %d bytes allocated (want 1000…%d), err %v", len(data), n, allocBound(len(data)), err)
	}
	t.Logf("Parse of %d bytes allocated %d bytes", len(data), n)
}

func FuzzParse(f *testing.F) {
	f.Add(encode(f, sampleHeader()))
	f.Add(encode(f, &Header{}))
	// Seeds from ../shared when it is there; without it the fuzzer still runs.
	models := filepath.Join(testkit.ModuleRoot(), "..", "shared", "reference", "models")
	for _, name := range []string{"tiny-llama-q4_k_m.gguf", "tiny-qwen2-q8_0.gguf", "tiny-gpt2-f16.gguf"} {
		if rf, err := Open(filepath.Join(models, name)); err == nil {
			f.Add(shrunk(f, rf))
			rf.Close()
		}
	}
	// One P makes ReadMemStats' stop of the world cheap on a loaded machine
	// (it waits for every P; with 2 busy cores that took ~0.5 ms) and keeps
	// other goroutines' allocations out of the measure. -parallel 1 runs one
	// input at a time anyway.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, got, err := parseCountingAllocs(data)
		if got > allocBound(len(data)) {
			t.Fatalf("Parse of %d bytes allocated %d bytes (bound %d)", len(data), got, allocBound(len(data)))
		}
		if err != nil {
			return
		}
		// An accepted file must be self-consistent: its tensor data lies
		// inside the input, and writing it back reproduces a file that
		// parses to the same header.
		for i := range file.Tensors {
			if d := file.TensorData(&file.Tensors[i]); int64(len(d)) != file.Tensors[i].Size {
				t.Fatalf("tensor %d: %d bytes, want %d", i, len(d), file.Tensors[i].Size)
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, file.Header(), file.Source()); err != nil {
			t.Fatalf("accepted file does not write back: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("written file does not parse: %v", err)
		}
		if len(again.KV) != len(file.KV) || len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("rewrite has %d keys %d tensors, want %d %d", len(again.KV), len(again.Tensors), len(file.KV), len(file.Tensors))
		}
	})
}
