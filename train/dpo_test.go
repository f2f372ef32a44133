// Reference: Rafailov et al. 2023 (DPO) eq. 7 and its gradient (§4); Azar et al. 2023 (IPO); TRL's
// DPOTrainer (the same quantities logged); nanoGPT's resume (a stopped and resumed run continues exactly).

package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train/autograd"
)

// TestDPOPairLoss checks the pair losses against values worked by hand
// and their derivatives against central differences in float64.
func TestDPOPairLoss(t *testing.T) {
	dpo := DPOOptions{Beta: 0.1, Loss: "sigmoid"}
	// Policy = reference: h = 0, loss log 2, dL/dh = −1/2, dL/dpc = −β/2.
	l, gc, gr := dpo.PairLoss(-10, -12, -10, -12, 5, 6)
	if !testkit.Close(l, math.Ln2, 1e-15, 0) || !testkit.Close(gc, -0.05, 1e-15, 0) || !testkit.Close(gr, 0.05, 1e-15, 0) {
		t.Errorf("h=0: loss %v, grads %v %v; want log 2, -0.05, 0.05", l, gc, gr)
	}
	// h = 0.1·((−8+10) − (−13+12)) = 0.3: loss = log(1+e^−0.3) = 0.554355244468527…
	if l, _, _ := dpo.PairLoss(-8, -13, -10, -12, 5, 6); !testkit.Close(l, 0.5543552444685272, 1e-14, 0) {
		t.Errorf("h=0.3: loss %.16g", l)
	}
	// IPO: a = (2/4) − (−1/2) = 1, target 1/(2β) = 5: loss 16.
	ipo := DPOOptions{Beta: 0.1, Loss: "ipo"}
	if l, gc, gr := ipo.PairLoss(-8, -13, -10, -12, 4, 2); l != 16 || gc != -2 || gr != 4 {
		t.Errorf("ipo: %v %v %v, want 16, -2, 4", l, gc, gr)
	}
	// cDPO with ε = 0.5 would be flat at h = 0 (refused by Validate at 0.5);
	// ε = 0.25 at h = 0: log 2 still, dL/dh = −0.75/2 + 0.25/2 = −0.25.
	c := DPOOptions{Beta: 1, Loss: "sigmoid", LabelSmoothing: 0.25}
	if l, gc, _ := c.PairLoss(-3, -3, -3, -3, 1, 1); !testkit.Close(l, math.Ln2, 1e-15, 0) || !testkit.Close(gc, -0.25, 1e-15, 0) {
		t.Errorf("cdpo: %v %v", l, gc)
	}
	for _, o := range []DPOOptions{dpo, ipo, c, {Beta: 2, Loss: "sigmoid"}} {
		for _, p := range [][4]float64{{-8, -13, -10, -12}, {-20, -3, -11, -4}, {-1, -90, -2, -70}} {
			_, gc, gr := o.PairLoss(p[0], p[1], p[2], p[3], 3, 7)
			const h = 1e-6
			lp, _, _ := o.PairLoss(p[0]+h, p[1], p[2], p[3], 3, 7)
			lm, _, _ := o.PairLoss(p[0]-h, p[1], p[2], p[3], 3, 7)
			rp, _, _ := o.PairLoss(p[0], p[1]+h, p[2], p[3], 3, 7)
			rm, _, _ := o.PairLoss(p[0], p[1]-h, p[2], p[3], 3, 7)
			if !testkit.Close(gc, (lp-lm)/(2*h), 1e-7, 1e-6) || !testkit.Close(gr, (rp-rm)/(2*h), 1e-7, 1e-6) {
				t.Errorf("%+v at %v: grads %v %v, numeric %v %v", o, p, gc, gr, (lp-lm)/(2*h), (rp-rm)/(2*h))
			}
		}
	}
	for _, bad := range []DPOOptions{{Beta: 0, Loss: "sigmoid"}, {Beta: 1, Loss: "hinge"}, {Beta: 1, Loss: "sigmoid", LabelSmoothing: 0.5}, {Beta: 1, Loss: "ipo", LabelSmoothing: 0.1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v passed Validate", bad)
		}
	}
}

// bigram is the tiniest language model: the logits after token a are
// row a of a [V, V] table. Its DPO loss and gradients can be worked out
// in float64 independently of the tape.
type bigram struct{ w *autograd.Var }

func (b bigram) Params() []*autograd.Var { return []*autograd.Var{b.w} }
func (b bigram) LogitsSegments(tp *autograd.Tape, tokens []int32, T int, seg []int32) *autograd.Var {
	return tp.Embedding(b.w, tokens)
}

// TestDPOAgainstFloat64 runs dpoLoss on a bigram model and compares the
// loss and every gradient element with a float64 computation of the same
// formula: log-softmax per position, sums per answer, the pair loss, and
// the gradient Σ dL/dlogp · (onehot − softmax) into each row of the table.
func TestDPOAgainstFloat64(t *testing.T) {
	const V, T, P = 11, 6, 3
	rng := rand.New(rand.NewPCG(5, 6))
	w := make([]float32, V*V)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	p, err := autograd.NewParam("w", w, V, V)
	if err != nil {
		t.Fatal(err)
	}
	m := bigram{p}
	// Three pairs; row 2s chosen, 2s+1 rejected; -1 targets are prompt and padding.
	x := make([]int32, 2*P*T)
	y := make([]int32, 2*P*T)
	for i := range x {
		x[i] = int32(rng.IntN(V))
		y[i] = int32(rng.IntN(V))
		if i%T < 2 || rng.IntN(5) == 0 {
			y[i] = -1
		}
	}
	ref := []float64{-9, -11, -7.5, -7, -12, -8}
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, o := range []DPOOptions{{Beta: 0.5, Loss: "sigmoid"}, {Beta: 0.5, Loss: "sigmoid", LabelSmoothing: 0.2}, {Beta: 0.3, Loss: "ipo"}} {
		slots := &prefSlots{pair: []int{0, 1, 2}, ref: ref}
		d := &dpoLoss{m: m, opt: o, slots: slots}
		tp := autograd.NewTape(pool)
		p.ZeroGrad()
		l := d.Loss(tp, x, y, T)
		if err := tp.Backward(l, 1); err != nil {
			t.Fatal(err)
		}

		// float64: log-softmax of each position's row, sums per answer.
		logp := func(a, b int32) (float64, []float64) {
			row := w[int(a)*V : int(a+1)*V]
			mx := float64(slices.Max(row))
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v) - mx)
			}
			sm := make([]float64, V)
			for i, v := range row {
				sm[i] = math.Exp(float64(v)-mx) / z
			}
			return float64(row[b]) - mx - math.Log(z), sm
		}
		sums, counts := make([]float64, 2*P), make([]int, 2*P)
		for i := range x {
			if y[i] >= 0 {
				lp, _ := logp(x[i], y[i])
				sums[i/T] += lp
				counts[i/T]++
			}
		}
		var want float64
		dsum := make([]float64, 2*P)
		for s := range P {
			lv, gc, gr := o.PairLoss(sums[2*s], sums[2*s+1], ref[2*s], ref[2*s+1], counts[2*s], counts[2*s+1])
			want += lv / P
			dsum[2*s], dsum[2*s+1] = gc/P, gr/P
		}
		grad := make([]float64, V*V)
		for i := range x {
			if y[i] < 0 {
				continue
			}
			_, sm := logp(x[i], y[i])
			for v := range V {
				oh := 0.0
				if int32(v) == y[i] {
					oh = 1
				}
				grad[int(x[i])*V+v] += dsum[i/T] * (oh - sm[v])
			}
		}
		// float32 forward and backward against float64: a few ulps of the
		// log-probs (~1e-6 relative) through sums of a handful of tokens.
		if !testkit.Close(float64(l.Data[0]), want, 1e-6, 1e-5) {
			t.Errorf("%+v: loss %.9g, float64 %.9g", o, l.Data[0], want)
		}
		for i := range grad {
			if !testkit.Close(float64(p.Grad[i]), grad[i], 1e-6, 1e-4) {
				t.Fatalf("%+v: grad[%d] = %.9g, float64 %.9g", o, i, p.Grad[i], grad[i])
			}
		}
	}
}

// syntheticPrefs makes the learnable preference of issue #25: the chosen
// answer is a sentence of a small grammar, the rejected one the same words
// shuffled. Every pair is a new sentence, so held-out pairs are text the
// model never trained on.
func syntheticPrefs(n int, seed uint64) []Preference {
	rng := rand.New(rand.NewPCG(seed, 77))
	adj := []string{"big", "red", "old", "shy", "wet", "odd", "new", "hot"}
	noun := []string{"cat", "dog", "fox", "owl", "hen", "cow", "bee", "elk"}
	verb := []string{"sees", "likes", "bites", "hides", "finds", "hears"}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var out []Preference
	for i := range n {
		words := []string{"the", pick(adj), pick(noun), pick(verb), "a", pick(noun)}
		good := strings.Join(words, " ") + "."
		bad := good
		for bad == good {
			rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
			bad = strings.Join(words, " ") + "."
		}
		out = append(out, Preference{
			Prompt: Conversation{Messages: []chat.Message{{Role: "user", Content: "Say it."}}, Where: fmt.Sprintf("pair %d", i)},
			Chosen: chat.Message{Role: "assistant", Content: good}, Rejected: chat.Message{Role: "assistant", Content: bad}, Group: i,
		})
	}
	return out
}

func prefExamples(t *testing.T, ps []Preference, T int) []PrefExample {
	t.Helper()
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	ex, st, err := PreparePreferences(&Encoder{Template: tmpl, Tok: byteTokenizer(t)}, ps, T+1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != len(ps) {
		t.Fatalf("%s", st)
	}
	return ex
}

func dpoConfig(steps int, ckpt string) DPOConfig {
	return DPOConfig{
		PretrainConfig: PretrainConfig{Steps: steps, Schedule: Schedule{MaxLR: 3e-3, MinLR: 3e-3, Decay: steps},
			AdamW: AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}, ClipNorm: 1, EvalEvery: steps, CheckpointPath: ckpt, CheckpointEvery: 1},
		DPOOptions: DPOOptions{Beta: 0.5, Loss: "sigmoid"}, P: 4, T: 56, Seed: 3,
	}
}

// TestDPOSyntheticPreference trains a random tiny llama with DPO on the
// synthetic preference and checks that on held-out pairs the policy's
// log-prob margin of chosen over rejected rises well above the
// reference's, and that most held-out pairs are ranked right.
func TestDPOSyntheticPreference(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	const T = 56
	trainEx, valEx := prefExamples(t, syntheticPrefs(64, 1), T), prefExamples(t, syntheticPrefs(16, 2), T)
	m := sftModel(t, byteTokenizer(t).VocabSize())
	cfg := dpoConfig(40, "")
	cfg.EvalEvery = 20
	// The preferred property of sampled answers: they open as the
	// grammar's sentences do, with "t" of "the" (a shuffled sentence
	// does so one time in six, a random model one in 272).
	tok := byteTokenizer(t)
	tmpl, _ := chat.Builtin("chatml")
	prompt, err := (&Encoder{Template: tmpl, Tok: tok}).Prompt([]chat.Message{{Role: "user", Content: "Say it."}})
	if err != nil {
		t.Fatal(err)
	}
	opensWithThe := func() float64 {
		rng := rand.New(rand.NewPCG(11, 12))
		n := 0
		for range 200 {
			r, _, err := Sample(m, pool, prompt, 1, 1, rng, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Decode(r) == "t" {
				n++
			}
		}
		return float64(n) / 200
	}
	before := opensWithThe()
	var evals []PrefMetrics
	err = DPO(context.Background(), m, pool, trainEx, valEx, cfg, func(r PrefReport) error {
		if r.Eval.Pairs > 0 {
			evals = append(evals, r.Eval)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 2 || evals[0].Pairs != len(valEx) {
		t.Fatalf("evaluations %+v", evals)
	}
	last := evals[len(evals)-1]
	t.Logf("held-out: step 20 %+v; step 40 %+v", evals[0], last)
	// The reward margin is β times the rise of the policy's log-prob
	// margin over the reference's; the random model starts near 0.
	after := opensWithThe()
	t.Logf("sampled answers opening with \"t\": %.3f before, %.3f after", before, after)
	if !(after >= before+0.05) { // 10 of 200 samples more; a random model draws "t" 1 time in 272
		t.Errorf("sampled answers opening with \"t\": %.3f before, %.3f after: no measurable shift", before, after)
	}
	if !(last.Margin > 1 && last.Margin > evals[0].Margin && last.Accuracy >= 0.9) {
		t.Errorf("held-out margin %.3f (step 20: %.3f), accuracy %.2f: DPO did not learn the preference", last.Margin, evals[0].Margin, last.Accuracy)
	}
}

// TestDPOResume: a run stopped after 3 steps and resumed to 6 ends with
// the very weights of an uninterrupted run of 6 steps.
func TestDPOResume(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	ex := prefExamples(t, syntheticPrefs(12, 4), 56)
	run := func(ckpt string, stopAt int) [][]float32 {
		m := sftModel(t, byteTokenizer(t).VocabSize())
		cfg := dpoConfig(6, ckpt)
		cfg.StopAt, cfg.EvalEvery = stopAt, 0
		if err := DPO(context.Background(), m, pool, ex, nil, cfg, nil); err != nil {
			t.Fatal(err)
		}
		var w [][]float32
		for _, p := range m.Params() {
			w = append(w, slices.Clone(p.Data))
		}
		return w
	}
	whole := run(filepath.Join(t.TempDir(), "a.ckpt"), 0)
	b := filepath.Join(t.TempDir(), "b.ckpt")
	run(b, 3)
	if !sameGrads(whole, run(b, 0)) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
}
