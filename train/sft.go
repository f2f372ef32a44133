// Reference: Ouyang et al. 2022 and Stanford Alpaca (supervised fine-tuning on demonstrations); Vicuna /
// FastChat train.py (multi-turn conversations, loss on the assistant's turns only); the loop is Train's
// (pretrain.go): nanoGPT's AdamW, schedule, clipping, accumulation, checkpoints and evaluation.

package train

import (
	"context"
	"fmt"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// SFTModel is what SFT fine-tunes: the parameters the optimizer updates
// (all of a model's for full fine-tuning; a LoRA wrapper returns its
// adapters) and the logits of packed sequences, seg naming each row's
// example (nil: one example per row). model.Trainable satisfies it.
type SFTModel interface {
	Params() []*autograd.Var
	LogitsSegments(tp *autograd.Tape, tokens []int32, T int, seg []int32) *autograd.Var
}

// sftLoss is an SFTModel as the loop's Model: the mean cross-entropy over
// the batch's trained tokens, with the segment ids of the batch Next just
// returned.
type sftLoss struct {
	m   SFTModel
	seg *segments
}

func (s *sftLoss) Params() []*autograd.Var { return s.m.Params() }

func (s *sftLoss) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	return tp.CrossEntropy(s.m.LogitsSegments(tp, tokens, T, s.seg.ids), targets, -1)
}

// SFTConfig is one fine-tuning run: the loop's settings (EvalBatches is
// set by SFT: one pass over the validation examples) and the batches'.
type SFTConfig struct {
	PretrainConfig
	B, T int
	Pack bool   // several examples per row, attention kept inside each
	Seed uint64 // the order of the training examples, epoch by epoch
	Pad  int32  // input token of padding positions (no loss)
}

// SFT fine-tunes m on the training examples, evaluating the mean loss on
// the validation ones (none: no evaluation) at cfg.EvalEvery, with the
// loop, checkpoints and reports of Train.
func SFT(ctx context.Context, m SFTModel, pool *tensor.Pool, trainEx, valEx []Example, cfg SFTConfig, report func(StepReport) error) error {
	seg := &segments{}
	tb, err := newSFTBatches(trainEx, cfg.B, cfg.T, cfg.Pack, true, cfg.Seed, cfg.Pad, seg)
	if err != nil {
		return err
	}
	var vb Batches
	if len(valEx) > 0 {
		b, err := newSFTBatches(valEx, cfg.B, cfg.T, cfg.Pack, false, 0, cfg.Pad, seg)
		if err != nil {
			return fmt.Errorf("train: sft validation: %w", err)
		}
		cfg.EvalBatches = b.PassBatches()
		vb = b
	}
	return Train(ctx, &sftLoss{m: m, seg: seg}, pool, tb, vb, cfg.PretrainConfig, report)
}

// SFTStats counts what PrepareSFT did with the conversations.
type SFTStats struct {
	Conversations int // read
	Examples      int // kept
	Truncated     int // cut by whole turns to fit
	Dropped       int // not even the first assistant turn fits
	Empty         int // nothing to learn: the only trained token would be the first
	Split         int // tokenized piece by piece (a boundary not token-stable)
	Tokens        int // in the kept examples
	Trained       int // target tokens among them
}

func (s SFTStats) String() string {
	msg := fmt.Sprintf("%d conversations → %d examples, %d tokens (%d trained); %d truncated by whole turns, %d dropped (first assistant turn longer than the sequence), %d tokenized turn by turn",
		s.Conversations, s.Examples, s.Tokens, s.Trained, s.Truncated, s.Dropped, s.Split)
	if s.Empty > 0 {
		msg += fmt.Sprintf(", %d dropped with nothing to learn", s.Empty)
	}
	return msg
}

// PrepareSFT encodes the conversations and truncates each to maxTokens
// (T+1: a row of T positions holds T+1 tokens) by whole turns. The first
// conversation the template cannot render is an error.
func PrepareSFT(enc *Encoder, convs []Conversation, maxTokens int) ([]Example, SFTStats, error) {
	st := SFTStats{Conversations: len(convs)}
	var out []Example
	for _, c := range convs {
		x, err := enc.Encode(c)
		if err != nil {
			return nil, st, err
		}
		if x.Split {
			st.Split++
		}
		x, cut, ok := x.Truncate(maxTokens)
		if !ok {
			st.Dropped++
			continue
		}
		if x.Trained() == 0 { // an answer rendered at the very start: no token predicts it
			st.Empty++
			continue
		}
		if cut {
			st.Truncated++
		}
		st.Examples++
		st.Tokens += len(x.Tokens)
		st.Trained += x.Trained()
		out = append(out, x)
	}
	return out, st, nil
}

// SplitSFT holds out a fraction of the examples for validation, chosen by
// a seeded shuffle (the rest keep their order). A positive fraction holds
// out at least one example and leaves at least one to train on.
func SplitSFT(ex []Example, fraction float64, seed uint64) (trainEx, valEx []Example) {
	held := holdOut(len(ex), fraction, seed, 0x76a1_5e1d) // prefbatch.go
	for i, x := range ex {
		if held[i] {
			valEx = append(valEx, x)
		} else {
			trainEx = append(trainEx, x)
		}
	}
	return trainEx, valEx
}
