package hf

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
)

// TestRopeScaling: llama-3 scaling becomes rope_freqs.weight (factor 1 for
// short wavelengths, the full factor for long ones, smoothed between) that
// the model loads; linear scaling becomes metadata.
func TestRopeScaling(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	writeTiny(t, dir, "llama", safetensors.F32)
	cfgPath := filepath.Join(dir, "config.json")
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `"vocab_size"`, `"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":8192},"vocab_size"`, 1)), 0o644)
	f, out := convertOpen(t, dir)
	ti, ok := f.Tensor("rope_freqs.weight")
	if !ok || len(ti.Shape) != 1 || ti.Shape[0] != 4 {
		t.Fatalf("rope_freqs %+v", ti)
	}
	// Head width 8, base 5e5: wavelengths 2π·base^(2i/8) ≈ 6.3, 167, 4443, 118,000
	// against 8192/4 = 2048 and 8192/1: 1, 1, smoothed, 8.
	smooth := (8192/(2*math.Pi*math.Pow(500000, 0.5)) - 1) / 3
	want := []float64{1, 1, 1 / ((1-smooth)/8 + smooth), 8}
	d := f.TensorData(ti)
	for i, w := range want {
		got := float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
		if math.Abs(got-w) > 1e-5*w {
			t.Errorf("factor %d = %v, want %v", i, got, w)
		}
	}
	f.Close()
	m, err := model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()

	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `"vocab_size"`, `"rope_scaling":{"type":"linear","factor":2},"vocab_size"`, 1)), 0o644)
	f, out = convertOpen(t, dir)
	typ, _ := f.String("llama.rope.scaling.type")
	fac, _ := f.Float("llama.rope.scaling.factor")
	if typ != "linear" || fac != 2 {
		t.Errorf("scaling %q × %v", typ, fac)
	}
	back := filepath.Join(t.TempDir(), "hf")
	if err := Export(context.Background(), out, back, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(filepath.Join(back, "config.json"))
	if !strings.Contains(string(cb), `"factor": 2`) || !strings.Contains(string(cb), `"rope_type": "linear"`) {
		t.Errorf("exported config.json lacks the linear scaling:\n%s", cb)
	}
}
