// Reference: Schulman et al. 2016 (GAE) and 2017 (PPO), Ziegler et al. 2019 (KL penalty, adaptive controller):
// each piece against values worked by hand.

package train

import (
	"math"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func closeAll(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if !testkit.Close(got[i], want[i], 1e-12, 1e-12) {
			t.Errorf("%s[%d] = %.15g, want %.15g", name, i, got[i], want[i])
		}
	}
}

func TestGAE(t *testing.T) {
	// δ = (0.1, 0.1, 0.3); A_2 = 0.3, A_1 = 0.1 + 0.95·0.3, A_0 = 0.1 + 0.95·A_1.
	adv, ret := GAE([]float64{0, 0, 1}, []float64{0.5, 0.6, 0.7}, 1, 0.95)
	closeAll(t, "adv", adv, []float64{0.46575, 0.385, 0.3})
	closeAll(t, "returns", ret, []float64{0.96575, 0.985, 1.0})
	// λ = 1, γ = 1: A_t is the reward to go minus V_t (Monte Carlo).
	adv, _ = GAE([]float64{0, 0, 1}, []float64{0.5, 0.6, 0.7}, 1, 1)
	closeAll(t, "monte carlo", adv, []float64{0.5, 0.4, 0.3})
	// λ = 0: one-step TD errors; γ = 0.5 discounts the next value.
	adv, _ = GAE([]float64{1, 2}, []float64{4, 6}, 0.5, 0)
	closeAll(t, "td", adv, []float64{1 + 0.5*6 - 4, 2 - 6})
}

func TestPolicyLoss(t *testing.T) {
	// ρ = (1.5, 0.5, 1), A = (1, 1, −2), ε = 0.2: token 0 clipped at 1.2
	// (no gradient), token 1 unclipped 0.5, token 2 −2; loss −(1.2+0.5−2)/3.
	loss, d, frac := PolicyLoss([]float64{math.Log(1.5), math.Log(0.5), 0}, []float64{0, 0, 0}, []float64{1, 1, -2}, 0.2)
	if !testkit.Close(loss, 0.1, 1e-15, 1e-12) || !testkit.Close(frac, 1.0/3, 1e-15, 0) {
		t.Errorf("loss %v, clip fraction %v", loss, frac)
	}
	closeAll(t, "dlogp", d, []float64{0, -0.5 / 3, 2.0 / 3})
	// The derivative against central differences where nothing sits on a kink.
	logp, old, adv := []float64{-1.1, -0.3, -2}, []float64{-1, -0.35, -1.9}, []float64{0.7, -1.3, 2.1}
	_, d, _ = PolicyLoss(logp, old, adv, 0.2)
	for i := range logp {
		const h = 1e-6
		logp[i] += h
		lp, _, _ := PolicyLoss(logp, old, adv, 0.2)
		logp[i] -= 2 * h
		lm, _, _ := PolicyLoss(logp, old, adv, 0.2)
		logp[i] += h
		if !testkit.Close(d[i], (lp-lm)/(2*h), 1e-8, 1e-6) {
			t.Errorf("d/dlogp[%d] = %v, numeric %v", i, d[i], (lp-lm)/(2*h))
		}
	}
}

func TestValueLoss(t *testing.T) {
	// Token 0: V = 1 clipped to 0.7 (old 0.5 ± 0.2), (0.7−2)² = 1.69 > 1: ½·1.69, no gradient.
	// Token 1: V = 0 inside (0.1 ± 0.2): ½·1, gradient (0+1)/2.
	loss, d := ValueLoss([]float64{1, 0}, []float64{0.5, 0.1}, []float64{2, -1}, 0.2)
	if !testkit.Close(loss, 0.6725, 1e-15, 1e-12) {
		t.Errorf("loss %v", loss)
	}
	closeAll(t, "dv", d, []float64{0, 0.5})
}

func TestKLRewardsAndController(t *testing.T) {
	r, kl := KLRewards([]float64{-1, -2}, []float64{-1.5, -1}, 3, 0.1)
	closeAll(t, "rewards", r, []float64{-0.05, 3.1})
	if kl != -0.5 {
		t.Errorf("kl %v", kl)
	}
	c := KLController{Beta: 0.1, Target: 6, Horizon: 100}
	c.Update(12, 10) // error clipped to +0.2: β·(1 + 0.2·10/100)
	if !testkit.Close(c.Beta, 0.102, 1e-15, 1e-12) {
		t.Errorf("beta %v", c.Beta)
	}
	c.Update(3, 50) // error −0.5 clipped to −0.2: β·(1 − 0.2·0.5)
	if !testkit.Close(c.Beta, 0.102*0.9, 1e-15, 1e-12) {
		t.Errorf("beta %v", c.Beta)
	}
	fixed := KLController{Beta: 0.3}
	fixed.Update(100, 100)
	if fixed.Beta != 0.3 {
		t.Errorf("fixed beta moved to %v", fixed.Beta)
	}
	w := Whiten([]float64{1, 2, 3}, true)
	s := math.Sqrt(2.0 / 3)
	closeAll(t, "whiten", w, []float64{-1 / (s + 1e-8), 0, 1 / (s + 1e-8)})
	w = Whiten([]float64{1, 2, 3}, false)
	closeAll(t, "whiten keeping the mean", w, []float64{2 - 1/(s+1e-8), 2, 2 + 1/(s+1e-8)})
	if DefaultPPO.Validate() != nil || (PPOOptions{Gamma: 1, Lambda: 1, ClipPolicy: 0.2, ClipValue: 0.2, Epochs: 0}).Validate() == nil {
		t.Error("Validate")
	}
}
