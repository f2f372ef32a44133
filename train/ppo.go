// Reference: Schulman et al. 2017, "Proximal Policy Optimization Algorithms" eq. 7 (the clipped surrogate) and
// eq. 11–12 (GAE, from Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage
// Estimation"); Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences" §2.2 (the per-token KL
// penalty to the reference and the adaptive KL controller); Ouyang et al. 2022 §3.5 (PPO on the reward model's
// score); OpenAI baselines ppo2 and TRL's PPO trainer (the clipped value loss, reward and advantage whitening).
//
// These are PPO's loss pieces, as plain float64 functions over one sequence's tokens; ppoloop.go runs them.

package train

import (
	"fmt"
	"math"
)

// GAE returns the generalized advantage estimates and the returns of one
// response of n tokens: rewards[t] is token t's reward (the KL penalty,
// and the score at the last token), values[t] the critic's estimate
// before token t. The value after the last token is 0 (the episode ends):
//
//	δ_t = r_t + γ·V_{t+1} − V_t,   A_t = δ_t + γλ·A_{t+1},   R_t = A_t + V_t
func GAE(rewards, values []float64, gamma, lambda float64) (adv, returns []float64) {
	n := len(rewards)
	adv, returns = make([]float64, n), make([]float64, n)
	var next, a float64 // V_{t+1} and A_{t+1}
	for t := n - 1; t >= 0; t-- {
		delta := rewards[t] + gamma*next - values[t]
		a = delta + gamma*lambda*a
		adv[t], returns[t] = a, a+values[t]
		next = values[t]
	}
	return adv, returns
}

// Whiten returns (x − mean)/std over x (population std, plus 1e-8), as
// PPO implementations whiten advantages; with shift false the mean is
// added back (TRL whitens rewards that way, keeping their sign).
func Whiten(x []float64, shift bool) []float64 {
	if len(x) == 0 {
		return nil
	}
	var mean, v float64
	for _, e := range x {
		mean += e
	}
	mean /= float64(len(x))
	for _, e := range x {
		v += (e - mean) * (e - mean)
	}
	std := math.Sqrt(v/float64(len(x))) + 1e-8
	out := make([]float64, len(x))
	for i, e := range x {
		out[i] = (e - mean) / std
		if !shift {
			out[i] += mean
		}
	}
	return out
}

// KLRewards turns per-token log-probs of the policy (logp) and the
// reference (ref) into PPO's token rewards: −β·(logp − ref) at every
// token (the sampled estimate of KL(π‖π_ref)), plus score at the last.
// It also returns the sequence's KL estimate Σ(logp − ref).
func KLRewards(logp, ref []float64, score, beta float64) (rewards []float64, kl float64) {
	rewards = make([]float64, len(logp))
	for t := range logp {
		k := logp[t] - ref[t]
		kl += k
		rewards[t] = -beta * k
	}
	if n := len(rewards); n > 0 {
		rewards[n-1] += score
	}
	return rewards, kl
}

// PolicyLoss is PPO's clipped surrogate over tokens, as a loss to minimise:
//
//	L = −mean_t min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε)·A_t),  ρ_t = exp(logp_t − old_t)
//
// It returns the loss, its derivatives by logp (the clipped side has none)
// and the share of tokens where the clipped side was taken (the clip
// fraction PPO logs).
func PolicyLoss(logp, old, adv []float64, eps float64) (loss float64, dlogp []float64, clipFrac float64) {
	n := float64(len(logp))
	dlogp = make([]float64, len(logp))
	clipped := 0
	for t := range logp {
		rho := math.Exp(logp[t] - old[t])
		a := adv[t]
		un, cl := rho*a, math.Max(1-eps, math.Min(rho, 1+eps))*a
		if cl < un { // the minimum is the clipped term: its gradient is 0
			loss -= cl
			clipped++
			continue
		}
		loss -= un
		dlogp[t] = -rho * a / n // d(ρ·A)/d logp = ρ·A
	}
	return loss / n, dlogp, float64(clipped) / n
}

// ValueLoss is the clipped value loss over tokens (ppo2, TRL):
//
//	L = ½·mean_t max((V_t − R_t)², (clip(V_t, old_t−ε, old_t+ε) − R_t)²)
//
// with its derivatives by the values.
func ValueLoss(values, old, returns []float64, eps float64) (loss float64, dv []float64) {
	n := float64(len(values))
	dv = make([]float64, len(values))
	for t, v := range values {
		c := math.Max(old[t]-eps, math.Min(v, old[t]+eps))
		u, w := (v-returns[t])*(v-returns[t]), (c-returns[t])*(c-returns[t])
		if w > u { // only when v is outside the range: the clipped value is constant there
			loss += 0.5 * w
			continue
		}
		loss += 0.5 * u
		dv[t] = (v - returns[t]) / n
	}
	return loss / n, dv
}

// KLController is the adaptive KL coefficient of Ziegler et al.: β moves
// so that the measured KL approaches Target, by at most 20% of the error
// per Horizon samples. A zero Target keeps β fixed.
type KLController struct {
	Beta    float64
	Target  float64
	Horizon float64
}

// Update adjusts β after a batch of n samples whose mean KL was kl.
func (c *KLController) Update(kl float64, n int) {
	if c.Target <= 0 || c.Horizon <= 0 {
		return
	}
	e := math.Max(-0.2, math.Min(0.2, kl/c.Target-1))
	c.Beta *= 1 + e*float64(n)/c.Horizon
}

// PPOOptions are PPO's settings.
type PPOOptions struct {
	Gamma, Lambda float64 // GAE: 1 and 0.95 as InstructGPT-style RLHF uses
	ClipPolicy    float64 // ε of the surrogate (0.2)
	ClipValue     float64 // ε of the value loss (0.2)
	ValueCoef     float64 // weight of the value loss beside the policy's (0.1, TRL's vf_coef)
	KL            KLController
	Epochs        int  // PPO epochs over each batch of rollouts (4)
	WhitenRewards bool // whiten the scores across the batch before the KL penalty is added
}

// DefaultPPO are TRL's defaults, near enough: γ 1, λ 0.95, clips 0.2,
// value weight 0.1, β 0.05 adaptive to a KL of 6 over 10000 samples, 4
// epochs.
var DefaultPPO = PPOOptions{Gamma: 1, Lambda: 0.95, ClipPolicy: 0.2, ClipValue: 0.2, ValueCoef: 0.1,
	KL: KLController{Beta: 0.05, Target: 6, Horizon: 10000}, Epochs: 4}

// Validate names the setting out of range.
func (o PPOOptions) Validate() error {
	switch {
	case !(o.Gamma > 0 && o.Gamma <= 1), !(o.Lambda >= 0 && o.Lambda <= 1):
		return fmt.Errorf("train: ppo gamma %v and lambda %v must be in (0, 1] and [0, 1]", o.Gamma, o.Lambda)
	case !(o.ClipPolicy > 0), !(o.ClipValue > 0):
		return fmt.Errorf("train: ppo clip ranges %v and %v must be positive", o.ClipPolicy, o.ClipValue)
	case !(o.KL.Beta >= 0) || math.IsInf(o.KL.Beta, 0):
		return fmt.Errorf("train: ppo kl coefficient %v must be a non-negative number", o.KL.Beta)
	case o.Epochs < 1:
		return fmt.Errorf("train: ppo epochs %d must be at least 1", o.Epochs)
	case !(o.ValueCoef >= 0):
		return fmt.Errorf("train: ppo value coefficient %v must not be negative", o.ValueCoef)
	}
	return nil
}
