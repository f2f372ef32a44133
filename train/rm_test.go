// Reference: Ouyang et al. 2022 §3.5 (the pairwise loss); issue #25 (the synthetic preference: held-out accuracy ≥ 0.95).

package train

import (
	"context"
	"math"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func TestRMPairLoss(t *testing.T) {
	// Equal scores: log 2, derivatives ∓1/2.
	if l, gc, gr := (RMOptions{}).PairLoss(1.5, 1.5); !testkit.Close(l, math.Ln2, 1e-15, 0) || gc != -0.5 || gr != 0.5 {
		t.Errorf("equal scores: %v %v %v", l, gc, gr)
	}
	// Margin 1, scores 3 and 1: h = 1, loss log(1+e^−1) = 0.31326168751822286.
	if l, _, _ := (RMOptions{Margin: 1}).PairLoss(3, 1); !testkit.Close(l, 0.31326168751822286, 1e-15, 0) {
		t.Errorf("margin: %.17g", l)
	}
	for _, o := range []RMOptions{{}, {Margin: 0.7}} {
		for _, p := range [][2]float64{{0.3, -2}, {-5, 4}, {30, -30}} {
			_, gc, gr := o.PairLoss(p[0], p[1])
			const h = 1e-6
			lp, _, _ := o.PairLoss(p[0]+h, p[1])
			lm, _, _ := o.PairLoss(p[0]-h, p[1])
			rp, _, _ := o.PairLoss(p[0], p[1]+h)
			rm, _, _ := o.PairLoss(p[0], p[1]-h)
			if !testkit.Close(gc, (lp-lm)/(2*h), 1e-8, 1e-6) || !testkit.Close(gr, (rp-rm)/(2*h), 1e-8, 1e-6) {
				t.Errorf("%+v at %v: %v %v", o, p, gc, gr)
			}
		}
	}
}

func rmExamples(t *testing.T, ps []Preference, T int) []PrefExample {
	t.Helper()
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	tok := byteTokenizer(t)
	ex, st, err := PrepareRM(&Encoder{Template: tmpl, Tok: tok}, ps, T, tok.EOS())
	if err != nil || st.Kept != len(ps) {
		t.Fatalf("%v %s", err, st)
	}
	return ex
}

// TestRMSyntheticPreference trains a reward model (a random tiny llama with
// a value head) on the synthetic preference and checks held-out accuracy
// ≥ 0.95, where the length baseline is exactly a coin (the shuffled answer
// has the same words).
func TestRMSyntheticPreference(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	const T = 56
	trainEx, valEx := rmExamples(t, syntheticPrefs(64, 1), T), rmExamples(t, syntheticPrefs(40, 2), T)
	if b := LengthBaseline(valEx); b != 0.5 {
		t.Fatalf("length baseline %v on answers of equal length", b)
	}
	head, err := model.NewValueHead(32, 1)
	if err != nil {
		t.Fatal(err)
	}
	rm := &RewardModel{Base: sftModel(t, byteTokenizer(t).VocabSize()), Head: head}
	before, err := EvalRM(rm, pool, valEx, 4, T, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := RMConfig{PretrainConfig: dpoConfig(60, "").PretrainConfig, P: 4, T: T, Seed: 3}
	cfg.EvalEvery = 60
	var last PrefMetrics
	if err := TrainRM(context.Background(), rm, pool, trainEx, valEx, cfg, func(r PrefReport) error {
		if r.Eval.Pairs > 0 {
			last = r.Eval
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out accuracy %.3f (before training %.3f), margin %.3f", last.Accuracy, before.Accuracy, last.Margin)
	if last.Pairs != len(valEx) || last.Accuracy < 0.95 {
		t.Errorf("held-out accuracy %.3f over %d pairs, want ≥ 0.95", last.Accuracy, last.Pairs)
	}
	// Score (one conversation) agrees with the batched evaluation's scores.
	x := valEx[0].Chosen
	s, err := rm.Score(pool, x.Tokens[:len(x.Tokens)-1])
	if err != nil {
		t.Fatal(err)
	}
	one, err := EvalRM(rm, pool, valEx[:1], 1, T, 0)
	if err != nil || !testkit.Close(s, one.Chosen, 1e-4, 1e-4) {
		t.Errorf("Score %v, batched %v (%v)", s, one.Chosen, err)
	}
}
