// Reference: nanoGPT train.py (the loop: get_lr, gradient accumulation, clip, step, periodic eval and
// checkpoint, resume from ckpt.pt); llm.c train_gpt2.c main (val loss every N steps).

package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// Model is what Pretrain trains: its parameters, in a fixed order (the
// checkpoint's), and its mean next-token loss over B·T tokens recorded on a
// tape. The model package's trainable Transformer satisfies it.
type Model interface {
	Params() []*autograd.Var
	Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var
}

// PretrainConfig is one pretraining run. Batches come from the loaders,
// which fix B and T.
type PretrainConfig struct {
	Steps int // optimizer steps in all (a resumed run continues to this)
	// StopAt, when positive and below Steps, ends this session after that
	// step with a checkpoint, as an interruption would, without touching
	// the schedule (which still runs to Steps): a later resume continues
	// the same run. `gptgo bake --stop-at` uses it to check reproducibility.
	StopAt   int
	Accum    int // micro-batches per step (gradient accumulation); 0 means 1
	Schedule Schedule
	AdamW    AdamWConfig
	ClipNorm float64 // clip the global gradient norm to this; 0 turns clipping off

	EvalEvery   int // evaluate every this many steps (and after the last); 0: never
	EvalBatches int // batches per evaluation

	// CheckpointPath, when set, is written every CheckpointEvery steps and
	// after the last; if it exists when Pretrain starts, the run resumes
	// from it.
	CheckpointPath  string
	CheckpointEvery int
	Meta            map[string]string // kept in the checkpoint (model configuration)
	// Saved, when set, is called with the step after each checkpoint is
	// published (renamed into place), e.g. to log the file's hash.
	Saved func(step int) error

	// Memory is how the tape keeps activations (activation checkpointing,
	// 16-bit storage); the zero value keeps all of them in float32.
	Memory autograd.Memory

	// Coll, when set, makes this process one rank of data-parallel
	// training (dataparallel.go): Accum micro-batches per rank and step,
	// the optimizer sharded by ZeRO stage ZeRO (1 or 2; 0 means 1), the
	// gradient reduced in buckets of BucketElems floats (0: 1 Mi; negative:
	// one bucket, after the backward), DPStats (optional) filled with the
	// rank's timings and collective volumes. Every rank passes the same
	// configuration.
	Coll        Collective
	ZeRO        int
	BucketElems int
	DPStats     *DPStats
}

// StepReport describes one finished optimizer step.
type StepReport struct {
	Step     int     // 1-based: steps done so far
	Loss     float64 // mean training loss over the step's micro-batches
	LR       float64
	GradNorm float64 // before clipping
	Tokens   int     // tokens in the step
	Elapsed  time.Duration
	// Setup is set on a session's first step only: the time Train spent
	// before that step began (optimizer state allocated and its pages
	// mapped, a checkpoint read on resume). With the first step's Elapsed
	// beside the later ones it shows what a short run pays to start.
	Setup    time.Duration
	EvalLoss float64 // NaN when the step had no evaluation
	Resumed  bool    // the run resumed from a checkpoint before this step
	// Saved: a checkpoint holding this step is published right after this
	// report returns. The report comes first so that whatever it records
	// (the CLI's log line) is never behind the checkpoint: a kill between
	// the two leaves the record one step ahead, and a resume from the older
	// checkpoint redoes that step, where the other order would lose it.
	Saved bool
}

// Batches is where the loop's batches come from: a Loader over token
// shards for pretraining, packed conversations for SFT (sftbatch.go).
// Next fills B·T inputs and targets (-1: no loss); State and Restore
// capture the position exactly, for checkpoints.
type Batches interface {
	Shape() (B, T int)
	Next(x, y []int32) error
	State() (LoaderState, error)
	Restore(LoaderState) error
}

// Shape returns the loader's batch shape.
func (l *Loader) Shape() (B, T int) { return l.B, l.T }

// Pretrain trains m on batches from trainData, reporting each step to
// report (nil: no reports) and evaluating on evalData (nil: no
// evaluation). It stops after cfg.Steps, at the first error, or when ctx is
// cancelled (after writing a checkpoint if it has a path), returning
// ctx.Err() then.
func Pretrain(ctx context.Context, m Model, pool *tensor.Pool, trainData, evalData *Loader, cfg PretrainConfig, report func(StepReport) error) error {
	var eval Batches // a nil *Loader in an interface would not be nil
	if evalData != nil {
		eval = evalData
	}
	return Train(ctx, m, pool, trainData, eval, cfg, report)
}

// Train is Pretrain's loop over any Batches: SFT runs it too.
func Train(ctx context.Context, m Model, pool *tensor.Pool, trainData, evalData Batches, cfg PretrainConfig, report func(StepReport) error) error {
	if cfg.Coll != nil {
		return trainDataParallel(ctx, m, pool, trainData, evalData, cfg, report)
	}
	began := time.Now()
	accum := max(cfg.Accum, 1)
	if cfg.Steps <= 0 {
		return fmt.Errorf("train: pretrain: %d steps", cfg.Steps)
	}
	params := m.Params()
	opt, err := NewAdamW(params, cfg.AdamW, pool)
	if err != nil {
		return err
	}
	resumed := false
	if cfg.CheckpointPath != "" {
		ck, err := LoadCheckpoint(cfg.CheckpointPath, opt)
		switch {
		case err == nil:
			if err := trainData.Restore(ck.Loader); err != nil {
				return fmt.Errorf("train: resume from %s: %w", cfg.CheckpointPath, err)
			}
			// Checkpoints written before the evaluation position was kept
			// have none: evaluation then starts over.
			if ck.Eval != nil && evalData != nil {
				if err := evalData.Restore(*ck.Eval); err != nil {
					return fmt.Errorf("train: resume from %s: evaluation data: %w", cfg.CheckpointPath, err)
				}
			}
			resumed = true
		case errors.Is(err, fs.ErrNotExist): // a new run
		default:
			return err
		}
	}
	save := func() error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		st, err := trainData.State()
		if err != nil {
			return err
		}
		c := Checkpoint{Step: opt.Steps, Loader: st, Meta: cfg.Meta}
		if evalData != nil {
			es, err := evalData.State()
			if err != nil {
				return err
			}
			c.Eval = &es
		}
		return SaveCheckpoint(cfg.CheckpointPath, opt, c)
	}

	B, T := trainData.Shape()
	x, y := make([]int32, B*T), make([]int32, B*T)
	tp := autograd.NewTape(pool)
	if err := tp.SetMemory(cfg.Memory); err != nil {
		return fmt.Errorf("train: pretrain: %w", err)
	}
	end := cfg.Steps
	if cfg.StopAt > 0 && cfg.StopAt < end {
		end = cfg.StopAt
	}
	first := true
	for opt.Steps < end {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return errors.Join(err, serr)
			}
			return err
		}
		start := time.Now()
		var setup time.Duration
		if first {
			setup, first = start.Sub(began), false
		}
		it := opt.Steps // 0-based index of this step, as the schedule counts
		opt.ZeroGrad()
		loss, err := Accumulate(accum, func(int) (*autograd.Tape, *autograd.Var, error) {
			if err := trainData.Next(x, y); err != nil {
				return nil, nil, err
			}
			tp.Reset()
			l := m.Loss(tp, x, y, T)
			return tp, l, tp.Err()
		})
		if err != nil {
			return fmt.Errorf("train: step %d: %w", it+1, err)
		}
		var norm float64
		if cfg.ClipNorm > 0 {
			norm, err = opt.ClipGradNorm(cfg.ClipNorm)
		} else if norm = opt.GradNorm(); math.IsNaN(norm) || math.IsInf(norm, 0) {
			err = fmt.Errorf("train: gradient norm is %v: the step diverged", norm)
		}
		if err != nil {
			return fmt.Errorf("train: step %d: %w", it+1, err)
		}
		lr := cfg.Schedule.LR(it)
		opt.Step(lr)
		r := StepReport{Step: opt.Steps, Loss: loss, LR: lr, GradNorm: norm, Tokens: accum * B * T, EvalLoss: math.NaN(), Resumed: resumed, Setup: setup}
		if evalData != nil && cfg.EvalEvery > 0 && (opt.Steps%cfg.EvalEvery == 0 || opt.Steps == cfg.Steps) {
			if r.EvalLoss, err = Evaluate(m, tp, evalData, max(cfg.EvalBatches, 1)); err != nil {
				return fmt.Errorf("train: step %d: eval: %w", opt.Steps, err)
			}
		}
		saving := (cfg.CheckpointEvery > 0 && opt.Steps%cfg.CheckpointEvery == 0) || opt.Steps == end
		r.Saved = saving && cfg.CheckpointPath != ""
		r.Elapsed = time.Since(start)
		if report != nil {
			if err := report(r); err != nil {
				return err
			}
		}
		if saving {
			if err := save(); err != nil {
				return err
			}
			if r.Saved && cfg.Saved != nil {
				if err := cfg.Saved(opt.Steps); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Evaluate returns m's mean loss over n batches of data, without recording
// gradients. The tape is reset before and after.
func Evaluate(m Model, tp *autograd.Tape, data Batches, n int) (float64, error) {
	B, T := data.Shape()
	x, y := make([]int32, B*T), make([]int32, B*T)
	tp.NoGrad(true)
	defer func() { tp.NoGrad(false); tp.Reset() }()
	var sum float64
	for range n {
		if err := data.Next(x, y); err != nil {
			return 0, err
		}
		tp.Reset()
		l := m.Loss(tp, x, y, T)
		if err := tp.Err(); err != nil {
			return 0, err
		}
		sum += float64(l.Data[0])
	}
	return sum / float64(n), nil
}
