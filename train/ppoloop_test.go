// Reference: issue #25 (PPO on a rule-based reward a tiny model can learn: held-out reward rises, KL stays bounded).

package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// keywordPrompts are prompts of five filler tokens (4…15) and a keyword
// (0…3); the rule rewards the share of response tokens that repeat the
// keyword ("mentions the prompt's keyword"), which a random policy over
// 16 tokens does 1/16 of the time.
func keywordPrompts(n int, seed uint64) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 5))
	var out [][]int32
	for range n {
		p := make([]int32, 6)
		for i := range 5 {
			p[i] = int32(4 + rng.IntN(12))
		}
		p[5] = int32(rng.IntN(4))
		out = append(out, p)
	}
	return out
}

func keywordReward(prompt, resp []int32) (float64, error) {
	n := 0
	for _, t := range resp {
		if t == prompt[len(prompt)-1] {
			n++
		}
	}
	return float64(n) / float64(max(len(resp), 1)), nil
}

// meanReward samples one response per prompt (temperature 1) and averages the rule.
func meanReward(t *testing.T, m SFTModel, pool *tensor.Pool, prompts [][]int32, seed uint64) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	var s float64
	for _, p := range prompts {
		r, _, err := Sample(m, pool, p, 4, 1, rng, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := keywordReward(p, r)
		s += v
	}
	return s / float64(len(prompts))
}

// TestPPOKeywordReward runs PPO from a random tiny llama on the keyword
// rule: the mean reward on held-out prompts rises well above the initial
// policy's, with the KL to the reference bounded.
func TestPPOKeywordReward(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	policy, ref := sftModel(t, 16), sftModel(t, 16) // the same seed: ref is the initial policy
	head, err := model.NewValueHead(32, 2)
	if err != nil {
		t.Fatal(err)
	}
	critic := &RewardModel{Base: sftModel(t, 16), Head: head}
	train, held := keywordPrompts(64, 1), keywordPrompts(64, 2)
	before := meanReward(t, policy, pool, held, 3)
	cfg := PPOConfig{PPOOptions: DefaultPPO, Iterations: 25, Batch: 16, MaxNew: 4, Temperature: 1, LR: 3e-3,
		AdamW: AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}, ClipNorm: 1, Seed: 4}
	cfg.KL = KLController{Beta: 0.02}
	var stats []PPOStats
	if err := PPO(context.Background(), policy, ref, critic, keywordReward, pool, train, cfg, func(s PPOStats) error {
		stats = append(stats, s)
		if s.Iteration%5 == 0 || s.Iteration == 1 {
			t.Logf("iteration %2d: reward %.3f, KL %.3f, clip fraction %.3f, entropy %.3f", s.Iteration, s.Reward, s.KL, s.ClipFrac, s.Entropy)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after := meanReward(t, policy, pool, held, 3)
	last := stats[len(stats)-1]
	t.Logf("held-out reward %.3f → %.3f; last iteration: %+v", before, after, last)
	if !(after > before+0.3) {
		t.Errorf("held-out reward %.3f → %.3f: PPO did not learn the rule", before, after)
	}
	if !(last.KL < 20) || last.KL != last.KL {
		t.Errorf("KL to the reference %.3f is not bounded", last.KL)
	}
}

// TestPPOResume: a run stopped after 2 iterations and resumed to 4 ends
// with the weights of an uninterrupted 4-iteration run.
func TestPPOResume(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	run := func(ckpt string, iters int) [][]float32 {
		policy, ref := sftModel(t, 16), sftModel(t, 16)
		head, _ := model.NewValueHead(32, 2)
		critic := &RewardModel{Base: sftModel(t, 16), Head: head}
		cfg := PPOConfig{PPOOptions: DefaultPPO, Iterations: iters, Batch: 4, MaxNew: 3, Temperature: 1, LR: 3e-3,
			AdamW: AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}, ClipNorm: 1, Seed: 4, CheckpointPath: ckpt}
		cfg.Epochs = 2
		cfg.KL = KLController{Beta: 0.05, Target: 1, Horizon: 10} // adaptive: β is part of the state
		if err := PPO(context.Background(), policy, ref, critic, keywordReward, pool, keywordPrompts(10, 1), cfg, nil); err != nil {
			t.Fatal(err)
		}
		var w [][]float32
		for _, p := range append(policy.Params(), critic.Params()...) {
			w = append(w, slices.Clone(p.Data))
		}
		return w
	}
	whole := run(filepath.Join(t.TempDir(), "a.ckpt"), 4)
	b := filepath.Join(t.TempDir(), "b.ckpt")
	run(b, 2)
	if !sameGrads(whole, run(b, 4)) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
}
