// Reference: ZeRO (Rajbhandari et al. 2020) §5.1: partitioning the optimizer state and the gradients changes
// the memory, not the update; PyTorch DDP §3.2: N ranks × micro-batch b compute the gradient of the batch N·b.

package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// randomShard writes 4,000 tokens drawn uniformly from an 11-token
// vocabulary, so that every micro-batch has a gradient of its own.
func randomShard(t *testing.T, dir string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	toks := make([]int32, 4000)
	for i := range toks {
		toks[i] = int32(rng.IntN(11))
	}
	p := filepath.Join(dir, "random")
	writeTokens(t, p, 11, toks)
	return p
}

// dpCase is one training run of the data-parallel tests.
type dpCase struct {
	ranks  int // 0: plain single-process Train (no collective)
	accum  int
	zero   int
	bucket int // BucketElems
	B      int // sequences per micro-batch (T is 8)
	steps  int
	stopAt int
	clip   float64
	ckpt   string
	// wrap, when set, replaces rank r's collective (a failing transport).
	wrap func(r int, c Collective) Collective
	// stats, when set, receives rank 0's DPStats.
	stats *DPStats
	// interruptAfter, when positive, cancels rank 1's context once rank 0
	// has reported that step (SIGINT reaching one rank).
	interruptAfter int
}

// dpResult is rank 0's weights and every step's report.
type dpResult struct {
	weights [][]float32
	reports []StepReport
}

// run trains a two-layer toy model. Every rank draws its own starting
// weights (seed 4+rank): rank 0's reach the others by the broadcast, so a
// run's weights do not depend on the number of ranks.
func (c dpCase) run(t *testing.T, shard string) (dpResult, error) {
	t.Helper()
	cfg := PretrainConfig{
		Steps: c.steps, StopAt: c.stopAt, Accum: c.accum, ClipNorm: c.clip,
		Schedule:       Schedule{MaxLR: 3e-2, MinLR: 3e-3, Warmup: 2, Decay: 10},
		AdamW:          AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01},
		CheckpointPath: c.ckpt, CheckpointEvery: 2, Meta: map[string]string{"arch": "toy"},
		ZeRO: c.zero, BucketElems: c.bucket,
	}
	B := max(c.B, 2)
	var res dpResult
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	rank := func(coll Collective) error {
		r := 0
		if coll != nil {
			r = coll.Rank()
		}
		m := newLlama(t, uint64(4+r), 0.1, 11, 16, 4, 2, 24, 2)
		pool := tensor.NewPool(1)
		defer pool.Close()
		data, err := NewLoader([]string{shard}, B, 8, true, 3)
		if err != nil {
			return err
		}
		rc := cfg
		rc.Coll = coll
		if r == 0 {
			rc.DPStats = c.stats
		}
		var report func(StepReport) error
		if r == 0 {
			report = func(s StepReport) error {
				res.reports = append(res.reports, s)
				if s.Step == c.interruptAfter {
					cancel1()
				}
				return nil
			}
		}
		ctx := context.Background()
		if r == 1 {
			ctx = ctx1
		}
		err = Pretrain(ctx, m, pool, data, nil, rc, report)
		if r == 0 {
			for _, p := range m.Params() {
				res.weights = append(res.weights, append([]float32(nil), p.Data...))
			}
		}
		return err
	}
	if c.ranks == 0 {
		return res, rank(nil)
	}
	return res, RunLocalRanks(c.ranks, func(coll Collective) error {
		if c.wrap != nil {
			coll = c.wrap(coll.Rank(), coll)
		}
		return rank(coll)
	})
}

func mustRun(t *testing.T, c dpCase, shard string) dpResult {
	t.Helper()
	r, err := c.run(t, shard)
	if err != nil {
		t.Fatalf("%+v: %v", c, err)
	}
	return r
}

// sameBits fails unless a and b hold the same float32 bits and report
// the same losses and gradient norms.
func sameBits(t *testing.T, what string, a, b dpResult) {
	t.Helper()
	sameWeights(t, what, a, b, true)
}

// sameWeights is sameBits, with the gradient norms compared only when
// norms is set: without clipping a rank sums the squares of its own pieces
// of the gradient, so the reported norm's last bits depend on how the
// buckets cut the parameters (dpState.gradNorm).
func sameWeights(t *testing.T, what string, a, b dpResult, norms bool) {
	t.Helper()
	for i := range a.weights {
		for j := range a.weights[i] {
			if math.Float32bits(a.weights[i][j]) != math.Float32bits(b.weights[i][j]) {
				t.Fatalf("%s: parameter %d element %d: %v against %v", what, i, j, a.weights[i][j], b.weights[i][j])
			}
		}
	}
	if len(a.reports) != len(b.reports) {
		t.Fatalf("%s: %d and %d steps", what, len(a.reports), len(b.reports))
	}
	for i := range a.reports {
		ra, rb := a.reports[i], b.reports[i]
		if ra.Loss != rb.Loss || (norms && ra.GradNorm != rb.GradNorm) {
			t.Fatalf("%s: step %d: loss %v norm %v against loss %v norm %v", what, ra.Step, ra.Loss, ra.GradNorm, rb.Loss, rb.GradNorm)
		}
	}
}

// dpMaxDiff is the largest |a−b| over the weights.
func dpMaxDiff(a, b dpResult) float64 {
	var d float64
	for i := range a.weights {
		for j := range a.weights[i] {
			d = max(d, math.Abs(float64(a.weights[i][j])-float64(b.weights[i][j])))
		}
	}
	return d
}

// TestDataParallelEqualsAccumulation: N ranks (2 and 4) with one
// micro-batch of b=2 each end 6 steps with the weights, losses and
// gradient norms of one process accumulating N micro-batches of 2 (each
// micro-batch's gradient made from zero and added, in the same order:
// `--data-parallel 1 --accum N`), bit for bit, with ZeRO-1 and ZeRO-2,
// clipping on (the exact norm) and with buckets small enough (300 floats
// of the two-layer model's 4,096) that most are reduced while the backward runs.
// Plain single-process Train, which accumulates inside the backward's
// kernels, and one process with one batch of N·b=2N sequences agree within
// 1e-4 (measured: 1.2e-7 to 2.9e-6 after 6 steps at learning rates up to
// 3e-2; AdamW's normalised step can turn the float32 rounding of a
// near-zero gradient into a sizeable fraction of a learning rate, hence
// the bound's margin).
func TestDataParallelEqualsAccumulation(t *testing.T) {
	shard := randomShard(t, t.TempDir())
	for _, n := range []int{2, 4} {
		ref := mustRun(t, dpCase{ranks: 1, accum: n, zero: 1, bucket: 300, steps: 6, clip: 1}, shard)
		for _, zero := range []int{1, 2} {
			var st DPStats
			got := mustRun(t, dpCase{ranks: n, accum: 1, zero: zero, bucket: 300, steps: 6, clip: 1, stats: &st}, shard)
			sameBits(t, fmt.Sprintf("%d ranks, ZeRO-%d", n, zero), got, ref)
			// Every step's backward but the first, which learns when the
			// gradients are complete, hands its buckets over while it runs
			// (the last, the embedding table's, at its last op).
			if st.Overlapped != 5 || st.Buckets < 6*3 || st.EarlyBuckets != 5*(st.Buckets/6) {
				t.Fatalf("%d ranks, ZeRO-%d: %d of 6 backwards overlapped, %d of %d buckets handed over early; want 5 and %d", n, zero, st.Overlapped, st.EarlyBuckets, st.Buckets, 5*(st.Buckets/6))
			}
		}
		plain := mustRun(t, dpCase{accum: n, steps: 6, clip: 1}, shard)
		one := mustRun(t, dpCase{accum: 1, B: 2 * n, steps: 6, clip: 1}, shard)
		d1, d2 := dpMaxDiff(plain, ref), dpMaxDiff(one, ref)
		t.Logf("%d ranks: max |Δw| against in-kernel accumulation %.3g, against one batch of %d: %.3g", n, d1, 2*n, d2)
		if d1 > 1e-4 || d2 > 1e-4 {
			t.Fatalf("%d ranks: max |Δw| %.3g (accumulation) %.3g (one batch), bound 1e-4", n, d1, d2)
		}
	}
}

// TestDataParallelZeROStages: without accumulation, ZeRO-2 equals ZeRO-1
// equals plain AdamW (one rank, one micro-batch: the single-process Train)
// bit for bit, clipped and not, with one bucket and with many; with
// 2 micro-batches per rank, ZeRO-2 sums the reduced micro-batches where
// ZeRO-1 reduces their local sum (another association of the same four
// gradients) and agrees within float32 rounding.
func TestDataParallelZeROStages(t *testing.T) {
	shard := randomShard(t, t.TempDir())
	for _, clip := range []float64{0, 1} {
		plain := mustRun(t, dpCase{accum: 1, steps: 5, clip: clip}, shard)
		one := mustRun(t, dpCase{ranks: 1, accum: 1, zero: 1, steps: 5, clip: clip}, shard)
		sameWeights(t, "one rank against Train", one, plain, clip > 0)
		z1 := mustRun(t, dpCase{ranks: 2, accum: 1, zero: 1, bucket: -1, steps: 5, clip: clip}, shard)
		z2 := mustRun(t, dpCase{ranks: 2, accum: 1, zero: 2, bucket: 200, steps: 5, clip: clip}, shard)
		sameWeights(t, "ZeRO-2 against ZeRO-1", z2, z1, clip > 0)
		if clip > 0 {
			// Plain AdamW on the summed gradient: one process, 2 micro-batches.
			ref := mustRun(t, dpCase{ranks: 1, accum: 2, zero: 1, steps: 5, clip: clip}, shard)
			sameBits(t, "ZeRO-1 against AdamW", z1, ref)
		}
		a1 := mustRun(t, dpCase{ranks: 2, accum: 2, zero: 1, bucket: 200, steps: 5, clip: clip}, shard)
		a2 := mustRun(t, dpCase{ranks: 2, accum: 2, zero: 2, bucket: 200, steps: 5, clip: clip}, shard)
		if d := dpMaxDiff(a1, a2); d > 2e-3 {
			t.Fatalf("2 ranks × 2 micro-batches: ZeRO-1 and ZeRO-2 differ by %.3g", d)
		}
	}
}

// TestDataParallelResumeOtherRanks: a checkpoint is the same file whatever
// the number of ranks that wrote it (4 ranks, or one process accumulating
// 4 micro-batches, stopped after step 3); a run resumed on another number
// of ranks continues as that many ranks continue from the same state:
// 2→4 ranks equals one process accumulating 4 resumed from the 2-rank
// checkpoint, 4→2 equals 2 ranks resumed from the one-process checkpoint,
// bit for bit; a resume on as many ranks equals the uninterrupted run.
// The global batch stays 4 micro-batches of 2 (Accum = 4/ranks).
func TestDataParallelResumeOtherRanks(t *testing.T) {
	dir := t.TempDir()
	shard := randomShard(t, dir)
	ck := func(name string) string { return filepath.Join(dir, name) }
	base := dpCase{zero: 1, bucket: 300, steps: 6, clip: 1}
	with := func(ranks int, ckpt string, stopAt int) dpCase {
		c := base
		c.ranks, c.accum, c.ckpt, c.stopAt = ranks, 4/ranks, ckpt, stopAt
		return c
	}
	mustRun(t, with(4, ck("four"), 3), shard)
	mustRun(t, with(1, ck("one"), 3), shard)
	four, err := os.ReadFile(ck("four"))
	if err != nil {
		t.Fatal(err)
	}
	one, err := os.ReadFile(ck("one"))
	if err != nil {
		t.Fatal(err)
	}
	if string(four) != string(one) {
		t.Fatal("the checkpoints of 4 ranks and of one process at step 3 differ")
	}
	mustRun(t, with(2, ck("two"), 3), shard)
	copyFile(t, ck("two"), ck("two-b"))
	got := mustRun(t, with(4, ck("two"), 0), shard) // 2 → 4
	want := mustRun(t, with(1, ck("two-b"), 0), shard)
	sameBits(t, "2→4 ranks", got, want)

	got = mustRun(t, with(2, ck("four"), 0), shard) // 4 → 2
	want = mustRun(t, with(2, ck("one"), 0), shard)
	sameBits(t, "4→2 ranks", got, want)

	mustRun(t, with(2, ck("two-c"), 3), shard)
	got = mustRun(t, with(2, ck("two-c"), 0), shard)
	want = mustRun(t, with(2, "", 0), shard)
	want.reports = want.reports[3:]
	sameBits(t, "2→2 ranks against uninterrupted", got, want)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dyingRank is a transport whose process died: after its first `after`
// calls every call fails, as a connection to a killed peer does.
type dyingRank struct {
	Collective
	after int64
	calls atomic.Int64
}

var errKilled = errors.New("killed (test)")

func (d *dyingRank) check() error {
	if d.calls.Add(1) > d.after {
		return errKilled
	}
	return nil
}
func (d *dyingRank) AllReduce(b []float32) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Collective.AllReduce(b)
}
func (d *dyingRank) ReduceScatter(b []float32) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Collective.ReduceScatter(b)
}
func (d *dyingRank) AllGather(b []float32) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Collective.AllGather(b)
}

// TestDataParallelRankDies: rank 2 of 3 dies in step 5 (its collective
// fails from then on); every rank stops with an error, the others' naming
// rank 2; the checkpoint of step 4 is intact, and resuming from it on 3
// ranks ends with the weights of the uninterrupted run, bit for bit.
func TestDataParallelRankDies(t *testing.T) {
	dir := t.TempDir()
	shard := randomShard(t, dir)
	ckpt := filepath.Join(dir, "ckpt")
	c := dpCase{ranks: 3, accum: 1, zero: 2, bucket: 300, steps: 6, clip: 1, ckpt: ckpt}
	// Rank 2's calls: 1 broadcast of the checkpoint head and 1 of the
	// weights, then per step the stop flag, the buckets, the losses, the
	// exact norm's and the weights' all-gathers; and the checkpoint's
	// gathers and status every 2 steps. Count the first 4 steps' calls by
	// running them.
	var calls atomic.Int64
	c4 := c
	c4.ckpt, c4.stopAt = filepath.Join(dir, "count"), 4
	c4.wrap = func(r int, coll Collective) Collective {
		if r != 2 {
			return coll
		}
		return &countRank{Collective: coll, n: &calls}
	}
	mustRun(t, c4, shard)
	c.wrap = func(r int, coll Collective) Collective {
		if r != 2 {
			return coll
		}
		return &dyingRank{Collective: coll, after: calls.Load() + 3} // into step 5's buckets
	}
	_, err := c.run(t, shard)
	if err == nil || !errors.Is(err, errKilled) || !strings.Contains(err.Error(), "rank 2 stopped") {
		t.Fatalf("error %v: want rank 2's death, named, in every rank's error", err)
	}
	if !strings.Contains(err.Error(), "step 5") {
		t.Fatalf("error %v: want step 5", err)
	}
	t.Logf("the ranks' errors:\n%v", err)
	pool := tensor.NewPool(1)
	defer pool.Close()
	m := newLlama(t, 4, 0.1, 11, 16, 4, 2, 24, 2)
	opt, err := NewAdamW(m.Params(), DefaultAdamW, pool)
	if err != nil {
		t.Fatal(err)
	}
	if ck, err := LoadCheckpoint(ckpt, opt); err != nil || ck.Step != 4 {
		t.Fatalf("checkpoint after the death: step %d, %v; want step 4", ck.Step, err)
	}
	c.wrap = nil
	got := mustRun(t, c, shard)
	c.ckpt = ""
	want := mustRun(t, c, shard)
	want.reports = want.reports[4:]
	sameBits(t, "resumed after a death", got, want)
}

// countRank counts a rank's collective calls.
type countRank struct {
	Collective
	n *atomic.Int64
}

func (c *countRank) AllReduce(b []float32) error { c.n.Add(1); return c.Collective.AllReduce(b) }
func (c *countRank) ReduceScatter(b []float32) error {
	c.n.Add(1)
	return c.Collective.ReduceScatter(b)
}
func (c *countRank) AllGather(b []float32) error { c.n.Add(1); return c.Collective.AllGather(b) }

// TestDataParallelShards: the memory ZeRO's stages promise, per rank, for
// 3 ranks of the two-layer toy model (Ψ = 4,096) in buckets of ≥ 500
// floats: the buckets cut the flat vector into runs of whole parameters,
// last parameters first; the ranks' owned pieces cover every element once,
// each rank owning Ψ/3 give or take one element per bucket; the moments
// are the owned length (2Ψ/N, not 2Ψ); ZeRO-1 keeps a second whole
// gradient only when it accumulates, ZeRO-2 never, and a shard of the
// summed gradient instead.
func TestDataParallelShards(t *testing.T) {
	const N = 3
	m := newLlama(t, 4, 0.1, 11, 16, 4, 2, 24, 2)
	psi := 0
	for _, p := range m.Params() {
		psi += len(p.Data)
	}
	cover := make([]int, psi)
	for _, c := range []struct{ zero, accum int }{{1, 1}, {1, 2}, {2, 2}} {
		clear(cover)
		group, err := NewLocalGroup(N)
		if err != nil {
			t.Fatal(err)
		}
		for r := range N {
			st, err := newDPState(m.Params(), DefaultAdamW, group[r], c.zero, 500, c.accum, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			end := psi
			for _, b := range st.buckets {
				if b.hi != end || b.lo != st.offs[b.first] || b.hi != st.offs[b.last]+len(m.Params()[b.last].Data) || (b.hi-b.lo < 500 && b.first != 0) {
					t.Fatalf("bucket %+v does not continue down from %d in whole parameters of ≥ 500 floats", b, end)
				}
				end = b.lo
				for i := b.ownLo; i < b.ownHi; i++ {
					cover[i]++
				}
			}
			if end != 0 {
				t.Fatalf("the buckets stop at %d", end)
			}
			if d := st.owned - psi/N; d < -len(st.buckets) || d > len(st.buckets) || len(st.M) != st.owned || len(st.V) != st.owned {
				t.Fatalf("rank %d owns %d of %d in %d buckets, moments %d and %d", r, st.owned, psi, len(st.buckets), len(st.M), len(st.V))
			}
			if wantAcc := c.zero == 1 && c.accum > 1; (st.acc != nil) != wantAcc || (st.gshard != nil) != (c.zero == 2) || (st.gshard != nil && len(st.gshard) != st.owned) {
				t.Fatalf("ZeRO-%d, accum %d: accumulation buffer %d, gradient shard %d", c.zero, c.accum, len(st.acc), len(st.gshard))
			}
		}
		for i, k := range cover {
			if k != 1 {
				t.Fatalf("ZeRO-%d: element %d owned by %d ranks", c.zero, i, k)
			}
		}
	}
}

// TestDataParallelInterruptOneRank: rank 1 of 2 is interrupted (its
// context cancelled) after rank 0 reports step 2: both ranks stop at the
// start of the same step (the stop flag is all-reduced), rank 1 with the
// context's error and rank 0 saying another rank was interrupted, after
// writing the checkpoint of the last step done; resuming it ends with the
// uninterrupted run's weights.
func TestDataParallelInterruptOneRank(t *testing.T) {
	dir := t.TempDir()
	shard := randomShard(t, dir)
	ckpt := filepath.Join(dir, "ckpt")
	c := dpCase{ranks: 2, accum: 1, zero: 1, bucket: 300, steps: 6, clip: 1, ckpt: ckpt, interruptAfter: 2}
	r, err := c.run(t, shard)
	// Rank 0 says another rank was interrupted, or, should rank 1 return
	// while rank 0's last collective is still being answered, that rank 1
	// stopped (RunLocalRanks).
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "another rank was interrupted") && !strings.Contains(err.Error(), "rank 1 stopped") {
		t.Fatalf("error %v: want rank 1's cancellation and rank 0's account of it", err)
	}
	done := len(r.reports) // rank 1 may see the cancellation at step 3's start or, having entered it, at step 4's
	if done != 2 && done != 3 {
		t.Fatalf("rank 0 reported %d steps, want 2 or 3", done)
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	opt, err := NewAdamW(newLlama(t, 4, 0.1, 11, 16, 4, 2, 24, 2).Params(), DefaultAdamW, pool)
	if err != nil {
		t.Fatal(err)
	}
	if ck, err := LoadCheckpoint(ckpt, opt); err != nil || ck.Step != done {
		t.Fatalf("checkpoint: step %d, %v; want step %d", ck.Step, err, done)
	}
	c.interruptAfter = 0
	got := mustRun(t, c, shard)
	c.ckpt = ""
	want := mustRun(t, c, shard)
	want.reports = want.reports[done:]
	sameBits(t, "resumed after an interruption", got, want)
}

// TestDataParallelSettingsDiffer: a rank started with another batch size
// (or any other setting) stops every rank before the first step, with an
// error naming it.
func TestDataParallelSettingsDiffer(t *testing.T) {
	shard := randomShard(t, t.TempDir())
	err := RunLocalRanks(3, func(c Collective) error {
		m := newLlama(t, 4, 0.1, 11, 16, 4, 2, 24, 2)
		B := 2
		if c.Rank() == 2 {
			B = 3
		}
		data, err := NewLoader([]string{shard}, B, 8, true, 3)
		if err != nil {
			return err
		}
		cfg := PretrainConfig{Steps: 2, Schedule: Schedule{MaxLR: 1e-2, MinLR: 1e-3, Warmup: 1, Decay: 2}, AdamW: DefaultAdamW, Coll: c}
		return Pretrain(context.Background(), m, nil, data, nil, cfg, nil)
	})
	if err == nil || !strings.Contains(err.Error(), "step 0: train: data-parallel: the settings of rank 2 differ from rank 0's") {
		t.Fatalf("error %v: want one naming rank 2, before step 1", err)
	}
}
