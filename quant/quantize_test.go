// Reference: llama.cpp src/llama-quant.cpp; the done-when check compares with files written by llama-quantize.

package quant

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// writeModel writes h with seeded random F32 data (norms near 1) into dir
// and returns its path. poison, if set, names a tensor that gets a NaN.
func writeModel(t *testing.T, dir string, h *gguf.Header, poison string) string {
	t.Helper()
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	path := filepath.Join(dir, "in.gguf")
	err := gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		ti := &h.Tensors[i]
		b := make([]byte, ti.Size)
		for j := 0; j < len(b); j += 4 {
			v := float32(rng.NormFloat64() * 0.02)
			if len(ti.Shape) == 1 {
				v += 1
			}
			binary.LittleEndian.PutUint32(b[j:], math.Float32bits(v))
		}
		if ti.Name == poison {
			binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(float32(math.NaN())))
		}
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// smallModel is a 2-layer llama with rows of 64: the legacy mixes apply
// (output.weight falls back to Q8_0), and Q4_0 and Q8_0 quantizers suffice.
func smallModel(t *testing.T, dir, poison string) string {
	return writeModel(t, dir, llamaHeaderVocab("llama", 2, 64, 100, 4, 2, false), poison)
}

func TestQuantizeSameBytesForAnyThreadCount(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Q4_0, tensor.Q8_0} {
		if !dt.CanQuantize() {
			t.Skipf("no %v quantizer registered yet", dt)
		}
	}
	dir := t.TempDir()
	in := smallModel(t, dir, "")
	var files [][]byte
	for _, threads := range []int{1, 3} {
		out := filepath.Join(dir, "out.gguf")
		var calls int
		res, err := QuantizeFile(context.Background(), in, out, Q4_0, Options{Threads: threads, Progress: func(done, total int, p *TensorPlan) { calls++ }})
		if err != nil {
			t.Fatal(err)
		}
		if calls != len(res.Plan) || res.OutBytes >= res.InBytes/4 || len(res.Requantized) != 0 {
			t.Errorf("threads %d: %d progress calls for %d tensors; %d → %d bytes; requantized %v", threads, calls, len(res.Plan), res.InBytes, res.OutBytes, res.Requantized)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("1 and 3 threads wrote different files")
	}
	f, err := gguf.Parse(files[0])
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.KV)
	if f.KV[n-2].Key != "general.quantization_version" || f.KV[n-1].Key != "general.file_type" {
		t.Errorf("last keys %s, %s", f.KV[n-2].Key, f.KV[n-1].Key)
	}
	if v, _ := f.Uint("general.file_type"); v != uint64(Q4_0) {
		t.Errorf("general.file_type %d", v)
	}
	src, err := gguf.Open(filepath.Join(dir, "in.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, ti := range f.Tensors {
		want := tensor.Q4_0
		switch {
		case len(ti.Shape) == 1:
			want = tensor.F32
		case ti.Name == "output.weight":
			want = tensor.Q8_0 // rows of 64 are no whole Q6_K super-block
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
		// The quantized weights stay close to the input: Q4_0's NMSE on
		// Gaussian data is about 1%; allow 3%.
		n := ti.Elements()
		got, orig := make([]float32, n), make([]float32, n)
		sti, _ := src.Tensor(ti.Name)
		if err := tensor.Dequantize(ti.DType, f.TensorData(&ti), got); err != nil {
			t.Fatal(err)
		}
		if err := tensor.Dequantize(tensor.F32, src.TensorData(sti), orig); err != nil {
			t.Fatal(err)
		}
		if e := testkit.NMSE(got, orig); e > 0.03 {
			t.Errorf("%s: NMSE %.4f after %v", ti.Name, e, ti.DType)
		}
	}
}

func TestQuantizeRefusesToOverwriteInput(t *testing.T) {
	dir := t.TempDir()
	in := smallModel(t, dir, "")
	before, _ := os.ReadFile(in)
	link := filepath.Join(dir, "link.gguf")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, filepath.Join(dir, ".", "in.gguf"), link} {
		if _, err := QuantizeFile(context.Background(), in, out, Q8_0, Options{}); err == nil || !strings.Contains(err.Error(), "input") {
			t.Errorf("output %s: %v", out, err)
		}
	}
	if after, _ := os.ReadFile(in); !bytes.Equal(before, after) {
		t.Error("input changed")
	}
}

func TestQuantizeFailureLeavesNoFile(t *testing.T) {
	if !tensor.Q8_0.CanQuantize() {
		t.Skip("no Q8_0 quantizer registered yet")
	}
	dir := t.TempDir()
	in := smallModel(t, dir, "blk.1.ffn_up.weight")
	out := filepath.Join(dir, "out.gguf")
	_, err := QuantizeFile(context.Background(), in, out, Q8_0, Options{Threads: 2})
	if err == nil || !strings.Contains(err.Error(), "blk.1.ffn_up.weight") || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN input: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
	// A cancelled context stops the run the same way.
	in = smallModel(t, dir, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := QuantizeFile(ctx, in, out, Q8_0, Options{}); err == nil {
		t.Error("cancelled run succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("cancelled run left an output")
	}
}

// A cancelled context stops a tensor's conversion within cancelRows rows,
// not at its end: one tensor of a large model takes seconds.
func TestConvertStopsInsideATensor(t *testing.T) {
	for _, threads := range []int{1, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		rows := int64(0)
		c := &converter{ctx: ctx, threads: threads}
		err := c.parallel(100*cancelRows, func(r0, r1 int64) error {
			mu.Lock()
			defer mu.Unlock()
			rows += r1 - r0
			if rows >= 2*cancelRows {
				cancel()
			}
			return nil
		})
		cancel()
		// Each worker may finish the group it is in when the cancel lands.
		if !errors.Is(err, context.Canceled) || rows > int64(2+threads)*cancelRows {
			t.Errorf("threads %d: %v after %d of %d rows", threads, err, rows, 100*cancelRows)
		}
	}
}

func TestRequantizeDequantizesFirst(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Q4_0, tensor.Q8_0} {
		if !dt.CanQuantize() {
			t.Skipf("no %v quantizer registered yet", dt)
		}
	}
	dir := t.TempDir()
	in := smallModel(t, dir, "")
	mid := filepath.Join(dir, "q8.gguf")
	if _, err := QuantizeFile(context.Background(), in, mid, Q8_0, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := QuantizeFile(context.Background(), mid, filepath.Join(dir, "q4.gguf"), Q4_0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Every 2-D weight but output.weight (Q8_0 → Q8_0, copied) was requantized.
	if len(res.Requantized) != 2*7+1 || res.Plan[0].Name != "output.weight" || res.Plan[0].Convert {
		t.Errorf("requantized %d tensors: %v; plan[0] %+v", len(res.Requantized), res.Requantized, res.Plan[0])
	}
}

func TestMissingFormatIsNamed(t *testing.T) {
	plan := []TensorPlan{{Name: "a", From: tensor.F32, To: tensor.IQ2_XXS, Convert: true}, {Name: "b", From: tensor.F32, To: tensor.IQ2_XXS, Convert: true}}
	if tensor.IQ2_XXS.CanQuantize() {
		t.Skip("IQ2_XXS has a quantizer now")
	}
	err := checkFormats(plan)
	if err == nil || !strings.Contains(err.Error(), "no quantizer for IQ2_XXS") || !strings.Contains(err.Error(), "2 tensors: a, b") {
		t.Errorf("error %v", err)
	}
}

// TestMatchesLlamaQuantize is the done-when check: quantizing each
// reference F32 model must reproduce llama-quantize's file: the same
// metadata, the same dtype for every tensor, ≥ 99% of blocks bit-identical.
// It reports the block fraction and whether the whole file is identical.
func TestMatchesLlamaQuantize(t *testing.T) {
	dir := testkit.Shared(t, "reference", "models")
	if testing.Short() {
		t.Skip("skipping 15 quantizations in -short mode")
	}
	tmp := t.TempDir()
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		for _, name := range []string{"f16", "q8_0", "q4_0", "q4_k_m", "q6_k"} {
			t.Run(arch+"-"+name, func(t *testing.T) {
				ft, _ := ParseFileType(name)
				out := filepath.Join(tmp, arch+"-"+name+".gguf")
				if _, err := QuantizeFile(context.Background(), filepath.Join(dir, "tiny-"+arch+"-f32.gguf"), out, ft, Options{}); err != nil {
					t.Fatal(err)
				}
				compareWithReference(t, out, filepath.Join(dir, "tiny-"+arch+"-"+name+".gguf"))
			})
		}
	}
}

func compareWithReference(t *testing.T, gotPath, refPath string) {
	got, err := gguf.Open(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	ref, err := gguf.Open(refPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if !reflect.DeepEqual(got.KV, ref.KV) {
		t.Errorf("metadata differs from %s", filepath.Base(refPath))
	}
	if len(got.Tensors) != len(ref.Tensors) {
		t.Fatalf("%d tensors, reference %d", len(got.Tensors), len(ref.Tensors))
	}
	var blocks, same int
	for i := range got.Tensors {
		g, r := &got.Tensors[i], &ref.Tensors[i]
		if g.Name != r.Name || g.DType != r.DType || !reflect.DeepEqual(g.Shape, r.Shape) {
			t.Errorf("tensor %d: %s %v %v, reference %s %v %v", i, g.Name, g.DType, g.Shape, r.Name, r.DType, r.Shape)
			continue
		}
		gd, rd := got.TensorData(g), ref.TensorData(r)
		if g.DType == tensor.F32 {
			// Copied unchanged: counting their 4-byte "blocks" would
			// swamp the fraction; the whole-file comparison covers them.
			if !bytes.Equal(gd, rd) {
				t.Errorf("%s: F32 data differs", g.Name)
			}
			continue
		}
		bs := g.DType.TypeSize()
		diff := 0
		for off := 0; off < len(gd); off += bs {
			blocks++
			if bytes.Equal(gd[off:off+bs], rd[off:off+bs]) {
				same++
			} else {
				diff++
			}
		}
		if diff > 0 {
			t.Logf("%s (%v): %d of %d blocks differ", g.Name, g.DType, diff, len(gd)/bs)
		}
	}
	frac := float64(same) / float64(blocks)
	identical := bytes.Equal(got.Bytes(), ref.Bytes())
	t.Logf("%s: %d/%d converted blocks identical (%.4f%%); whole file identical: %v", filepath.Base(refPath), same, blocks, 100*frac, identical)
	if frac < 0.99 {
		t.Errorf("only %.4f%% of blocks identical, want ≥ 99%%", 100*frac)
	}
}

// BenchmarkQuantizeFile measures a whole-file Q4_K_M quantization of the
// reference tiny llama (8 MB of F32), all cores.
func BenchmarkQuantizeFile(b *testing.B) {
	in := filepath.Join(testkit.SharedDir(b), "reference", "models", "tiny-llama-f32.gguf")
	out := filepath.Join(b.TempDir(), "q.gguf")
	st, err := os.Stat(in)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := QuantizeFile(context.Background(), in, out, Q4_K_M, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// maxNMSE is the error allowed per tensor dtype on Gaussian weights: about
// twice what the format gives (measured once with this test's -v output).
var maxNMSE = map[tensor.DType]float64{
	tensor.F32: 0, tensor.F16: 1e-6, tensor.BF16: 6e-6,
	tensor.Q8_0: 1e-4, tensor.Q6_K: 5e-4, tensor.Q5_0: 3e-3, tensor.Q5_1: 3e-3, tensor.Q5_K: 2e-3,
	tensor.Q4_0: 1e-2, tensor.Q4_1: 1e-2, tensor.Q4_K: 8e-3, tensor.IQ4_NL: 1e-2,
	tensor.Q3_K: 4e-2, tensor.Q2_K: 0.15, tensor.IQ4_XS: 1e-2,
	// Ternary formats are for weights trained to be ternary; on Gaussian
	// weights, scaled by their absolute maximum, most round to 0 (measured
	// 0.66). Package tensor checks that ternary inputs come back exactly.
	tensor.TQ1_0: 0.75, tensor.TQ2_0: 0.75,
}

// TestEveryFileType quantizes a 1-layer llama with rows of 256 (so the
// K-quants apply) to each mix the done-when check does not cover, and checks
// every tensor's dtype against the plan and its error against the original.
func TestEveryFileType(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping 16 quantizations in -short mode")
	}
	tmp := t.TempDir()
	in := writeModel(t, tmp, llamaHeaderVocab("llama", 1, 256, 256, 8, 2, false), "")
	src, err := gguf.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, ft := range FileTypes() {
		switch ft {
		case F16, Q8_0, Q4_0, Q4_K_M, Q6_K:
			continue // TestMatchesLlamaQuantize
		}
		t.Run(ft.String(), func(t *testing.T) {
			out := filepath.Join(tmp, ft.String()+".gguf")
			res, err := QuantizeFile(context.Background(), in, out, ft, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			worst := map[tensor.DType]float64{}
			for i, ti := range f.Tensors {
				if ti.DType != res.Plan[i].To {
					t.Errorf("%s: %v, plan says %v", ti.Name, ti.DType, res.Plan[i].To)
				}
				n := ti.Elements()
				got, want := make([]float32, n), make([]float32, n)
				sti, _ := src.Tensor(ti.Name)
				if err := tensor.Dequantize(ti.DType, f.TensorData(&ti), got); err != nil {
					t.Fatal(err)
				}
				if err := tensor.Dequantize(tensor.F32, src.TensorData(sti), want); err != nil {
					t.Fatal(err)
				}
				e := testkit.NMSE(got, want)
				worst[ti.DType] = max(worst[ti.DType], e)
				if e > maxNMSE[ti.DType] {
					t.Errorf("%s (%v): NMSE %.2g > %.2g", ti.Name, ti.DType, e, maxNMSE[ti.DType])
				}
			}
			t.Logf("%v: worst NMSE by dtype %v", ft, worst)
		})
	}
}
