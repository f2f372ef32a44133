// Reference: the Go spec on floating-point operators (an explicit conversion rounds, which keeps x*y + z from being fused into one FMA).

package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// TestLoRAMergeRoundsEveryArch: merged into F32, each weight is the base
// plus, adapter rank by rank, the float32 product f·A[k, j] rounded and
// then added (f = scale·B[r, k]), on every GOARCH. The reference rounds
// each float32 operation explicitly (one operation done in float64 and
// rounded to float32 is the float32 operation), so it holds where Go's
// compiler fuses x*y + z (arm64): there, before lora_merge.go's float32(),
// the merged file had other bits (checked under qemu-aarch64 through go
// test -overlay).
func TestLoRAMergeRoundsEveryArch(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	base := writeBase(t, c, tensor.F32, false)
	f, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 4, Alpha: 8, Seed: 1, Targets: []string{"q", "down"}})
	if err != nil {
		t.Fatal(err)
	}
	randomizeB(m, 3, 0.3)
	_, ad := writtenAdapter(t, m, "test")
	const userScale = 0.7
	merged := filepath.Join(t.TempDir(), "merged.gguf")
	if err := MergeAdapters(f, []ScaledAdapter{{ad, userScale}}, merged, false); err != nil {
		t.Fatal(err)
	}
	mf, err := gguf.Open(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	for i := range ad.Pairs {
		p := &ad.Pairs[i]
		scale := ad.Scale(p, userScale)
		a, err := p.A.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.B.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		bt, ok, err := GGUFSource(f)(p.Base)
		if err != nil || !ok {
			t.Fatalf("%s: base tensor: %v", p.Base, err)
		}
		want, err := bt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		C, R, rank := bt.Cols(), bt.Rows(), p.Rank()
		for r := range R {
			for k := range rank {
				fk := float32(float64(scale) * float64(b[r*rank+k]))
				for j := range C {
					prod := float32(float64(fk) * float64(a[k*C+j]))
					want[r*C+j] = float32(float64(want[r*C+j]) + float64(prod))
				}
			}
		}
		mt, ok, err := GGUFSource(mf)(p.Base)
		if err != nil || !ok {
			t.Fatalf("%s: merged tensor: %v", p.Base, err)
		}
		got, err := mt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d of %d merged weights differ from the rounded sums", p.Base, diff, len(want))
		}
	}
}
