package hf

import (
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tensor"
)

// TestConvertTypes: --type F16 and BF16 round each matrix element to
// nearest even (through the permutation), keep norms F32, and set
// general.file_type; --type Q8_0 hands the float file to quant.
func TestConvertTypes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	writeTiny(t, dir, "llama", safetensors.F32)
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	src, sf, _ := ck.Tensor("model.layers.0.mlp.up_proj.weight")
	sd := sf.Data(src)
	for _, c := range []struct {
		typ  string
		dt   tensor.DType
		ft   uint64
		conv func(float32) uint16
	}{{"F16", tensor.F16, 1, kernel.FP32ToFP16}, {"BF16", tensor.BF16, 32, kernel.FP32ToBF16}, {"Q8_0", tensor.Q8_0, 7, nil}} {
		ft, err := quant.ParseFileType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), c.typ+".gguf")
		if _, err := Convert(context.Background(), dir, out, Options{Type: &ft}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		up, _ := f.Tensor("blk.0.ffn_up.weight")
		norm, _ := f.Tensor("blk.0.attn_norm.weight")
		got, _ := f.Uint("general.file_type")
		if up.DType != c.dt || norm.DType != tensor.F32 || got != c.ft {
			t.Errorf("%s: ffn_up %v, attn_norm %v, file_type %d", c.typ, up.DType, norm.DType, got)
		}
		if c.conv != nil {
			d := f.TensorData(up)
			for i := 0; i < int(up.Elements()); i += 97 {
				want := c.conv(math.Float32frombits(binary.LittleEndian.Uint32(sd[4*i:])))
				if g := binary.LittleEndian.Uint16(d[2*i:]); g != want {
					t.Fatalf("%s: element %d = %#04x, want %#04x", c.typ, i, g, want)
				}
			}
		}
		f.Close()
	}
}
