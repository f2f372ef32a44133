// Reference: llm.c test_gpt2.c (logits, loss, every gradient and ten optimizer steps checked against values
// PyTorch wrote); the reference file comes from testdata/gen_golden.py.

package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// golden is testdata/golden_llama.json, written by PyTorch (gen_golden.py).
type golden struct {
	Config struct {
		V, C, H, KH, D, FF, L, B, T int
		LR                          float64 `json:"lr"`
		Beta1                       float64 `json:"beta1"`
		Beta2                       float64 `json:"beta2"`
		AdamEps                     float64 `json:"adam_eps"`
		WeightDecay                 float64 `json:"weight_decay"`
		Steps                       int     `json:"steps"`
	} `json:"config"`
	Tokens      []int32              `json:"tokens"`
	Targets     []int32              `json:"targets"`
	Params      map[string][]float32 `json:"params"`
	Logits      []float32            `json:"logits"`
	Loss        float64              `json:"loss"`
	Grads       map[string][]float32 `json:"grads"`
	StepLosses  []float64            `json:"step_losses"`
	FinalParams map[string][]float32 `json:"final_params"`
}

// maxDiff returns the largest |got−want| and the largest |want|.
func maxDiff(got, want []float32) (diff, scale float64) {
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale
}

// TestGoldenPyTorch checks a 2-layer LLaMA-style model (GQA, adjacent-pair
// RoPE, SwiGLU, tied head, two ignored targets) built from tape ops against
// PyTorch 1.13 in float32: logits, loss, every parameter's gradient, and
// the losses and weights of ten AdamW steps with decay groups as gptgo's.
//
// Bounds: both sides compute in float32 with different summation orders
// (and gptgo's RoPE angles by repeated multiplication, as ggml). Measured:
// logits 3.3e-6 (largest logit 5.0), gradients 1.9e-6 of each parameter's
// largest gradient, weights after ten steps 6.9e-7, step losses ~1e-7.
// The bounds are 5-15× those: 1e-5 of the logits' scale, 2e-5 of each
// gradient's, 1e-5 on the weights and relative 1e-5 on the step losses. A
// real mistake (a RoPE pairing, a GQA mapping, a decay group) moves these
// by 1e-2 or more.
func TestGoldenPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden_llama.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	c := g.Config
	m := newLlama(t, 0, 0, c.V, c.C, c.H, c.KH, c.FF, c.L)
	params := m.params()
	for _, p := range params {
		w, ok := g.Params[p.Name]
		if !ok || len(w) != len(p.Data) {
			t.Fatalf("golden file has %d values for %s, model %d", len(w), p.Name, len(p.Data))
		}
		copy(p.Data, w)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)

	logits := m.logits(tp, g.Tokens, c.T)
	loss := tp.CrossEntropy(logits, g.Targets, -1)
	if err := tp.Backward(loss, 1); err != nil {
		t.Fatal(err)
	}
	if d, s := maxDiff(logits.Data, g.Logits); d > 1e-5*max(s, 1) {
		t.Errorf("logits differ by up to %.3g (largest %.3g)", d, s)
	} else {
		t.Logf("logits: largest difference %.3g of %.3g", d, s)
	}
	if d := math.Abs(float64(loss.Data[0]) - g.Loss); d > 1e-5 {
		t.Errorf("loss %.7f, PyTorch %.7f", loss.Data[0], g.Loss)
	}
	var worstGrad float64
	for _, p := range params {
		d, s := maxDiff(p.Grad, g.Grads[p.Name])
		if d > 2e-5*max(s, 1e-2) {
			t.Errorf("gradient of %s differs by up to %.3g (largest %.3g)", p.Name, d, s)
		}
		worstGrad = max(worstGrad, d/max(s, 1e-2))
	}
	t.Logf("gradients: largest difference %.3g of the parameter's largest gradient", worstGrad)

	for _, p := range params {
		p.ZeroGrad()
	}
	opt, err := NewAdamW(params, AdamWConfig{Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.AdamEps, WeightDecay: c.WeightDecay}, pool)
	if err != nil {
		t.Fatal(err)
	}
	for step := range c.Steps {
		tp.Reset()
		l := m.forward(tp, g.Tokens, g.Targets, c.T)
		if err := tp.Backward(l, 1); err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(l.Data[0]) - g.StepLosses[step]); d > 1e-5*max(1, g.StepLosses[step]) {
			t.Errorf("step %d: loss %.7f, PyTorch %.7f", step, l.Data[0], g.StepLosses[step])
		}
		opt.Step(c.LR)
		opt.ZeroGrad()
	}
	var worstW float64
	for _, p := range params {
		d, _ := maxDiff(p.Data, g.FinalParams[p.Name])
		worstW = max(worstW, d)
	}
	t.Logf("after %d AdamW steps (loss %.4f → %.4f): largest weight difference %.3g", c.Steps, g.StepLosses[0], g.StepLosses[c.Steps-1], worstW)
	if worstW > 1e-5 {
		t.Errorf("weights after %d AdamW steps differ by up to %.3g", c.Steps, worstW)
	}
}
