// Reference: getrusage(2) (ru_minflt, ru_stime); docs/training.md "The first step (issue #30)".

package train

import (
	"testing"
	"time"

	"github.com/gptgo/gptgo/train/autograd"
)

// BenchmarkTrainPhases is BenchmarkTrainStep cut into its phases, so
// that the first step's excess can be put where it arises: making the
// optimizer (its state mapped), the forward, the backward, and the
// optimizer's update with ZeroGrad. For each phase it reports the first
// step's wall seconds, CPU seconds, system seconds and minor page faults
// (first-fwd-s, first-fwd-cpu-s, first-fwd-sys-s, first-fwd-faults, …)
// and the mean wall and CPU seconds of the later steps (steady-fwd-s, …).
// Its name leaves out "TrainStep" so that -bench 'TrainStep/…' (as
// tools/torchbench/pair.py runs it) does not run it first in the same
// process, where its steps would map the memory the measured run reuses.
//
//	go test -run XXX -bench 'TrainPhases/0.9M' -benchtime 3x ./train/
func BenchmarkTrainPhases(b *testing.B) {
	for _, c := range benchShapes {
		b.Run(c.name, func(b *testing.B) {
			m, pool, tokens, targets := c.setup(b)
			defer pool.Close()
			tp := autograd.NewTape(pool)
			var opt *AdamW
			var first, sum [4]phase // adamw, fwd, bwd, opt
			steps := 0
			for b.Loop() {
				var p [4]phase
				var loss *autograd.Var
				if opt == nil {
					p[0].time(func() {
						var err error
						if opt, err = NewAdamW(m.params(), DefaultAdamW, pool); err != nil {
							b.Fatal(err)
						}
					})
				}
				p[1].time(func() { tp.Reset(); loss = m.forward(tp, tokens, targets, c.T) })
				p[2].time(func() {
					if err := tp.Backward(loss, 1); err != nil {
						b.Fatal(err)
					}
				})
				p[3].time(func() { opt.Step(1e-4); opt.ZeroGrad() })
				if steps == 0 {
					first = p
				} else {
					for i := range sum {
						sum[i].wall, sum[i].cpu = sum[i].wall+p[i].wall, sum[i].cpu+p[i].cpu
					}
				}
				steps++
			}
			for i, name := range []string{"adamw-new", "fwd", "bwd", "opt"} {
				b.ReportMetric(first[i].wall, "first-"+name+"-s")
				b.ReportMetric(first[i].cpu, "first-"+name+"-cpu-s")
				b.ReportMetric(first[i].sys, "first-"+name+"-sys-s")
				b.ReportMetric(float64(first[i].faults), "first-"+name+"-faults")
				if steps > 1 && i > 0 {
					b.ReportMetric(sum[i].wall/float64(steps-1), "steady-"+name+"-s")
					b.ReportMetric(sum[i].cpu/float64(steps-1), "steady-"+name+"-cpu-s")
				}
			}
		})
	}
}

// phase is one phase's wall, CPU and system seconds and minor faults.
type phase struct {
	wall, cpu, sys float64
	faults         int64
}

func (p *phase) time(fn func()) {
	f0, s0, c0 := usage()
	t0 := time.Now()
	fn()
	p.wall = time.Since(t0).Seconds()
	f1, s1, c1 := usage()
	p.faults, p.sys, p.cpu = f1-f0, s1-s0, c1-c0
}
