// Reference: Ouyang et al. 2022 (InstructGPT) §3.5 and appendix C.2: a scalar head on the SFT model, the pairwise
// loss −log σ(r(x, y_w) − r(x, y_l)) over the K(K−1)/2 pairs of a ranking, a prompt's pairs batched together;
// Touvron et al. 2023 (Llama 2) §3.2.2 (the optional margin); DeepSpeed-Chat's RewardModel (the score at the
// answer's end token).

package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train/autograd"
)

// HiddenModel is a model whose final hidden states a value head reads.
// model.Trainable satisfies it.
type HiddenModel interface {
	Params() []*autograd.Var
	HiddenSegments(tp *autograd.Tape, tokens []int32, T int, seg []int32) *autograd.Var
}

// RewardModel is a language model whose LM head is replaced by a scalar
// value head: its score of a conversation is the head's value at the
// last token (the answer's end-of-turn token).
type RewardModel struct {
	Base HiddenModel
	Head *model.ValueHead
}

// Params are the base's parameters, then the head's.
func (r *RewardModel) Params() []*autograd.Var {
	return append(slices.Clip(r.Base.Params()), r.Head.Params()...)
}

// values records the head over every position: [B·T, 1].
func (r *RewardModel) values(tp *autograd.Tape, tokens []int32, T int) *autograd.Var {
	return r.Head.Values(tp, r.Base.HiddenSegments(tp, tokens, T, nil))
}

// Score returns the reward of one tokenized conversation (prompt and
// answer, as PrepareRM encodes it without the trailing pad): the value at
// its last token.
func (r *RewardModel) Score(pool *tensor.Pool, tokens []int32) (float64, error) {
	if len(tokens) == 0 {
		return 0, fmt.Errorf("train: reward of no tokens")
	}
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	v := r.values(tp, tokens, len(tokens))
	if err := tp.Err(); err != nil {
		return 0, err
	}
	return float64(v.Data[len(tokens)-1]), nil
}

// ScoreAnswer renders the prompt turns and the answer through enc as the
// reward model was trained on them and returns the answer's reward. A
// conversation of more than maxTokens tokens (the model's context) is an
// error.
func (r *RewardModel) ScoreAnswer(pool *tensor.Pool, enc *Encoder, prompt []chat.Message, answer string, maxTokens int) (float64, error) {
	c := Conversation{Messages: append(slices.Clip(prompt), chat.Message{Role: "assistant", Content: answer}), Where: "score"}
	if err := checkPrompt(prompt); err != nil {
		return 0, fmt.Errorf("train: score: %w", err)
	}
	x, err := enc.Encode(c)
	if err != nil {
		return 0, err
	}
	if len(x.Tokens) > maxTokens {
		return 0, fmt.Errorf("train: score: the conversation has %d tokens, more than the model's context of %d", len(x.Tokens), maxTokens)
	}
	return r.Score(pool, x.Tokens)
}

// RMOptions are the pairwise loss's settings.
type RMOptions struct {
	// Margin m asks the chosen answer to score at least m above the
	// rejected one: L = −log σ(r_c − r_r − m) (Llama 2 scales it by how
	// clearly the raters preferred; here it is one number).
	Margin float64
}

// PairLoss is the Bradley–Terry loss of one pair and its derivatives by
// the chosen and rejected scores, in float64.
func (o RMOptions) PairLoss(sc, sr float64) (loss, dsc, dsr float64) {
	h := sc - sr - o.Margin
	return softplus(-h), -sigmoid(-h), sigmoid(-h)
}

// PrepareRM encodes the pairs for the reward model: as PreparePreferences
// with sequences of at most T tokens, then pad appended to each answer and
// marked as its only target. The batches then feed the whole conversation
// as input, end-of-turn token included, and the single target says which
// position's value is the score.
func PrepareRM(enc *Encoder, ps []Preference, T int, pad int32) ([]PrefExample, PrefStats, error) {
	ex, st, err := PreparePreferences(enc, ps, T)
	if err != nil {
		return nil, st, err
	}
	mark := func(e Example) Example {
		toks := append(slices.Clone(e.Tokens), pad)
		train := make([]bool, len(toks))
		train[len(toks)-1] = true
		return Example{Tokens: toks, Train: train, Spans: e.Spans, Split: e.Split}
	}
	for i, x := range ex {
		ex[i] = PrefExample{Chosen: mark(x.Chosen), Rejected: mark(x.Rejected), Group: x.Group}
	}
	return ex, st, nil
}

// LengthBaseline is the accuracy of ranking each pair by answer length
// alone (the longer answer preferred; a tie counts one half): what a
// reward model must beat to have learned more than length.
func LengthBaseline(ex []PrefExample) float64 {
	if len(ex) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range ex {
		switch c, r := len(x.Chosen.Tokens), len(x.Rejected.Tokens); {
		case c > r:
			s++
		case c == r:
			s += 0.5
		}
	}
	return s / float64(len(ex))
}

// rmLoss is the reward model as the loop's Model: the mean pair loss of
// the batch PrefBatches.Next just returned.
type rmLoss struct {
	rm    *RewardModel
	opt   RMOptions
	slots *prefSlots
	acc   [2]prefAccum // training, evaluation
}

func (d *rmLoss) Params() []*autograd.Var { return d.rm.Params() }

func (d *rmLoss) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	v := d.rm.values(tp, tokens, T)
	acc := &d.acc[0]
	if !tp.Recording() {
		acc = &d.acc[1]
	}
	return tp.Func("rm", v, func(x []float32) (float64, []float64) {
		dx := make([]float64, len(x))
		// The scored position of each row: its one target (-1: an empty row).
		at := func(r int) int {
			for i := r * T; i < (r+1)*T; i++ {
				if targets[i] >= 0 {
					return i
				}
			}
			return -1
		}
		n := d.slots.filled()
		var total float64
		for s, p := range d.slots.pair {
			c, r := at(2*s), at(2*s+1)
			if p < 0 || c < 0 || r < 0 {
				continue
			}
			sc, sr := float64(x[c]), float64(x[r])
			l, gc, gr := d.opt.PairLoss(sc, sr)
			acc.add(1, sc, sr, 0, 0, l)
			total += l
			dx[c], dx[r] = gc/float64(n), gr/float64(n)
		}
		return total / float64(max(n, 1)), dx
	})
}

// RMConfig is one reward-model run: the loop's settings (EvalBatches is
// set by TrainRM), the batches' and the loss's.
type RMConfig struct {
	PretrainConfig
	RMOptions
	P, T int    // pairs per micro-batch (2P rows), positions per row
	Seed uint64 // the order of the prompts, epoch by epoch
	Pad  int32
}

// TrainRM trains the reward model on pairs from PrepareRM with the loop,
// checkpoints and resume of Train. A prompt's pairs stay together: each
// epoch shuffles the prompts, not the pairs (InstructGPT's batching; a
// ranking's pairs share a batch when P holds them). The report's metrics
// are scores (Chosen, Rejected, Margin) and the share of pairs ranked
// right (Accuracy).
func TrainRM(ctx context.Context, rm *RewardModel, pool *tensor.Pool, trainEx, valEx []PrefExample, cfg RMConfig, report func(PrefReport) error) error {
	slots := &prefSlots{}
	tb, err := newPrefBatches(trainEx, nil, cfg.P, cfg.T, true, cfg.Seed, cfg.Pad, slots)
	if err != nil {
		return err
	}
	tb.grouped = true
	tb.layout(0)
	var vb Batches
	if len(valEx) > 0 {
		b, err := newPrefBatches(valEx, nil, cfg.P, cfg.T, false, 0, cfg.Pad, slots)
		if err != nil {
			return fmt.Errorf("train: rm validation: %w", err)
		}
		cfg.EvalBatches = b.PassBatches()
		vb = b
	}
	d := &rmLoss{rm: rm, opt: cfg.RMOptions, slots: slots}
	return trainPref(ctx, d, &d.acc, pool, tb, vb, cfg.PretrainConfig, report) // dpo.go
}

// EvalRM returns the reward model's metrics over pairs (no gradients).
func EvalRM(rm *RewardModel, pool *tensor.Pool, ex []PrefExample, P, T int, pad int32) (PrefMetrics, error) {
	slots := &prefSlots{}
	b, err := newPrefBatches(ex, nil, P, T, false, 0, pad, slots)
	if err != nil {
		return PrefMetrics{}, err
	}
	d := &rmLoss{rm: rm, slots: slots}
	tp := autograd.NewTape(pool)
	if _, err := Evaluate(d, tp, b, b.PassBatches()); err != nil {
		return PrefMetrics{}, err
	}
	return d.acc[1].take(), nil
}
