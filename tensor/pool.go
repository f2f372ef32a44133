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

	scratch []byte // activation buffer reused by MatMul
}

type job struct {
	n, chunk int
	next     atomic.Int64
	fn       func(start, end int)
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

func (j *job) run() {
	for {
		start := int(j.next.Add(int64(j.chunk))) - j.chunk
		if start >= j.n {
			return
		}
		j.fn(start, min(start+j.chunk, j.n))
	}
}

// For calls fn over [0, n) in chunks of at most chunk items, spread over the
// workers, and returns when all are done. Chunks are handed out dynamically,
// so a starved core does not hold the others back.
func (p *Pool) For(n, chunk int, fn func(start, end int)) {
	if n <= 0 {
		return
	}
	if chunk <= 0 {
		chunk = 1
	}
	if p.n == 1 || n <= chunk {
		for s := 0; s < n; s += chunk {
			fn(s, min(s+chunk, n))
		}
		return
	}
	j := &job{n: n, chunk: chunk, fn: fn}
	helpers := min(p.n-1, (n+chunk-1)/chunk-1)
	j.done.Add(helpers)
	for i := 0; i < helpers; i++ {
		p.jobs[i] <- j
	}
	j.run()
	j.done.Wait()
}
