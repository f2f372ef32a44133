// Reference: Hu et al., LoRA §4 (W₀ frozen, only A and B trained); Dettmers et al., QLoRA §3 (a quantized
// frozen base); PyTorch torch.optim.AdamW (state only for the parameters it is given).

package train

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// loraBase writes a tiny random llama (widths that Q8_0 blocks divide) in
// dt and returns its path.
func loraBase(t *testing.T, dt tensor.DType) (string, model.Config) {
	t.Helper()
	c, err := model.ArchConfig("llama")
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 40, 32, 2, 4, 2, 8, 64, 16
	c.RopeDims = c.HeadDim
	dir := t.TempDir()
	path := filepath.Join(dir, "base.gguf")
	typ := dt
	if dt != tensor.F32 && dt != tensor.F16 {
		typ = tensor.F32
	}
	if err := model.WriteRandom(path, c, model.InitOptions{Type: typ, Seed: 4, Std: 0.1}); err != nil {
		t.Fatal(err)
	}
	if dt == tensor.Q8_0 {
		q := filepath.Join(dir, "base-q8_0.gguf")
		if _, err := quant.QuantizeFile(context.Background(), path, q, quant.Q8_0, quant.Options{Threads: 1}); err != nil {
			t.Fatal(err)
		}
		path = q
	}
	return path, c
}

// TestLoRATrainingSteps: AdamW steps on the adapters of a frozen base (F16
// and Q8_0) lower the loss on a repeated batch; the optimizer holds moments
// for the adapters alone; the base file is bit for bit what it was; and
// the trained adapter, written, read back and run unmerged by inference,
// gives the tape's logits (bound 1e-4 as in TestTrainableExportMatchesInference).
func TestLoRATrainingSteps(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, dt := range []tensor.DType{tensor.F16, tensor.Q8_0} {
		path, c := loraBase(t, dt)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		const rank = 4
		m, err := model.LoRATrainableFromGGUF(f, model.LoRAOptions{Rank: rank, Alpha: 8, Dropout: 0.05, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		opt, err := NewAdamW(m.Params(), AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, pool)
		if err != nil {
			t.Fatal(err)
		}
		// Moments for exactly the adapters: 7 matrices per layer, A [r, in] and B [out, r] each.
		want := 0
		for range c.Layers {
			C, F, qd, kvd := c.Embd, c.FF, c.QDim(), c.KVDim()
			for _, io := range [][2]int{{C, qd}, {C, kvd}, {C, kvd}, {qd, C}, {C, F}, {C, F}, {F, C}} {
				want += rank * (io[0] + io[1])
			}
		}
		got := 0
		for i, p := range opt.Params {
			if len(opt.M[i]) != len(p.Data) || len(opt.V[i]) != len(p.Data) {
				t.Fatalf("%v: moments of %q have %d, %d values, want %d", dt, p.Name, len(opt.M[i]), len(opt.V[i]), len(p.Data))
			}
			got += len(p.Data)
		}
		if got != want || len(opt.Params) != 2*7*c.Layers {
			t.Fatalf("%v: optimizer over %d parameters, %d values; want %d adapters, %d values", dt, len(opt.Params), got, 2*7*c.Layers, want)
		}

		tp := autograd.NewTape(pool)
		tokens := []int32{1, 5, 9, 13, 17, 21, 25, 29, 2, 6, 10, 14, 18, 22, 26, 30}
		targets := append(append([]int32(nil), tokens[1:]...), 3)
		var first, last float64
		for step := range 20 {
			opt.ZeroGrad()
			tp.Reset()
			l := m.Loss(tp, tokens, targets, 8)
			if err := tp.Backward(l, 1); err != nil {
				t.Fatal(err)
			}
			opt.Step(1e-2)
			if step == 0 {
				first = float64(l.Data[0])
			}
			last = float64(l.Data[0])
		}
		t.Logf("%v: loss %.4f → %.4f in 20 LoRA steps", dt, first, last)
		if !(last < first-0.1) {
			t.Errorf("%v: loss went from %.4f to %.4f", dt, first, last)
		}

		// Inference with the written adapter = the tape (no dropout in NoGrad).
		ap := filepath.Join(t.TempDir(), "adapter.gguf")
		if err := m.WriteAdapter(ap, ""); err != nil {
			t.Fatal(err)
		}
		af, err := gguf.Open(ap)
		if err != nil {
			t.Fatal(err)
		}
		ad, err := model.AdapterFromGGUF(af)
		if err != nil {
			t.Fatal(err)
		}
		base, err := model.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		im, err := base.WithAdapters(model.ScaledAdapter{Adapter: ad, Scale: 1})
		if err != nil {
			t.Fatal(err)
		}
		seq := tokens[:8]
		st, err := im.NewState(model.Options{Ctx: 16, KVF32: true, Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		inf := make([]float32, len(seq)*c.Vocab)
		if err := st.ForwardAll(seq, func(i int, l []float32) error { copy(inf[i*c.Vocab:], l); return nil }); err != nil {
			t.Fatal(err)
		}
		st.Close()
		tp.NoGrad(true)
		tp.Reset()
		lg := m.Logits(tp, seq, len(seq))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		tp.NoGrad(false)
		if dt == tensor.F16 {
			// Inference rounds the activations to F16 for F16 weights, as
			// llama.cpp does; the tape multiplies them in float32.
			if n := testkit.NMSE(lg.Data, inf); n > 1e-5 {
				t.Errorf("%v: tape vs inference with the adapter: NMSE %.3g", dt, n)
			}
		} else {
			// Q8_0: inference quantizes the activations to 8 bits as
			// llama.cpp does; the tape dequantizes the weights instead.
			if n := testkit.NMSE(lg.Data, inf); n > 1e-3 {
				t.Errorf("%v: tape vs inference with the adapter: NMSE %.3g", dt, n)
			}
		}
		af.Close()
		f.Close()
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("%v: the base file changed during LoRA training", dt)
		}
	}
}

// TestLoRAFromF32MatchesInference: on an F32 base the tape and inference
// run the same float32 products, so the trained adapter's logits agree to
// float rounding (1e-4 absolute, as the full-training export test bounds).
func TestLoRAFromF32MatchesInference(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	path, c := loraBase(t, tensor.F32)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.LoRATrainableFromGGUF(f, model.LoRAOptions{Rank: 2, Alpha: 4, Targets: []string{"q", "v", "down"}, TrainEmbeddings: true})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewAdamW(m.Params(), DefaultAdamW, pool)
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape(pool)
	tokens := []int32{3, 1, 4, 1, 5, 9, 2, 6}
	targets := append(append([]int32(nil), tokens[1:]...), 5)
	for range 5 {
		opt.ZeroGrad()
		tp.Reset()
		if err := tp.Backward(m.Loss(tp, tokens, targets, 8), 1); err != nil {
			t.Fatal(err)
		}
		opt.Step(1e-2)
	}
	ad, err := m.Adapter("")
	if err != nil {
		t.Fatal(err)
	}
	if len(ad.Full) != 2 || ad.Full[0].Name != "token_embd.weight" || ad.Full[1].Name != "output.weight" {
		t.Fatalf("trained whole: %d tensors, want token_embd.weight and output.weight", len(ad.Full))
	}
	base, err := model.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	im, err := base.WithAdapters(model.ScaledAdapter{Adapter: ad, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := im.NewState(model.Options{Ctx: 16, KVF32: true, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inf := make([]float32, len(tokens)*c.Vocab)
	if err := st.ForwardAll(tokens, func(i int, l []float32) error { copy(inf[i*c.Vocab:], l); return nil }); err != nil {
		t.Fatal(err)
	}
	tp.NoGrad(true)
	tp.Reset()
	lg := m.Logits(tp, tokens, len(tokens))
	var worst float64
	for i := range inf {
		worst = max(worst, math.Abs(float64(lg.Data[i]-inf[i])))
	}
	t.Logf("largest logit difference, tape vs inference with the adapter: %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("tape and inference with the trained adapter differ by %.3g", worst)
	}
}

// TestLoRAConfig: out-of-range settings are named with their key and flag,
// all in one error; alpha 0 means twice the rank; targets are checked.
func TestLoRAConfig(t *testing.T) {
	if err := DefaultLoRA.Validate(); err != nil {
		t.Fatal(err)
	}
	err := LoRAConfig{Rank: 0, Alpha: -1, Dropout: 1, Targets: []string{"q", "ffn"}}.Validate()
	for _, want := range []string{"lora.rank (--lora-rank) 0", "lora.alpha (--lora-alpha) -1", "lora.dropout (--lora-dropout) 1", `lora.targets (--lora-targets) "ffn"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
	o := LoRAConfig{Rank: 8, Targets: []string{"q", "v"}}.Options(7)
	if o.Alpha != 16 || o.Rank != 8 || o.Seed != 7 || len(o.Targets) != 2 {
		t.Errorf("options %+v", o)
	}
	if o := DefaultLoRA.Options(1); o.Targets != nil || o.Alpha != 32 {
		t.Errorf("default options %+v: want every target (nil) and alpha 32", o)
	}
	if got, err := ParseLoRATargets("q, k,v,o,gate,up,down"); err != nil || len(got) != 7 {
		t.Errorf("ParseLoRATargets: %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "q,mlp"} {
		if _, err := ParseLoRATargets(bad); err == nil {
			t.Errorf("ParseLoRATargets(%q): no error", bad)
		}
	}
}
