// Reference: ZeRO (Rajbhandari et al. 2020) §5.1 and §7; PyTorch DDP (Li et al. 2020) §3.2 (broadcast of the
// initial state from rank 0, bucketed reduction overlapped with the backward); nanoGPT train.py (the loop).

package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// trainDataParallel is Train on one rank of cfg.Coll: the same loop, with
// the step's micro-batches spread over the ranks.
//
// Rank r reads micro-batches r, r+N, … of the order one process would read
// (strided), cfg.Accum of them per step, and computes each one's gradient
// from zero with the backward seeded by 1/(N·Accum); the ranks' gradients
// are summed in rank order by reduce-scatters of buckets, started while
// the last backward runs (bucketer). With cfg.Accum = 1 the sum is
// c₀ + c₁ + … + c_{N−1}, micro-batch by micro-batch in the single-process
// order, which is what one process computes with gradient accumulation
// over N micro-batches when each micro-batch's gradient is made from zero
// and then added (`--data-parallel 1 --accum N`): the two runs give the
// same weights, bit for bit (TestDataParallelEqualsAccumulation). A plain
// single-process Train adds each micro-batch into the accumulated gradient
// inside the backward's kernels, which rounds differently: its weights
// agree within float32 rounding, not bit for bit.
//
// The optimizer is sharded (ZeRO stage 1: each rank keeps AdamW's moments
// for its pieces only, updates those and all-gathers the weights) and,
// with cfg.ZeRO = 2, so is the gradient summed over the step's
// micro-batches: each micro-batch is reduce-scattered after its backward
// and its owned pieces added into a shard (stage 1 keeps the whole
// accumulated gradient, and a second whole buffer when Accum > 1, until
// the step's single reduce-scatter). Rank 0 evaluates, and writes the
// checkpoints (dataparallel_ckpt.go); report and cfg.Saved are called on
// every rank whose caller set them.
func trainDataParallel(ctx context.Context, m Model, pool *tensor.Pool, trainData, evalData Batches, cfg PretrainConfig, report func(StepReport) error) error {
	began := time.Now()
	coll := cfg.Coll
	N, rank := coll.Size(), coll.Rank()
	accum := max(cfg.Accum, 1)
	if cfg.Steps <= 0 {
		return fmt.Errorf("train: pretrain: %d steps", cfg.Steps)
	}
	zero := max(cfg.ZeRO, 1)
	st, err := newDPState(m.Params(), cfg.AdamW, coll, zero, cfg.BucketElems, accum, pool, cfg.DPStats)
	if err != nil {
		return err
	}
	fail := func(step int, err error) error {
		return fmt.Errorf("train: data-parallel rank %d of %d, step %d: %w", rank, N, step, err)
	}
	if rank != 0 {
		evalData = nil // rank 0 evaluates and keeps the evaluation position
	}
	B, T := trainData.Shape()
	if err := st.checkSame(fmt.Sprintf("steps %d, stop at %d, accum %d, B %d, T %d, ZeRO-%d, buckets %d, clip %v, schedule %+v, AdamW %+v, parameters %d, checkpoints %v every %d",
		cfg.Steps, cfg.StopAt, accum, B, T, zero, cfg.BucketElems, cfg.ClipNorm, cfg.Schedule, cfg.AdamW, st.n, cfg.CheckpointPath != "", cfg.CheckpointEvery)); err != nil {
		return fail(0, err)
	}
	data := newStrided(trainData, rank, N)

	resumed := false
	if cfg.CheckpointPath != "" {
		ck, found, err := st.loadCollective(cfg.CheckpointPath)
		if err != nil {
			return fail(0, err)
		}
		if found {
			if err := data.Restore(ck.Loader); err != nil {
				return fmt.Errorf("train: resume from %s: %w", cfg.CheckpointPath, err)
			}
			if ck.Eval != nil && evalData != nil {
				if err := evalData.Restore(*ck.Eval); err != nil {
					return fmt.Errorf("train: resume from %s: evaluation data: %w", cfg.CheckpointPath, err)
				}
			}
			resumed = true
		}
	}
	if !resumed {
		if err := st.broadcastParams(); err != nil {
			return fail(0, err)
		}
	}
	save := func() error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		var c Checkpoint
		if rank == 0 {
			s, err := trainData.State() // rank 0's position is the run's (strided)
			if err != nil {
				return err
			}
			c = Checkpoint{Step: st.steps, Loader: s, Meta: cfg.Meta}
			if evalData != nil {
				es, err := evalData.State()
				if err != nil {
					return err
				}
				c.Eval = &es
			}
		}
		return st.saveCollective(cfg.CheckpointPath, c)
	}

	x, y := make([]int32, B*T), make([]int32, B*T)
	tp := autograd.NewTape(pool)
	if err := tp.SetMemory(cfg.Memory); err != nil {
		return fmt.Errorf("train: pretrain: %w", err)
	}
	bk := newBucketer(st)
	end := cfg.Steps
	if cfg.StopAt > 0 && cfg.StopAt < end {
		end = cfg.StopAt
	}
	seed := 1 / float32(N*accum)
	losses := make([]float64, accum)
	stop := []float32{0}
	first := true
	for st.steps < end {
		// Every rank stops at the same step: the ranks' interruptions are
		// summed (a one-float all-reduce a step).
		stop[0] = 0
		if ctx.Err() != nil {
			stop[0] = 1
		}
		st.stats.AllReduceElems++
		if err := coll.AllReduce(stop); err != nil {
			return fail(st.steps+1, err)
		}
		if stop[0] != 0 {
			err := ctx.Err()
			if err == nil {
				err = fmt.Errorf("train: data-parallel rank %d: another rank was interrupted", rank)
			}
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
		it := st.steps
		for j := range accum {
			if j > 0 && st.acc != nil {
				// ZeRO-1: the earlier micro-batches' sum moves aside and
				// this one's gradient starts from zero.
				st.grad, st.acc = st.acc, st.grad
				st.pointGrads(st.grad)
			}
			clear(st.grad)
			if err := data.Next(x, y); err != nil {
				return fail(it+1, err)
			}
			tp.Reset()
			l := m.Loss(tp, x, y, T)
			if err := tp.Err(); err != nil {
				return fail(it+1, err)
			}
			last := j == accum-1
			if err := bk.backward(tp, l, seed, j, last || zero == 2); err != nil {
				return fail(it+1, err)
			}
			if !last && st.acc != nil && j > 0 {
				addTo(pool, st.grad, st.acc)
			}
			losses[j] = float64(l.Data[0])
		}
		all, err := st.gatherFloat64s(losses)
		if err != nil {
			return fail(it+1, err)
		}
		var loss float64 // summed in the single-process order: micro-batch j·N + r
		for j := range accum {
			for r := range N {
				loss += all[r*accum+j]
			}
		}
		loss /= float64(N * accum)
		norm, err := st.gradNorm(cfg.ClipNorm > 0)
		if err != nil {
			return fail(it+1, err)
		}
		if cfg.ClipNorm > 0 {
			err = st.clip(norm, cfg.ClipNorm)
		} else if math.IsNaN(norm) || math.IsInf(norm, 0) {
			err = fmt.Errorf("train: gradient norm is %v: the step diverged", norm)
		}
		if err != nil {
			return fail(it+1, err)
		}
		lr := cfg.Schedule.LR(it)
		if err := st.update(lr); err != nil {
			return fail(it+1, err)
		}
		st.stats.Steps++
		r := StepReport{Step: st.steps, Loss: loss, LR: lr, GradNorm: norm, Tokens: N * accum * B * T, EvalLoss: math.NaN(), Resumed: resumed, Setup: setup}
		if evalData != nil && cfg.EvalEvery > 0 && (st.steps%cfg.EvalEvery == 0 || st.steps == cfg.Steps) {
			if r.EvalLoss, err = Evaluate(m, tp, evalData, max(cfg.EvalBatches, 1)); err != nil {
				return fmt.Errorf("train: step %d: eval: %w", st.steps, err)
			}
		}
		saving := (cfg.CheckpointEvery > 0 && st.steps%cfg.CheckpointEvery == 0) || st.steps == end
		r.Saved = saving && cfg.CheckpointPath != ""
		r.Elapsed = time.Since(start)
		if report != nil {
			if err := report(r); err != nil {
				return err
			}
		}
		if saving {
			if err := save(); err != nil {
				return fail(st.steps, err)
			}
			if r.Saved && cfg.Saved != nil {
				if err := cfg.Saved(st.steps); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addTo adds src into dst across the pool (elementwise: the split changes
// nothing).
func addTo(pool *tensor.Pool, dst, src []float32) {
	if pool == nil {
		kernel.AddTo(dst, src)
		return
	}
	pool.For(len(dst), adamChunk, func(s, e int) { kernel.AddTo(dst[s:e], src[s:e]) })
}
