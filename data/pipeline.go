// The stage runner: documents flow in batches through fused groups of
// parallel (Map) and in-order (Seq) steps, after datatrove's PipelineStep
// chain and the ordered-parallel design of Dolma's mixer.

package data

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is one step of a pipeline, made of plain functions over documents so
// that the same code can run inside another engine (see docs/data.md).
// A function marks a document rejected by setting d.Drop to a short reason.
type Stage struct {
	Name string
	// Map runs on every core, on one document at a time in any order. It may
	// rewrite d.Text and d.scratch but must not touch shared state.
	Map func(d *Doc)
	// Seq runs on one goroutine, in input order, after Map: the home of state
	// that spans documents (dedup sets, the shard writer).
	Seq func(d *Doc)
	// Count, when set, makes the pipeline read its input twice: the first
	// pass runs the stages before this one and then Count on every surviving
	// document; the second pass runs everything. At most one stage may count.
	Count func(d *Doc)
	// Finish runs once after the last document; it may fill counters and
	// clusters in the stage's report and flush output.
	Finish func(r *StageReport) error
}

// Progress is a snapshot of a running pipeline.
type Progress struct {
	Pass         int   // 1, or 2 during the counting pre-pass's main pass
	Docs, Bytes  int64 // read so far
	Kept         int64 // documents that left the last stage
	Elapsed      time.Duration
	DocsPS, MBPS float64
}

// Pipeline runs stages over a document source.
type Pipeline struct {
	// Build returns fresh stages. It is called once per pass, so a counting
	// pre-pass never shares state with the main pass's earlier stages.
	Build func() ([]Stage, error)
	// Workers for Map steps (0: all cores).
	Workers int
	// BatchDocs documents travel together, to keep channel overhead small.
	BatchDocs int
	// Progress, if set, is called about twice a second.
	Progress func(Progress)
	// Rejected, if set, receives every dropped document in input order, so
	// that a run can say of each document why it was dropped.
	Rejected func(*Doc) error
}

// Source reads the corpus and hands each document to emit, in a fixed order.
type Source func(ctx context.Context, emit Emit) error

type batch struct {
	seq  int64
	docs []*Doc
}

// step is a fused run of consecutive functions of one kind.
type step struct {
	parallel bool
	fns      []stepFn
}

type stepFn struct {
	stage       int
	name        string
	fn          func(*Doc)
	first, last bool // the stage's first / last function: where in/out are counted
}

// Run pushes every document of src through the stages; sink (may be nil)
// receives the survivors in input order.
func (p *Pipeline) Run(ctx context.Context, src Source, sink func(*Doc) error) (*Report, error) {
	main, err := p.Build()
	if err != nil {
		return nil, err
	}
	counting := -1
	for i, s := range main {
		if s.Count != nil {
			if counting >= 0 {
				return nil, fmt.Errorf("data: stages %q and %q both need a counting pass; only one may", main[counting].Name, s.Name)
			}
			counting = i
		}
	}
	start := time.Now()
	if counting >= 0 {
		pre, err := p.Build()
		if err != nil {
			return nil, err
		}
		stages := append(pre[:counting:counting], Stage{Name: main[counting].Name + " (count)", Seq: main[counting].Count})
		if _, err := p.run(ctx, 0, stages, src, nil, start); err != nil {
			return nil, err
		}
	}
	rep, err := p.run(ctx, 1, main, src, sink, start)
	if err != nil {
		return nil, err
	}
	for i, s := range main {
		if s.Finish != nil {
			if err := s.Finish(&rep.Stages[i]); err != nil {
				return rep, fmt.Errorf("data: stage %s: %w", s.Name, err)
			}
		}
	}
	rep.Finish(time.Since(start))
	return rep, nil
}

// counters are one batch's (or the whole run's) per-stage tallies.
type counters struct {
	in, out, bytesIn, bytesOut []int64
	reasons                    []map[string]int64
}

func newCounters(n int) *counters {
	c := &counters{make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]map[string]int64, n)}
	for i := range c.reasons {
		c.reasons[i] = map[string]int64{}
	}
	return c
}

func (c *counters) add(o *counters) {
	for i := range c.in {
		c.in[i] += o.in[i]
		c.out[i] += o.out[i]
		c.bytesIn[i] += o.bytesIn[i]
		c.bytesOut[i] += o.bytesOut[i]
		for r, n := range o.reasons[i] {
			c.reasons[i][r] += n
		}
	}
}

func plan(stages []Stage) []step {
	var steps []step
	addFn := func(par bool, f stepFn) {
		if n := len(steps); n > 0 && steps[n-1].parallel == par {
			steps[n-1].fns = append(steps[n-1].fns, f)
			return
		}
		steps = append(steps, step{parallel: par, fns: []stepFn{f}})
	}
	for i, s := range stages {
		if s.Map != nil {
			addFn(true, stepFn{stage: i, name: s.Name, fn: s.Map, first: true, last: s.Seq == nil})
		}
		if s.Seq != nil {
			addFn(false, stepFn{stage: i, name: s.Name, fn: s.Seq, first: s.Map == nil, last: true})
		}
		if s.Map == nil && s.Seq == nil { // a pass-through stage still shows in the report
			addFn(false, stepFn{stage: i, name: s.Name, fn: func(*Doc) {}, first: true, last: true})
		}
	}
	return steps
}

// apply runs a fused step over one batch and tallies it in c.
func (st step) apply(b *batch, c *counters) {
	for _, d := range b.docs {
		for _, f := range st.fns {
			if d.Dropped() {
				break
			}
			if f.first {
				c.in[f.stage]++
				c.bytesIn[f.stage] += int64(len(d.Text))
			}
			f.fn(d)
			if d.Dropped() {
				c.reasons[f.stage][d.Drop]++
				d.DroppedBy = f.name
				continue
			}
			if f.last {
				c.out[f.stage]++
				c.bytesOut[f.stage] += int64(len(d.Text))
			}
		}
	}
}

func (p *Pipeline) run(ctx context.Context, pass int, stages []Stage, src Source, sink func(*Doc) error, start time.Time) (*Report, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bsize := p.BatchDocs
	if bsize <= 0 {
		bsize = 64
	}
	total := newCounters(len(stages))
	var mu sync.Mutex
	merge := func(c *counters) { mu.Lock(); total.add(c); mu.Unlock() }

	var docsRead, bytesRead, kept atomic.Int64
	var wg sync.WaitGroup
	first := make(chan *batch, workers*2)
	in := first
	for _, st := range plan(stages) {
		out := make(chan *batch, workers*2)
		if st.parallel {
			runParallel(ctx, &wg, st, in, out, workers, len(stages), merge)
		} else {
			wg.Add(1)
			go func(in <-chan *batch, out chan<- *batch) {
				defer wg.Done()
				defer close(out)
				for b := range in {
					c := newCounters(len(stages))
					st.apply(b, c)
					merge(c)
					select {
					case out <- b:
					case <-ctx.Done():
						return
					}
				}
			}(in, out)
		}
		in = out
	}
	// The sink drains the last channel in order.
	sinkErr := make(chan error, 1)
	go func() {
		var err error
		for b := range in {
			for _, d := range b.docs {
				if err != nil {
					continue
				}
				if d.Dropped() {
					if p.Rejected != nil && pass == 1 {
						if err = p.Rejected(d); err != nil {
							cancel(err)
						}
					}
					continue
				}
				kept.Add(1)
				if sink != nil {
					if err = sink(d); err != nil {
						cancel(err)
					}
				}
			}
		}
		sinkErr <- err
	}()
	stopProgress := make(chan struct{})
	if p.Progress != nil {
		go func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					p.Progress(snapshot(pass, &docsRead, &bytesRead, &kept, start))
				}
			}
		}()
	}
	// Read on this goroutine, batching documents.
	var seq int64
	cur := &batch{}
	send := func() bool {
		if len(cur.docs) == 0 {
			return true
		}
		cur.seq = seq
		seq++
		select {
		case first <- cur:
		case <-ctx.Done():
			return false
		}
		cur = &batch{docs: make([]*Doc, 0, bsize)}
		return true
	}
	readErr := src(ctx, func(d *Doc) error {
		d.seq = docsRead.Add(1) - 1
		bytesRead.Add(int64(len(d.Text)))
		cur.docs = append(cur.docs, d)
		if len(cur.docs) >= bsize && !send() {
			return context.Cause(ctx)
		}
		return nil
	})
	if readErr == nil {
		send()
	}
	close(first)
	wg.Wait()
	err := <-sinkErr
	close(stopProgress)
	if p.Progress != nil {
		p.Progress(snapshot(pass, &docsRead, &bytesRead, &kept, start))
	}
	if readErr != nil {
		return nil, readErr
	}
	if err != nil {
		return nil, err
	}
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return nil, err
	}
	rep := &Report{DocsIn: docsRead.Load(), BytesIn: bytesRead.Load()}
	for i, s := range stages {
		rep.Stages = append(rep.Stages, StageReport{Name: s.Name, DocsIn: total.in[i], DocsOut: total.out[i],
			BytesIn: total.bytesIn[i], BytesOut: total.bytesOut[i], Dropped: total.reasons[i]})
	}
	return rep, nil
}

func snapshot(pass int, docs, bytes, kept *atomic.Int64, start time.Time) Progress {
	el := time.Since(start)
	s := el.Seconds()
	if s <= 0 {
		s = 1e-9
	}
	d, b := docs.Load(), bytes.Load()
	return Progress{Pass: pass, Docs: d, Bytes: b, Kept: kept.Load(), Elapsed: el, DocsPS: float64(d) / s, MBPS: float64(b) / s / 1e6}
}

// runParallel processes batches on n workers and re-emits them in sequence
// order, so that the serial steps downstream see the input order.
func runParallel(ctx context.Context, wg *sync.WaitGroup, st step, in <-chan *batch, out chan<- *batch, n, nStages int, merge func(*counters)) {
	// tokens bounds the batches inside this step, so that one slow batch
	// cannot make the reorder buffer grow without limit.
	tokens := make(chan struct{}, 4*n)
	work := make(chan *batch)
	go func() {
		defer close(work)
		for b := range in {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	done := make(chan *batch, n*2)
	var workers sync.WaitGroup
	for range n {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for b := range work {
				c := newCounters(nStages)
				st.apply(b, c)
				merge(c)
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { workers.Wait(); close(done) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		pending := map[int64]*batch{}
		var next int64
		for b := range done {
			pending[b.seq] = b
			for {
				nb, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				<-tokens
				select {
				case out <- nb:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
}

// sortedReasons lists a reason histogram largest first.
func sortedReasons(m map[string]int64) []ReasonCount {
	out := make([]ReasonCount, 0, len(m))
	for r, n := range m {
		out = append(out, ReasonCount{r, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}
