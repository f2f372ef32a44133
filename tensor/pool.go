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
	helpers []helper
	wg      sync.WaitGroup
	closing sync.Once
	gen     atomic.Uint64 // even: the job is ready; odd: it is being rewritten
	active  atomic.Int32  // helpers inside the job
	closed  atomic.Bool

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

// helper is one worker goroutine's wake-up channel and whether it is parked
// on it (only a parked helper is sent a wake-up).
type helper struct {
	wake   chan struct{}
	parked atomic.Bool
}

// spinWait is how many polls of the generation counter a helper makes after
// its last job before it parks (0.08–0.27 ms measured here); yieldEvery polls
// a spinning goroutine yields its P, so that a pool with more workers than
// GOMAXPROCS, or a program with other goroutines, still makes progress.
const (
	spinWait   = 1 << 14
	yieldEvery = 256
)

// job is one operation: items [0, n) in chunks, taken by whichever worker
// gets to them first; done counts the items finished, including those of
// chunks helpers took.
type job struct {
	n, chunk int
	next     atomic.Int64
	done     atomic.Int64
	t        task
}

// NewPool starts a pool of n workers (n <= 0 means runtime.NumCPU()).
// The calling goroutine counts as one of them.
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, helpers: make([]helper, n-1)}
	for i := range p.helpers {
		p.helpers[i].wake = make(chan struct{}, 1)
		p.wg.Add(1)
		go p.worker(&p.helpers[i])
	}
	return p
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return p.n }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closing.Do(func() {
		p.closed.Store(true)
		for i := range p.helpers {
			close(p.helpers[i].wake)
		}
		p.wg.Wait()
	})
}

// worker joins every job published after it starts. Between jobs it polls
// the generation for spinWait polls, then parks on its channel: a decode
// step runs about a hundred small matmuls with a little single-threaded
// work between them, and before a parked goroutine is woken and running
// the caller has taken most chunks itself (decode used 65–72 % of two
// cores that way); llama.cpp's threads spin between graph nodes for the
// same reason. Parking announces itself and then looks once more, so a job
// published meanwhile is not missed: either the worker sees its generation,
// or the publisher sees it parked and wakes it.
func (p *Pool) worker(h *helper) {
	defer p.wg.Done()
	seen := p.gen.Load()
	for {
		for spins := 1; ; spins++ {
			if g := p.gen.Load(); g != seen && g%2 == 0 {
				p.active.Add(1)
				if p.gen.Load() == g { // not being rewritten: safe to read
					p.job.run()
				}
				p.active.Add(-1)
				seen, spins = g, 0
				continue
			}
			if p.closed.Load() {
				return
			}
			if spins >= spinWait {
				break
			}
			if spins%yieldEvery == 0 {
				runtime.Gosched()
			}
		}
		h.parked.Store(true)
		if g := p.gen.Load(); g != seen && g%2 == 0 && h.parked.CompareAndSwap(true, false) {
			continue // a job came while parking, and no one will send a wake-up
		}
		if _, ok := <-h.wake; !ok {
			return
		}
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
		end := min(start+j.chunk, j.n)
		j.t.run(start, end)
		j.done.Add(int64(end - start))
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
	// The job descriptor is reused, so publishing is a sequence lock: an
	// odd generation keeps helpers out, the publisher waits for any helper
	// still inside the previous job to leave, rewrites the job and makes the
	// generation even. A helper joins only an even generation that has not
	// changed once it is counted active, so it never reads a job being
	// rewritten and no chunk runs twice.
	j := &p.job
	p.gen.Add(1)
	spin(func() bool { return p.active.Load() == 0 })
	j.n, j.chunk, j.t = n, chunk, t
	j.done.Store(0)
	j.next.Store(0)
	p.gen.Add(1)
	for i := range p.helpers {
		if h := &p.helpers[i]; h.parked.Load() && h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	j.run()
	spin(func() bool { return j.done.Load() == int64(n) }) // helpers finish their last chunks
	j.t = nil                                              // drop the reference to the caller's data
}

// spin polls cond until it holds, yielding the P now and then.
func spin(cond func() bool) {
	for spins := 1; !cond(); spins++ {
		if spins%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
}
