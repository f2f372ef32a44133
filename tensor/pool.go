// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_graph_compute_thread: persistent threads, rows split by ith/nth).

package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a set of persistent worker goroutines that split work by rows.
// Results never depend on the number of workers: every output element is
// computed by exactly one worker with the same sequence of operations.
//
// A Pool runs one operation at a time; give each concurrent session its own
// Pool (or serialise calls). The zero Pool is not usable: call NewPool.
type Pool struct {
	n       int
	jobs    []chan *job
	wg      sync.WaitGroup
	closing sync.Once

	// One operation at a time, so the job descriptor and the MatMul state
	// are reused by every call: after warm-up, For with a task of the pool's
	// own and MatMul allocate nothing.
	job     job
	mm      matmulTask
	quant   quantTask
	gh      gemmHalfTask
	scratch []byte    // activation buffer reused by MatMul
	xd      []float32 // MatMul's activation scales for the scaled tiles
	xh      []float32 // rounded activations reused by MatMul's GEMM path
}

// task is a unit of row-split work: run handles items [start, end).
type task interface{ run(start, end int) }

// funcTask adapts a plain function (func values are pointer-shaped, so the
// conversion to task does not allocate).
type funcTask func(start, end int)

func (f funcTask) run(start, end int) { f(start, end) }

type job struct {
	n, chunk int
	next     atomic.Int64
	t        task
	done     sync.WaitGroup
}

// NewPool starts a pool of n workers (n <= 0 means runtime.NumCPU()).
// The calling goroutine counts as one of them.
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, jobs: make([]chan *job, n-1)}
	for i := range p.jobs {
		p.jobs[i] = make(chan *job, 1)
		p.wg.Add(1)
		go p.worker(p.jobs[i])
	}
	return p
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return p.n }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closing.Do(func() {
		for _, c := range p.jobs {
			close(c)
		}
		p.wg.Wait()
	})
}

func (p *Pool) worker(c chan *job) {
	defer p.wg.Done()
	for j := range c {
		j.run()
		j.done.Done()
	}
}

// run takes chunks until none is left. Chunks are handed out dynamically, so
// a starved core does not hold the others back; which worker computes a
// chunk never changes what it computes.
func (j *job) run() {
	for {
		start := int(j.next.Add(int64(j.chunk))) - j.chunk
		if start >= j.n {
			return
		}
		j.t.run(start, min(start+j.chunk, j.n))
	}
}

// For calls fn over [0, n) in chunks of at most chunk items, spread over the
// workers, and returns when all are done.
func (p *Pool) For(n, chunk int, fn func(start, end int)) {
	p.forTask(n, chunk, funcTask(fn))
}

func (p *Pool) forTask(n, chunk int, t task) {
	if n <= 0 {
		return
	}
	if chunk <= 0 {
		chunk = 1
	}
	if p.n == 1 || n <= chunk {
		for s := 0; s < n; s += chunk {
			t.run(s, min(s+chunk, n))
		}
		return
	}
	j := &p.job
	j.n, j.chunk, j.t = n, chunk, t
	j.next.Store(0)
	helpers := min(p.n-1, (n+chunk-1)/chunk-1)
	j.done.Add(helpers)
	for i := 0; i < helpers; i++ {
		p.jobs[i] <- j
	}
	j.run()
	j.done.Wait()
	j.t = nil // drop the reference to the caller's data
}
