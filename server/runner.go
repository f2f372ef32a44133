// Reference: ollama server/sched.go (a runner per loaded model, requests queued in arrival order) and
// llama.cpp tools/server (n_parallel slots, each a sequence with its own KV cache).

package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gptgo/gptgo/generate"
)

// runner owns a loaded model's sessions (one per slot: a KV cache and the
// buffers of one sequence) and hands them out in strict arrival order, so
// that every client is served and none can starve another. It is the one
// place a batching scheduler replaces: Loaded.Generate only asks it for a
// session and gives it back.
type runner struct {
	mu     sync.Mutex
	all    []*generate.Session
	free   []*generate.Session // idle sessions, most recently used last (its cache is the warmest)
	queue  []*waiter           // FIFO of requests waiting for a session
	closed bool
	depth  func(n int) // reports the queue length (metrics); never nil

	// make, if not nil, makes the one session on the first acquire, with
	// its size in bytes: under the batch scheduler the session only serves
	// WithSession (embeddings), which most chat deployments never call, so
	// its KV cache and buffers are not allocated, nor counted against
	// --memory, until then. Set to nil once the session exists. Guarded by mu.
	make func() (*generate.Session, int64, error)
	// account adds a session made by make to the model's accounted bytes
	// (the manager sets it: models.go); an error (no room in --memory)
	// drops the session. nil: nothing to account.
	account func(n int64) error
	makeMu  sync.Mutex // held while make runs: concurrent first callers make one session
}

type waiter struct{ ch chan *generate.Session } // buffered (1): a grant never blocks

var errRunnerClosed = errors.New("server: the model was unloaded")

func newRunner(sessions []*generate.Session, depth func(int)) *runner {
	if depth == nil {
		depth = func(int) {}
	}
	return &runner{all: sessions, free: append([]*generate.Session(nil), sessions...), depth: depth}
}

// acquire waits for a free session in arrival order. If ctx ends first the
// request leaves the queue (a session granted in that instant goes back).
func (r *runner) acquire(ctx context.Context) (*generate.Session, error) {
	if err := r.ensure(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errRunnerClosed
	}
	if len(r.queue) == 0 && len(r.free) > 0 {
		s := r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
		r.mu.Unlock()
		return s, nil
	}
	w := &waiter{ch: make(chan *generate.Session, 1)}
	r.queue = append(r.queue, w)
	r.depth(len(r.queue))
	r.mu.Unlock()
	select {
	case s := <-w.ch:
		return s, nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	for i, x := range r.queue {
		if x == w {
			r.queue = append(r.queue[:i], r.queue[i+1:]...)
			r.depth(len(r.queue))
			r.mu.Unlock()
			return nil, context.Cause(ctx)
		}
	}
	r.mu.Unlock()
	r.release(<-w.ch) // granted while we were leaving: pass it on
	return nil, context.Cause(ctx)
}

// ensure makes the lazy session if it is still to be made. makeMu, not mu,
// is held while it is made (and accounted under the manager's mutex, which
// takes mu when it unloads: mu must not be held then); the callers that
// wait on it find the session made, or make it themselves if the first one
// failed (an error is not kept: --memory may have room on a later try).
func (r *runner) ensure() error {
	r.mu.Lock()
	pending := r.make != nil && !r.closed
	r.mu.Unlock()
	if !pending {
		return nil
	}
	r.makeMu.Lock()
	defer r.makeMu.Unlock()
	r.mu.Lock()
	mk, closed := r.make, r.closed
	r.mu.Unlock()
	if mk == nil || closed {
		return nil // made meanwhile, or unloaded: acquire says which
	}
	s, n, err := makeGuarded(mk)
	if err != nil {
		return err
	}
	if r.account != nil {
		if err := r.account(n); err != nil {
			s.State.Close()
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		s.State.Close()
		return errRunnerClosed
	}
	r.all = append(r.all, s)
	r.free = append(r.free, s)
	r.make = nil
	return nil
}

// makeGuarded runs mk so that a panic in it fails the request that made
// the session, not the server.
func makeGuarded(mk func() (*generate.Session, int64, error)) (s *generate.Session, n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, n, err = nil, 0, fmt.Errorf("server: making a session failed: %v", p)
		}
	}()
	return mk()
}

// release gives a session back: to the first waiter, or to the free list.
func (r *runner) release(s *generate.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) > 0 {
		w := r.queue[0]
		r.queue = r.queue[1:]
		r.depth(len(r.queue))
		w.ch <- s
		return
	}
	r.free = append(r.free, s)
}

// waiting is the queue length.
func (r *runner) waiting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// idle reports whether every session is free (no request holds one).
func (r *runner) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.free) == len(r.all) && len(r.queue) == 0
}

// close frees the sessions' states. The model manager calls it only when no
// request holds the model, so no session is out.
func (r *runner) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, s := range r.all {
		s.State.Close()
	}
	r.free = nil
}
