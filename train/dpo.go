// Reference: Rafailov et al. 2023, "Direct Preference Optimization" (arXiv:2305.18290) eq. 7 and §5;
// Azar et al. 2023, "A General Theoretical Paradigm to Understand Learning from Human Preferences" (IPO, eq. 17);
// Mitchell 2023, "A note on DPO with noisy preferences" (cDPO label smoothing); TRL's DPOTrainer (the logged
// rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies; IPO on length-averaged log-probs).

package train

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// DPOOptions are the loss's settings.
type DPOOptions struct {
	// Beta is the strength of the implicit KL penalty: the implicit reward
	// of an answer is Beta·(log π(y|x) − log π_ref(y|x)).
	Beta float64
	// Loss is "sigmoid" (DPO), "ipo", or "kto" (unpaired examples from
	// ReadKTO; dpo_kto.go).
	Loss string
	// LabelSmoothing ε (cDPO, sigmoid loss only): the label is taken to be
	// wrong with probability ε, L = −(1−ε)·log σ(h) − ε·log σ(−h).
	LabelSmoothing float64
}

// Validate names the setting out of range.
func (o DPOOptions) Validate() error {
	switch {
	case !(o.Beta > 0) || math.IsInf(o.Beta, 0):
		return fmt.Errorf("train: dpo beta (--beta) %v must be positive", o.Beta)
	case o.Loss != "sigmoid" && o.Loss != "ipo" && o.Loss != "kto":
		return fmt.Errorf("train: dpo loss (--loss) %q is not sigmoid, ipo or kto", o.Loss)
	case !(o.LabelSmoothing >= 0 && o.LabelSmoothing < 0.5):
		return fmt.Errorf("train: dpo label smoothing (--label-smoothing) %v must be in [0, 0.5)", o.LabelSmoothing)
	case o.LabelSmoothing > 0 && o.Loss != "sigmoid":
		return fmt.Errorf("train: dpo label smoothing applies to the sigmoid loss only")
	}
	return nil
}

// PairLoss is one pair's loss and its derivatives by the policy's
// log-probs of the chosen (pc) and rejected (pr) answers, given the
// reference's (rc, rr) and the answers' token counts (nc, nr: IPO averages
// over tokens, as TRL does). In float64: the reference the tests check.
func (o DPOOptions) PairLoss(pc, pr, rc, rr float64, nc, nr int) (loss, dpc, dpr float64) {
	if o.Loss == "ipo" {
		a := (pc-rc)/float64(nc) - (pr-rr)/float64(nr)
		d := a - 1/(2*o.Beta)
		return d * d, 2 * d / float64(nc), -2 * d / float64(nr)
	}
	h := o.Beta * ((pc - rc) - (pr - rr))
	e := o.LabelSmoothing
	loss = (1-e)*softplus(-h) + e*softplus(h) // −log σ(h) = softplus(−h)
	dh := -(1-e)*sigmoid(-h) + e*sigmoid(h)
	return loss, o.Beta * dh, -o.Beta * dh
}

func softplus(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// PrefMetrics are means over the pairs of a step (or of an evaluation),
// TRL's names in brackets: the implicit rewards Beta·(log π − log π_ref)
// of the chosen [rewards/chosen] and rejected [rewards/rejected] answers,
// their difference [rewards/margins], the share of pairs where it is
// positive [rewards/accuracies], and the policy's own log-prob margin
// log π(chosen) − log π(rejected) [logps/chosen − logps/rejected].
type PrefMetrics struct {
	Pairs      int     `json:"pairs"`
	Chosen     float64 `json:"chosen"`
	Rejected   float64 `json:"rejected"`
	Margin     float64 `json:"margin"`
	Accuracy   float64 `json:"accuracy"`
	LogpMargin float64 `json:"logp_margin"`
	Loss       float64 `json:"loss"`
}

// prefAccum sums the metrics until they are read.
type prefAccum struct{ m PrefMetrics }

func (a *prefAccum) add(beta, pc, pr, rc, rr, loss float64) {
	c, r := beta*(pc-rc), beta*(pr-rr)
	a.m.Pairs++
	a.m.Chosen += c
	a.m.Rejected += r
	a.m.Margin += c - r
	a.m.LogpMargin += pc - pr
	a.m.Loss += loss
	switch {
	case c > r:
		a.m.Accuracy++
	case c == r:
		a.m.Accuracy += 0.5
	}
}

// take returns the means and starts over.
func (a *prefAccum) take() PrefMetrics {
	m := a.m
	a.m = PrefMetrics{}
	if n := float64(m.Pairs); n > 0 {
		m.Chosen, m.Rejected, m.Margin = m.Chosen/n, m.Rejected/n, m.Margin/n
		m.Accuracy, m.LogpMargin, m.Loss = m.Accuracy/n, m.LogpMargin/n, m.Loss/n
	}
	return m
}

// rowSums adds each row's target log-probs: the log-likelihood of the
// answer in that row, and how many tokens it has.
func rowSums(lp []float32, targets []int32, T int) (sums []float64, counts []int) {
	rows := len(targets) / T
	sums, counts = make([]float64, rows), make([]int, rows)
	for r := range rows {
		for i := r * T; i < (r+1)*T; i++ {
			if targets[i] >= 0 {
				sums[r] += float64(lp[i])
				counts[r]++
			}
		}
	}
	return sums, counts
}

// spread sets the gradient of every answer token of row r to g: the
// derivative by the row's log-likelihood, which is their sum.
func spread(dx []float64, targets []int32, r, T int, g float64) {
	for i := r * T; i < (r+1)*T; i++ {
		if targets[i] >= 0 {
			dx[i] = g
		}
	}
}

// answerLogProbs records the log-likelihood of each row's answer tokens:
// the per-position log-probs [rows·T], to be summed row by row.
func answerLogProbs(tp *autograd.Tape, m SFTModel, tokens, targets []int32, T int) *autograd.Var {
	return tp.TargetLogProbs(m.LogitsSegments(tp, tokens, T, nil), targets, -1)
}

// dpoLoss is the policy as the loop's Model: the mean pair loss of the
// batch PrefBatches.Next just returned, with the reference's log-probs
// from the slots (precomputed) or from a second model run here.
type dpoLoss struct {
	m     SFTModel
	opt   DPOOptions
	slots *prefSlots
	ref   SFTModel       // the two-model method; nil: slots.ref
	refTp *autograd.Tape // ref's, never recording
	acc   [2]prefAccum   // training, evaluation
}

func (d *dpoLoss) Params() []*autograd.Var { return d.m.Params() }

func (d *dpoLoss) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	lp := answerLogProbs(tp, d.m, tokens, targets, T)
	ref := d.slots.ref
	if d.ref != nil {
		d.refTp.Reset()
		rl := answerLogProbs(d.refTp, d.ref, tokens, targets, T)
		if err := d.refTp.Err(); err != nil { // the tape's error names the failure
			return tp.Func("dpo reference model: "+err.Error(), lp, func(x []float32) (float64, []float64) { return math.NaN(), make([]float64, len(x)) })
		}
		ref, _ = rowSums(rl.Data, targets, T)
	}
	acc := &d.acc[0]
	if !tp.Recording() {
		acc = &d.acc[1]
	}
	return tp.Func("dpo", lp, func(x []float32) (float64, []float64) {
		sums, counts := rowSums(x, targets, T)
		dx := make([]float64, len(x))
		n := d.slots.filled()
		var total float64
		for s, p := range d.slots.pair {
			if p < 0 {
				continue
			}
			c, r := 2*s, 2*s+1
			l, gc, gr := d.opt.PairLoss(sums[c], sums[r], ref[c], ref[r], counts[c], counts[r])
			acc.add(d.opt.Beta, sums[c], sums[r], ref[c], ref[r], l)
			total += l
			spread(dx, targets, c, T, gc/float64(n))
			spread(dx, targets, r, T, gr/float64(n))
		}
		return total / float64(max(n, 1)), dx
	})
}

// ReferenceLogProbs computes, with m's current weights and no gradients,
// the log-likelihood of each pair's chosen and rejected answer: DPO's
// reference, computed once before training so that no second model is
// held in memory while the policy trains. Batches of P pairs, as
// training runs them.
func ReferenceLogProbs(m SFTModel, pool *tensor.Pool, ex []PrefExample, P, T int, pad int32) ([][2]float64, error) {
	slots := &prefSlots{}
	b, err := newPrefBatches(ex, nil, P, T, false, 0, pad, slots)
	if err != nil {
		return nil, err
	}
	out := make([][2]float64, len(ex))
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	x, y := make([]int32, 2*P*T), make([]int32, 2*P*T)
	for range b.PassBatches() {
		if err := b.Next(x, y); err != nil {
			return nil, err
		}
		tp.Reset()
		lp := answerLogProbs(tp, m, x, y, T)
		if err := tp.Err(); err != nil {
			return nil, fmt.Errorf("train: reference log-probs: %w", err)
		}
		sums, _ := rowSums(lp.Data, y, T)
		for s, p := range slots.pair {
			if p >= 0 {
				out[p] = [2]float64{sums[2*s], sums[2*s+1]}
			}
		}
	}
	return out, nil
}

// DPOConfig is one DPO run: the loop's settings (EvalBatches is set by
// DPO: one pass over the validation pairs), the batches' and the loss's.
type DPOConfig struct {
	PretrainConfig
	DPOOptions
	P, T int    // pairs per micro-batch (2P rows), positions per row
	Seed uint64 // the order of the training pairs, epoch by epoch
	Pad  int32  // input token of padding positions
	// Reference, when set, is a second model run at every step for the
	// reference log-probs: the two-model method, kept to measure what the
	// precomputed one saves. nil: m's log-probs before the first step,
	// precomputed once (with LoRA, m is then its frozen base).
	Reference SFTModel
}

// PrefReport is a step's report with the preference metrics of its
// training pairs and, at an evaluation, of the validation pairs (Pairs 0
// otherwise).
type PrefReport struct {
	StepReport
	Train, Eval PrefMetrics
}

// DPO trains m on the preference pairs with the loop, checkpoints and
// resume of Train. The reference log-probs are precomputed from m as it
// is when DPO is called, before a checkpoint is resumed: the same base
// gives the same reference, so a resumed run continues bit for bit.
func DPO(ctx context.Context, m SFTModel, pool *tensor.Pool, trainEx, valEx []PrefExample, cfg DPOConfig, report func(PrefReport) error) error {
	if err := cfg.DPOOptions.Validate(); err != nil {
		return err
	}
	var trainRef, valRef [][2]float64
	var err error
	if cfg.Reference == nil {
		if trainRef, err = ReferenceLogProbs(m, pool, trainEx, cfg.P, cfg.T, cfg.Pad); err != nil {
			return err
		}
		if len(valEx) > 0 {
			if valRef, err = ReferenceLogProbs(m, pool, valEx, cfg.P, cfg.T, cfg.Pad); err != nil {
				return err
			}
		}
	}
	// The precomputing tape's buffers (a training step's activations) are
	// garbage now: collected before the training tape grows, the peak is
	// one tape, not two (the point of precomputing).
	runtime.GC()
	slots := &prefSlots{}
	tb, err := newPrefBatches(trainEx, trainRef, cfg.P, cfg.T, true, cfg.Seed, cfg.Pad, slots)
	if err != nil {
		return err
	}
	var vb Batches
	if len(valEx) > 0 {
		b, err := newPrefBatches(valEx, valRef, cfg.P, cfg.T, false, 0, cfg.Pad, slots)
		if err != nil {
			return fmt.Errorf("train: dpo validation: %w", err)
		}
		cfg.EvalBatches = b.PassBatches()
		vb = b
	}
	if cfg.Loss == "kto" {
		if cfg.Reference != nil {
			return fmt.Errorf("train: kto takes the precomputed reference only")
		}
		k := &ktoLoss{m: m, beta: cfg.Beta, slots: slots}
		return trainPref(ctx, k, &k.acc, pool, tb, vb, cfg.PretrainConfig, report)
	}
	d := &dpoLoss{m: m, opt: cfg.DPOOptions, slots: slots, ref: cfg.Reference}
	if d.ref != nil {
		d.refTp = autograd.NewTape(pool)
		d.refTp.NoGrad(true)
	}
	return trainPref(ctx, d, &d.acc, pool, tb, vb, cfg.PretrainConfig, report)
}

// trainPref runs Train on a preference loss, each step's report carrying
// the metrics the loss gathered in acc (training, evaluation).
func trainPref(ctx context.Context, loss Model, acc *[2]prefAccum, pool *tensor.Pool, tb, vb Batches, pc PretrainConfig, report func(PrefReport) error) error {
	return Train(ctx, loss, pool, tb, vb, pc, func(s StepReport) error {
		r := PrefReport{StepReport: s, Train: acc[0].take(), Eval: acc[1].take()}
		if report == nil {
			return nil
		}
		return report(r)
	})
}
