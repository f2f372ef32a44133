// Reference: Ouyang et al. 2022 §3.5 and Ziegler et al. 2019 §2 (rollouts from the policy, the reward model's score
// with a per-token KL penalty to the initial model, PPO on the result); DeepSpeed-Chat step 3 and TRL's PPO trainer
// (the loop: generate, score, compute old log-probs, reference log-probs and values, GAE, several PPO epochs).

package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// Reward scores a response (its tokens, the end-of-turn token included
// when it ended) to a prompt: a reward model, or a rule.
type Reward func(prompt, response []int32) (float64, error)

// PPOConfig is one PPO run.
type PPOConfig struct {
	PPOOptions
	Iterations  int     // rollout batches, each followed by Epochs optimizer steps
	Batch       int     // prompts per rollout batch
	MaxNew      int     // response tokens at most
	Temperature float64 // of the rollouts' sampling (1: the policy as it is)
	LR          float64
	AdamW       AdamWConfig
	ClipNorm    float64
	Seed        uint64
	IsEOG       func(int32) bool // ends a response
	// CheckpointPath, when set, is written after every CheckpointEvery
	// iterations (0: only after the last) and when ctx is cancelled: the
	// actor's and critic's weights with their AdamW moments, the sampler's
	// random state, the prompt order and β. If it exists when PPO starts,
	// the run resumes from it, bit for bit.
	CheckpointPath  string
	CheckpointEvery int
}

// ppoState is the part of a PPO checkpoint that is not weights: where the
// run is, kept in the checkpoint's meta (the sampler's PCG in its RNG).
type ppoState struct {
	Iteration int     `json:"iteration"`
	Order     []int   `json:"order"`
	Next      int     `json:"next"`
	Beta      float64 `json:"beta"`
}

// PPOStats describe one iteration: what `gptgo train ppo` logs and plots.
type PPOStats struct {
	Iteration  int     `json:"iteration"`
	Reward     float64 `json:"reward"`      // mean score of the rollouts (before the KL penalty)
	KL         float64 `json:"kl"`          // mean Σ_t (log π − log π_ref) per response
	Beta       float64 `json:"beta"`        // the KL coefficient used
	PolicyLoss float64 `json:"policy_loss"` // of the last epoch
	ValueLoss  float64 `json:"value_loss"`
	ClipFrac   float64 `json:"clip_fraction"`
	Entropy    float64 `json:"entropy"` // mean per response token, of the rollouts
	Length     float64 `json:"length"`  // mean response tokens
}

// rollout is one sampled response and what PPO computes on it.
type rollout struct {
	tokens          []int32   // prompt and response
	prompt          int       // prompt tokens
	old, ref, value []float64 // per response token
	adv, ret        []float64
}

// row returns the rollout as one training row: inputs tokens[:n-1], the
// response tokens as targets.
func (r *rollout) row() (x, y []int32) {
	n := len(r.tokens)
	x, y = r.tokens[:n-1], make([]int32, n-1)
	for i := range y {
		y[i] = -1
		if i+1 >= r.prompt {
			y[i] = r.tokens[i+1]
		}
	}
	return x, y
}

// responseLogProbs records the log-probs of the response tokens: [n-1],
// -1 targets giving 0.
func responseLogProbs(tp *autograd.Tape, m SFTModel, x, y []int32) *autograd.Var {
	return tp.TargetLogProbs(m.LogitsSegments(tp, x, len(x), nil), y, -1)
}

// Sample continues prompt with tokens drawn from m at temperature (0:
// greedy), up to maxNew tokens or one isEOG accepts (kept). Each token
// reruns the whole sequence on a tape without gradients (no KV cache on
// the tape: responses of a few dozen tokens of a small model). It returns
// the response and its mean per-token entropy.
func Sample(m SFTModel, pool *tensor.Pool, prompt []int32, maxNew int, temperature float64, rng *rand.Rand, isEOG func(int32) bool) ([]int32, float64, error) {
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	seq := slices.Clone(prompt)
	var ent float64
	for len(seq)-len(prompt) < maxNew {
		tp.Reset()
		logits := m.LogitsSegments(tp, seq, len(seq), nil)
		if err := tp.Err(); err != nil {
			return nil, 0, err
		}
		row := logits.Data[len(logits.Data)-logits.Cols():]
		next, h := draw(row, temperature, rng)
		ent += h
		seq = append(seq, next)
		if isEOG != nil && isEOG(next) {
			break
		}
	}
	resp := seq[len(prompt):]
	return resp, ent / float64(max(len(resp), 1)), nil
}

// draw picks a token from logits at temperature t (0: the most likely)
// and returns the entropy of the untempered distribution.
func draw(logits []float32, t float64, rng *rand.Rand) (int32, float64) {
	mx := float64(slices.Max(logits))
	p := make([]float64, len(logits))
	var z, zt float64
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		z += p[i]
	}
	var h float64
	for _, e := range p {
		if q := e / z; q > 0 {
			h -= q * math.Log(q)
		}
	}
	if t <= 0 {
		return int32(slices.Index(logits, float32(mx))), h
	}
	for i, v := range logits {
		p[i] = math.Exp((float64(v) - mx) / t)
		zt += p[i]
	}
	u := rng.Float64() * zt
	for i, e := range p {
		if u -= e; u < 0 {
			return int32(i), h
		}
	}
	return int32(len(p) - 1), h
}

// PPO optimises the policy against reward with a per-token KL penalty to
// ref (the frozen initial policy) and critic as the value function (its
// head and trunk train beside the policy). Each iteration samples a
// response to Batch prompts (drawn in a seeded order), scores them,
// computes advantages by GAE and runs Epochs full-batch steps of the
// clipped policy and value losses.
func PPO(ctx context.Context, policy, ref SFTModel, critic *RewardModel, reward Reward, pool *tensor.Pool, prompts [][]int32, cfg PPOConfig, report func(PPOStats) error) error {
	if err := cfg.PPOOptions.Validate(); err != nil {
		return err
	}
	if len(prompts) == 0 || cfg.Batch < 1 || cfg.MaxNew < 1 || cfg.Iterations < 1 {
		return fmt.Errorf("train: ppo needs prompts, a batch, new tokens and iterations (got %d prompts, batch %d, %d new tokens, %d iterations)",
			len(prompts), cfg.Batch, cfg.MaxNew, cfg.Iterations)
	}
	params := append(slices.Clip(policy.Params()), critic.Params()...)
	opt, err := NewAdamW(params, cfg.AdamW, pool)
	if err != nil {
		return err
	}
	pcg := rand.NewPCG(cfg.Seed, 0x990f_5ee0)
	rng := rand.New(pcg)
	order := rng.Perm(len(prompts))
	next, start := 0, 1
	kl := cfg.KL
	if cfg.CheckpointPath != "" {
		ck, err := LoadCheckpoint(cfg.CheckpointPath, opt)
		switch {
		case err == nil:
			var st ppoState
			if err := json.Unmarshal([]byte(ck.Meta["ppo"]), &st); err != nil || len(st.Order) != len(prompts) || st.Next > len(prompts) {
				return fmt.Errorf("train: ppo: resume from %s: not this run's checkpoint (were the prompts changed?)", cfg.CheckpointPath)
			}
			if err := pcg.UnmarshalBinary(ck.RNG); err != nil {
				return fmt.Errorf("train: ppo: resume from %s: %w", cfg.CheckpointPath, err)
			}
			order, next, kl.Beta, start = st.Order, st.Next, st.Beta, st.Iteration+1
		case errors.Is(err, fs.ErrNotExist): // a new run
		default:
			return err
		}
	}
	save := func(it int) error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		rs, err := pcg.MarshalBinary()
		if err != nil {
			return err
		}
		meta, err := json.Marshal(ppoState{Iteration: it, Order: order, Next: next, Beta: kl.Beta})
		if err != nil {
			return err
		}
		return SaveCheckpoint(cfg.CheckpointPath, opt, Checkpoint{Step: opt.Steps, RNG: rs, Meta: map[string]string{"ppo": string(meta)}})
	}
	tp := autograd.NewTape(pool)
	for it := start; it <= cfg.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, save(it-1))
		}
		st := PPOStats{Iteration: it, Beta: kl.Beta}
		rs := make([]*rollout, cfg.Batch)
		scores := make([]float64, cfg.Batch)
		for b := range rs {
			if next == len(order) {
				order, next = rng.Perm(len(prompts)), 0
			}
			p := prompts[order[next]]
			next++
			resp, ent, err := Sample(policy, pool, p, cfg.MaxNew, cfg.Temperature, rng, cfg.IsEOG)
			if err != nil {
				return fmt.Errorf("train: ppo rollout: %w", err)
			}
			if scores[b], err = reward(p, resp); err != nil {
				return fmt.Errorf("train: ppo reward: %w", err)
			}
			st.Reward += scores[b] / float64(cfg.Batch)
			st.Entropy += ent / float64(cfg.Batch)
			st.Length += float64(len(resp)) / float64(cfg.Batch)
			rs[b] = &rollout{tokens: append(slices.Clone(p), resp...), prompt: len(p)}
		}
		if cfg.WhitenRewards {
			scores = Whiten(scores, false)
		}
		// Old log-probs, the reference's and the values, without gradients.
		tp.NoGrad(true)
		var advAll []float64
		for b, r := range rs {
			x, y := r.row()
			resp := func(v *autograd.Var) []float64 {
				var out []float64
				for i, t := range y {
					if t >= 0 {
						out = append(out, float64(v.Data[i]))
					}
				}
				return out
			}
			tp.Reset()
			r.old = resp(responseLogProbs(tp, policy, x, y))
			tp.Reset()
			r.ref = resp(responseLogProbs(tp, ref, x, y))
			tp.Reset()
			r.value = resp(critic.values(tp, x, len(x)))
			if err := tp.Err(); err != nil {
				return fmt.Errorf("train: ppo: %w", err)
			}
			rewards, k := KLRewards(r.old, r.ref, scores[b], kl.Beta)
			st.KL += k / float64(cfg.Batch)
			r.adv, r.ret = GAE(rewards, r.value, cfg.Gamma, cfg.Lambda)
			advAll = append(advAll, r.adv...)
		}
		advAll = Whiten(advAll, true)
		for _, r := range rs {
			r.adv, advAll = advAll[:len(r.adv)], advAll[len(r.adv):]
		}
		tp.NoGrad(false)
		for range cfg.Epochs {
			opt.ZeroGrad()
			st.PolicyLoss, st.ValueLoss, st.ClipFrac = 0, 0, 0
			for _, r := range rs {
				x, y := r.row()
				w := 1 / float64(cfg.Batch)
				tp.Reset()
				l := tp.Func("ppo_policy", responseLogProbs(tp, policy, x, y), func(lp []float32) (float64, []float64) {
					cur, at := gather(lp, y)
					loss, d, frac := PolicyLoss(cur, r.old, r.adv, cfg.ClipPolicy)
					st.PolicyLoss += loss * w
					st.ClipFrac += frac * w
					return loss * w, scatter(d, at, len(lp), w)
				})
				if err := tp.Backward(l, 1); err != nil {
					return fmt.Errorf("train: ppo policy: %w", err)
				}
				tp.Reset()
				v := tp.Func("ppo_value", critic.values(tp, x, len(x)), func(vs []float32) (float64, []float64) {
					cur, at := gather(vs, y)
					loss, d := ValueLoss(cur, r.value, r.ret, cfg.ClipValue)
					st.ValueLoss += loss * w
					return loss * w * cfg.ValueCoef, scatter(d, at, len(vs), w*cfg.ValueCoef)
				})
				if err := tp.Backward(v, 1); err != nil {
					return fmt.Errorf("train: ppo value: %w", err)
				}
			}
			if cfg.ClipNorm > 0 {
				if _, err := ClipGradNorm(params, cfg.ClipNorm); err != nil {
					return fmt.Errorf("train: ppo iteration %d: %w", it, err)
				}
			}
			opt.Step(cfg.LR)
		}
		kl.Update(st.KL, cfg.Batch)
		if report != nil {
			if err := report(st); err != nil {
				return err
			}
		}
		if (cfg.CheckpointEvery > 0 && it%cfg.CheckpointEvery == 0) || it == cfg.Iterations {
			if err := save(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// gather returns the values at the response positions (y ≥ 0) and where they are.
func gather(v []float32, y []int32) ([]float64, []int) {
	var out []float64
	var at []int
	for i, t := range y {
		if t >= 0 {
			out = append(out, float64(v[i]))
			at = append(at, i)
		}
	}
	return out, at
}

// scatter puts w·d back at the positions at, in a vector of n.
func scatter(d []float64, at []int, n int, w float64) []float64 {
	out := make([]float64, n)
	for k, i := range at {
		out[i] = d[k] * w
	}
	return out
}
