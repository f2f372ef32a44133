// Reference: ZeRO (Rajbhandari et al. 2020) §7 (communication volume: 2Ψ per step for plain data parallelism and
// for P_os, Ψ·(N−1)/N for each reduce-scatter or all-gather); /work/shared/tools/benchpair.py's method
// (configurations measured in alternating rounds, medians).

package train

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/tensor"
)

// dpMeasureEnv, set to "1", runs TestDataParallelMeasure.
const dpMeasureEnv = "GPTGO_DP_MEASURE"

// TestDataParallelVolume: the elements a rank passes to its collectives in
// a step follow ZeRO's accounting, counted by the trainer (DPStats), for
// 2 ranks of the two-layer toy model (Ψ = 4,096 floats): ZeRO-1 reduce-scatters the
// gradient once per step (Ψ) and all-gathers the weights (Ψ); ZeRO-2
// reduce-scatters each of the step's A micro-batches (A·Ψ). Clipping
// all-gathers the reduced gradient for the exact norm (Ψ more); without
// it the ranks exchange one float64 each (2N floats). The losses add
// 2·A·N floats, the stop flag one all-reduced float.
func TestDataParallelVolume(t *testing.T) {
	shard := randomShard(t, t.TempDir())
	const psi, N = 4096, 2
	for _, c := range []struct {
		zero, accum int
		clip        float64
	}{{1, 1, 0}, {1, 1, 1}, {1, 2, 1}, {2, 2, 0}, {2, 1, 1}} {
		var st DPStats
		mustRun(t, dpCase{ranks: N, accum: c.accum, zero: c.zero, bucket: 300, steps: 3, clip: c.clip, stats: &st}, shard)
		rs := int64(psi)
		if c.zero == 2 {
			rs = int64(c.accum * psi)
		}
		norm := int64(2 * N)
		if c.clip > 0 {
			norm = psi
		}
		ag := psi + norm + int64(2*c.accum*N)
		// Before the first step the ranks all-gather their settings' hash
		// (2N) and the weights are broadcast (Ψ); with no checkpoint path
		// nothing else is.
		if st.BroadcastElems != psi || st.AllReduceElems != 3 || st.ReduceScatterElems != 3*rs || st.AllGatherElems != 2*N+3*ag {
			t.Errorf("ZeRO-%d, accum %d, clip %v: %+v; want per step reduce-scatter %d, all-gather %d", c.zero, c.accum, c.clip, st, rs, ag)
		}
	}
}

// TestDataParallelMeasure prints step times and bytes per rank of a
// 0.86M-parameter model (V 512, C 128, 4 layers, B 4 × T 64 per rank) on
// 2 ranks, in-process and over TCP on loopback, against one process
// accumulating the same 2 micro-batches: GPTGO_DP_MEASURE=1 go test
// ./train/ -run TestDataParallelMeasure -v (docs/distributed.md).
func TestDataParallelMeasure(t *testing.T) {
	if os.Getenv(dpMeasureEnv) != "1" {
		t.Skip("set " + dpMeasureEnv + "=1 to measure (about a minute)")
	}
	dir := t.TempDir()
	shard := dir + "/measure.tok"
	writeRandomTokens(t, shard, 512, 200_000)
	const steps = 8
	type result struct {
		times []float64 // steps 2…steps of every round, seconds
		cpu   []float64 // the process's CPU seconds (every rank's threads) per step, steps 2…steps, one per round
		sent  []float64 // bytes rank 0 sent per step, by operation (TCP only)
		st    DPStats
	}
	type conf struct {
		name      string
		ranks     int // 0: plain Train; −2: two plain Trains at once, one micro-batch each (no collective)
		tcp       bool
		zero, bkt int
	}
	confs := []conf{
		{"one process, accum 2", 0, false, 0, 0},
		{"2 plain loops at once, no collective", -2, false, 0, 0},
		{"2 ranks in-process, ZeRO-1", 2, false, 1, 1 << 16},
		{"2 ranks TCP, ZeRO-1", 2, true, 1, 1 << 16},
		{"2 ranks TCP, ZeRO-1, one bucket", 2, true, 1, -1},
		{"2 ranks TCP, ZeRO-2", 2, true, 2, 1 << 16},
	}
	res := make([]result, len(confs))
	for round := range 3 {
		for ci, c := range confs {
			cfg := PretrainConfig{
				Steps: steps, Accum: 1, ClipNorm: 1, Schedule: Schedule{MaxLR: 1e-3, MinLR: 1e-4, Warmup: 2, Decay: steps},
				AdamW: DefaultAdamW, ZeRO: c.zero, BucketElems: c.bkt, DPStats: &res[ci].st,
			}
			switch c.ranks {
			case 0:
				cfg.Accum, cfg.DPStats = 2, nil
			case -2:
				cfg.DPStats = nil
			}
			var times []float64
			var cpu0, cpu1 float64
			report := func(s StepReport) error {
				if s.Step > 1 {
					times = append(times, s.Elapsed.Seconds())
				}
				if s.Step == 1 {
					_, _, cpu0 = usage()
				}
				_, _, cpu1 = usage()
				return nil
			}
			rank := func(coll Collective, threads int) error {
				m := newLlama(t, 4, 0.02, 512, 128, 4, 4, 344, 4)
				pool := tensor.NewPool(threads)
				defer pool.Close()
				data, err := NewLoader([]string{shard}, 4, 64, true, 3)
				if err != nil {
					return err
				}
				rc := cfg
				rc.Coll = coll
				rep := report
				if coll != nil && coll.Rank() != 0 || threads < 0 {
					rep, rc.DPStats = nil, nil
				}
				threads = max(threads, 1)
				return Pretrain(context.Background(), m, pool, data, nil, rc, rep)
			}
			var err error
			switch {
			case c.ranks == 0:
				err = rank(nil, 2)
			case c.ranks == -2:
				// The second loop reports nothing (threads −1 marks it).
				errs := make(chan error, 1)
				go func() { errs <- rank(nil, -1) }()
				err = errors.Join(rank(nil, 1), <-errs)
			case !c.tcp:
				err = RunLocalRanks(2, func(coll Collective) error { return rank(coll, 1) })
			default:
				cs := tcpPair(t)
				err = runEach(cs, func(coll *TCPCollective) error { return rank(coll, 1) })
				s := cs[0].Stats()
				res[ci].sent = []float64{float64(s.ReduceScatter.Sent) / steps, float64(s.AllGather.Sent) / steps,
					float64(s.AllReduce.Sent) / steps, float64(s.Broadcast.Sent) / steps}
				for _, c := range cs {
					c.Close()
				}
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			res[ci].times = append(res[ci].times, times...)
			res[ci].cpu = append(res[ci].cpu, (cpu1-cpu0)/(steps-1))
			t.Logf("round %d %s: %v", round, c.name, times)
		}
	}
	var sb strings.Builder
	base, baseCPU := median(res[0].times), median(res[0].cpu)
	for ci, c := range confs {
		r := res[ci]
		fmt.Fprintf(&sb, "%-34s step %.3f s (median of %d, ×%.2f), CPU %.3f s/step (×%.2f)", c.name, median(r.times), len(r.times), median(r.times)/base,
			median(r.cpu), median(r.cpu)/baseCPU)
		if c.ranks > 0 {
			steps := float64(3 * steps)
			fmt.Fprintf(&sb, "  comm %.3f s/step, waited %.3f s/step after the backward, %d of %d buckets handed over during the backward",
				r.st.Comm/steps, r.st.Wait/steps, r.st.EarlyBuckets, r.st.Buckets)
		}
		if r.sent != nil {
			fmt.Fprintf(&sb, "  sent/step: reduce-scatter %.0f B, all-gather %.0f B, all-reduce %.0f B (last round; broadcast %.0f B over the run)",
				r.sent[0], r.sent[1], r.sent[2], r.sent[3]*steps)
		}
		sb.WriteString("\n")
	}
	t.Logf("Ψ = %d floats (%d bytes)\n%s", dpMeasureParams(t), 4*dpMeasureParams(t), sb.String())
}

func dpMeasureParams(t *testing.T) int {
	n := 0
	for _, p := range newLlama(t, 4, 0.02, 512, 128, 4, 4, 344, 4).Params() {
		n += len(p.Data)
	}
	return n
}

func writeRandomTokens(t *testing.T, p string, vocab, n int) {
	t.Helper()
	toks := make([]int32, n)
	x := uint64(1)
	for i := range toks {
		x = x*6364136223846793005 + 1442695040888963407
		toks[i] = int32(x >> 33 % uint64(vocab))
	}
	writeTokens(t, p, vocab, toks)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// tcpPair forms a TCP group of 2 on loopback.
func tcpPair(t *testing.T) []*TCPCollective {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	cs := make([]*TCPCollective, 2)
	errs := make([]error, 2)
	done := make(chan int, 2)
	for r := range 2 {
		go func() {
			cfg := TCPConfig{Rank: r, Size: 2, Addr: addr, ConnectTimeout: 30 * time.Second}
			if r == 0 {
				cfg.Listener = l
			}
			cs[r], errs[r] = NewTCPCollective(context.Background(), cfg)
			done <- r
		}()
	}
	<-done
	<-done
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return cs
}

// runEach runs f on every rank of cs, each on its own goroutine.
func runEach(cs []*TCPCollective, f func(*TCPCollective) error) error {
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- f(c) }()
	}
	var first error
	for range cs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
