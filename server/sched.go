// Reference: Orca (OSDI 2022) §4.2 (iteration-level scheduling: requests join and leave the running batch
// between steps), vLLM vllm/v1/core/sched/scheduler.py (one loop: schedule, execute, update) and
// PagedAttention (SOSP 2023) §4.5 (preemption by recomputation).

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
)

// batcher is a loaded model's continuous-batching loop
// (Config.BatchScheduler, `gptgo serve`'s default): every request is a
// sequence in one PagedCache, and each step runs one forward pass over the
// next tokens of all running sequences plus chunks of waiting prompts
// (StepPlan), then samples each sequence with its own generate.Sequence.
// Requests join and leave between steps; a finished, cancelled or
// disconnected request's blocks return to the pool at once.
//
// The loop goroutine owns the cache, the runner and every sequence once
// submitted; handlers only submit and read their events (eventQueue), so a
// slow client never holds up the others' decoding.
type batcher struct {
	runner   *model.BatchRunner
	cache    *model.PagedCache
	vocab    generate.Vocab
	plan     planner
	ctxLen   int // most positions of a sequence, virtual tokens included
	virtual  int // P: a prompt- or prefix-tuning adapter's virtual tokens, in front of every prompt (submit)
	maxQueue int // requests waiting beyond which submit answers 503; ≤ 0: no limit
	log      *slog.Logger
	depth    atomic.Value // func(int): the queue length for /metrics

	mu     sync.Mutex
	inbox  []*bseq // submitted, not yet seen by the loop
	closed bool
	nextID int64
	queued atomic.Int64 // submitted and not yet running (inbox + waiting)
	wake   chan struct{}
	done   chan struct{}
	stats  batchStats // the loop's figures after its last step (guarded by mu)

	beforeStep, afterStep func() // tests only: called by the loop around each step

	// Loop-owned.
	running   []*bseq // oldest first
	preempted int64
	waiting   []*bseq // arrival order (by id)
}

// batchStats is a snapshot of the loop for tests and metrics.
type batchStats struct {
	Running, Waiting, FreeBlocks, Blocks int
	Steps, Preemptions                   int64
}

// snapshot returns the loop's figures after its last step.
func (b *batcher) snapshot() batchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// bseq is one request in the loop.
type bseq struct {
	ps       planSeq
	toks     []int32 // virtual tokens, prompt, then every sampled token: ps.tokens of them
	virtual  int     // of toks, the leading virtual tokens (batcher.virtual)
	seq      *generate.Sequence
	kv       *model.PagedSeq
	ctx      context.Context
	events   *eventQueue
	queued   bool // counted in batcher.queued: submitted or preempted, not running
	admitted bool // ran at least once
	cached   int  // prompt tokens (virtual ones included) found in the prefix cache at the first admission
	over     bool // ended: leaves the loop's lists after the step

	// Timings, written by the loop before the events that carry them
	// (times): Done's as a session measures them, from the admission.
	arrived  time.Time     // submitted
	wait     time.Duration // arrival to the first admission (gptgo_queue_wait_seconds)
	prefill  time.Duration // first admission to the prompt's logits: Done.PromptTime
	prefixed bool          // the prompt's logits came (prefill set)
	timed    bool          // times applied to the Done

	d   *generate.Done // the result, set before events close
	err error
}

type batchOptions struct {
	stepTokens int // per-step token budget; 0: model.DefaultBatch
	maxQueue   int
}

// newBatcher makes the loop of m: a pool of parallel×ctx positions, so
// that memory matches --parallel sessions of --ctx, and starts it.
func newBatcher(m *model.Model, vocab generate.Vocab, ctx, parallel, threads int, o batchOptions) (*batcher, error) {
	budget := o.stepTokens
	if budget == 0 {
		budget = model.DefaultBatch
	}
	if budget < 3 {
		return nil, fmt.Errorf("server: step token budget %d: must be at least 3", budget)
	}
	r, err := m.NewBatchRunner(model.Options{Ctx: ctx, Batch: budget, Threads: threads, BeyondTrain: ctx > m.CtxTrain}) // loadEntry allowed it (--ctx)
	if err != nil {
		return nil, err
	}
	P := model.DefaultBlockTokens
	c, err := m.NewPagedCache(model.PagedOptions{BlockTokens: P, Blocks: max(1, parallel) * ((ctx + P - 1) / P)})
	if err != nil {
		r.Close()
		return nil, err
	}
	b := &batcher{
		runner: r, cache: c, vocab: vocab, ctxLen: ctx, virtual: m.VirtualTokens(), maxQueue: o.maxQueue,
		plan: planner{budget: r.Batch(), maxRunning: max(1, parallel) * 4, blockTokens: P},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	b.depth.Store(func(int) {})
	b.log = slog.Default()
	go b.loop()
	return b, nil
}

// offered is the waiting list (arrival order) less the sequences that wait
// for a shared prefix: one whose prompt has whole blocks, beyond those it
// found cached, in common with a sequence that has not computed them yet
// (running, or ahead of it in the list and offered) waits until that one
// has: its blocks then enter the prefix cache as they fill, and the next
// MatchPrefix takes them. So sixteen requests that arrive together with
// one long system prompt compute it once, not sixteen times. The one ahead
// is planned before it in any case (admission never overtakes), so the
// wait costs the follower little and never deadlocks: the one ahead
// progresses, or ends, or is preempted back into this list ahead of it.
func (b *batcher) offered() []*bseq {
	P := b.plan.blockTokens
	ahead := slices.Clone(b.running)
	offer := make([]*bseq, 0, len(b.waiting))
	for _, s := range b.waiting {
		if !slices.ContainsFunc(ahead, func(l *bseq) bool { return sharesPending(s, l, P) }) {
			offer = append(offer, s)
			ahead = append(ahead, s)
		}
	}
	return offer
}

// sharesPending reports whether s, waiting, has whole blocks in common with
// l beyond what s has computed (its cached prefix) that l has not computed
// yet. MatchPrefix leaves s at least its last token to compute, so the
// blocks it could take stop before that token.
func sharesPending(s, l *bseq, P int) bool {
	most := (s.ps.tokens - 1) / P * P // the most MatchPrefix could give s
	if most <= s.ps.computed || l.ps.computed >= most {
		return false // nothing more to take, or l has computed all of it
	}
	n := min(most, l.ps.tokens)
	common := 0
	for common < n && s.toks[common] == l.toks[common] {
		common++
	}
	want := common / P * P
	return want > s.ps.computed && l.ps.computed < want
}

// bytes is the pool's and the runner's memory.
func (b *batcher) bytes() int64 { return b.cache.KVBytes() + b.runner.BufferBytes() }

// setDepth sets the queue-length reporter (metrics).
func (b *batcher) setDepth(f func(int)) { b.depth.Store(f) }

var errQueueFull = errors.New("server: queue full")

// submit hands a request to the loop. A prompt- or prefix-tuning
// adapter's virtual tokens -1 … -P go in front of the prompt, as
// generate.Session.Run puts them: the same for every prompt, so the prefix
// cache keeps them; the sequence's history (penalties, usage) has the
// prompt's own tokens only.
func (b *batcher) submit(ctx context.Context, req *generate.Request, prompt []int32) (*bseq, error) {
	s := &bseq{ctx: ctx, events: newEventQueue(), queued: true, virtual: b.virtual}
	s.toks = make([]int32, 0, b.virtual+len(prompt)+64)
	for k := range b.virtual {
		s.toks = append(s.toks, int32(-k-1))
	}
	s.toks = append(s.toks, prompt...)
	s.ps.tokens = len(s.toks)
	s.arrived = time.Now()
	s.seq = generate.NewSequence(req, prompt, b.vocab, func(ev generate.Event) error {
		if ev.Kind == generate.EventDone {
			s.times(ev.Done)
		}
		return s.events.push(ev)
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errRunnerClosed
	}
	if b.maxQueue > 0 && b.queued.Load() >= int64(b.maxQueue) {
		return nil, &Error{Kind: KindUnavailable, Code: "queue_full",
			Msg: fmt.Sprintf("the model's queue is full (%d requests waiting, --max-queue %d); retry later", b.queued.Load(), b.maxQueue)}
	}
	b.nextID++
	s.ps.id = b.nextID
	b.inbox = append(b.inbox, s)
	b.queued.Add(1)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return s, nil
}

// close stops the loop; sequences still in it end with errRunnerClosed.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
	b.runner.Close()
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		b.mu.Lock()
		in, closed := b.inbox, b.closed
		b.inbox = nil
		b.mu.Unlock()
		b.waiting = append(b.waiting, in...)
		if closed {
			for _, s := range append(b.running, b.waiting...) {
				b.end(s, nil, errRunnerClosed)
			}
			return
		}
		if len(b.running)+len(b.waiting) == 0 {
			<-b.wake
			continue
		}
		if b.beforeStep != nil {
			b.beforeStep()
		}
		b.step()
		over := func(s *bseq) bool { return s.over }
		b.running = slices.DeleteFunc(b.running, over)
		b.waiting = slices.DeleteFunc(b.waiting, over)
		b.depth.Load().(func(int))(len(b.waiting))
		b.mu.Lock()
		b.stats.Running, b.stats.Waiting = len(b.running), len(b.waiting)
		b.stats.FreeBlocks, b.stats.Blocks = b.cache.FreeBlocks(), b.cache.Blocks()
		b.stats.Steps++
		b.stats.Preemptions = b.preempted
		b.mu.Unlock()
		if b.afterStep != nil {
			b.afterStep()
		}
	}
}

// step reaps cancelled sequences, plans, and runs one forward pass. A
// panic (a bug) fails the sequences of this step alone; the loop goes on.
func (b *batcher) step() {
	var inStep []*bseq
	defer func() {
		if p := recover(); p != nil {
			if b.log != nil {
				b.log.Error("panic in the batch loop", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			err := Errorf(KindServer, "", "server: generation failed: %v", p)
			if len(inStep) == 0 { // before the forward pass (planning): fail the oldest, so that the loop progresses
				if q := append(b.running, b.waiting...); len(q) > 0 {
					inStep = q[:1]
				}
			}
			for _, s := range inStep {
				b.end(s, nil, s.seq.Fail(err))
			}
		}
	}()
	b.running = b.reap(b.running)
	b.waiting = b.reap(b.waiting)
	if len(b.running)+len(b.waiting) == 0 {
		return
	}

	ps := func(q []*bseq) []*planSeq {
		out := make([]*planSeq, len(q))
		for i, s := range q {
			out[i] = &s.ps
		}
		return out
	}
	// Waiting sequences with nothing computed take their cached prefix
	// (model.PagedSeq.MatchPrefix) so that the plan sees only the rest;
	// those not admitted give it back below (their blocks stay cached).
	for _, s := range b.waiting {
		if s.ps.computed == 0 {
			if s.kv == nil {
				s.kv = b.cache.NewSeq()
			}
			s.ps.computed = s.kv.MatchPrefix(s.toks)
			s.ps.blocks = len(s.kv.Table())
		}
	}
	offer := b.offered()
	plan := b.plan.Schedule(ps(b.running), ps(offer), b.cache.FreeBlocks())
	for _, id := range plan.Preempt { // drop the blocks; recompute from scratch later
		i := slices.IndexFunc(b.running, func(s *bseq) bool { return s.ps.id == id })
		s := b.running[i]
		b.running = slices.Delete(b.running, i, i+1)
		s.kv.Free()
		s.ps.computed, s.ps.blocks = 0, 0
		b.waiting = append(b.waiting, s)
		b.preempted++
		s.queued = true
		b.queued.Add(1)
	}
	admitted := offer[:plan.Admit] // none when the plan preempted (Schedule admits only without)
	for _, s := range admitted {
		if !s.admitted {
			s.admitted, s.cached = true, s.ps.computed
			s.wait = time.Since(s.arrived)
		}
		s.queued = false
		b.queued.Add(-1)
	}
	b.waiting = slices.DeleteFunc(b.waiting, func(s *bseq) bool { return slices.Contains(admitted, s) })
	slices.SortFunc(b.waiting, func(x, y *bseq) int { return int(x.ps.id - y.ps.id) })
	for _, s := range b.waiting {
		if s.kv != nil && s.ps.blocks > 0 && s.queued {
			s.kv.Free()
			s.ps.computed, s.ps.blocks = 0, 0
		}
	}
	b.running = append(b.running, admitted...)
	if len(plan.Run) == 0 {
		return
	}

	byID := make(map[int64]*bseq, len(b.running))
	for _, s := range b.running {
		byID[s.ps.id] = s
	}
	kvs := make([]*model.PagedSeq, len(plan.Run))
	toks := make([][]int32, len(plan.Run))
	inStep = make([]*bseq, len(plan.Run))
	for j, c := range plan.Run {
		s := byID[c.Seq]
		inStep[j], kvs[j] = s, s.kv
		toks[j] = s.toks[s.ps.computed : s.ps.computed+c.N]
	}
	stepped := make([]bool, len(inStep))
	ended := make([]bool, len(inStep))
	err := b.runner.Forward(kvs, toks, func(j int, logits []float32) error {
		s := inStep[j]
		if s.ps.computed+len(toks[j]) < s.ps.tokens {
			return nil // a prompt chunk with more to come: its logits are not needed
		}
		if !s.prefixed {
			s.prefixed, s.prefill = true, time.Since(s.arrived)-s.wait
		}
		tok, end, err := s.seq.Step(logits)
		stepped[j], ended[j] = true, end
		if err != nil {
			s.err = err
			return nil
		}
		if !end {
			s.toks = append(s.toks, tok)
		}
		return nil
	})
	if err != nil {
		err = Errorf(KindServer, "", "server: generation failed: %v", err)
		for _, s := range inStep {
			b.end(s, nil, s.seq.Fail(err))
		}
		inStep = nil
		return
	}
	for j, s := range inStep {
		s.ps.computed += len(toks[j])
		s.ps.tokens = len(s.toks)
		s.ps.blocks = len(s.kv.Table())
		switch {
		case s.err != nil:
			b.end(s, nil, s.err)
		case ended[j]:
			d, err := s.seq.Finish("")
			b.end(s, d, err)
		case stepped[j] && s.ps.computed >= b.ctxLen:
			d, err := s.seq.Finish(generate.StopContext)
			b.end(s, d, err)
		}
	}
	inStep = nil
}

// reap ends the sequences of q whose request was cancelled.
func (b *batcher) reap(q []*bseq) []*bseq {
	return slices.DeleteFunc(q, func(s *bseq) bool {
		if s.ctx.Err() == nil {
			return false
		}
		d, err := s.seq.Finish(generate.StopCancelled)
		b.end(s, d, err)
		return true
	})
}

// end records a sequence's result, returns its blocks at once and closes
// its events; the loop drops it from its lists after the step.
func (b *batcher) end(s *bseq, d *generate.Done, err error) {
	if s.over {
		return
	}
	s.over = true
	if s.kv != nil {
		s.kv.Free()
	}
	if d != nil && d.Stop == generate.StopCancelled {
		s.times(d) // no EventDone carried them
	}
	if s.queued {
		s.queued = false
		b.queued.Add(-1)
	}
	s.d, s.err = d, err
	s.events.close()
}

// times makes d's timings a session's: the Sequence started its clock at
// the arrival, a session's starts once the request has its session, so the
// wait in the queue comes out of FirstToken (observe counts it apart), and
// PromptTime is the prefill's share, which the Sequence does not know.
func (s *bseq) times(d *generate.Done) {
	if d == nil || s.timed {
		return
	}
	s.timed = true
	d.PromptTime = s.prefill
	if d.FirstToken > 0 {
		d.FirstToken = max(0, d.FirstToken-s.wait)
	}
}

// generateBatched is Generate's tail under the batch scheduler: the
// request goes to the loop, and this goroutine relays its events to emit
// (so that a slow client waits alone). If emit fails (the client went
// away) the request is cancelled; its blocks return at the next step.
func (l *Loaded) generateBatched(ctx context.Context, req *generate.Request, prompt []int32, emit func(generate.Event) error, dropped int) (d *generate.Done, err error) {
	prompt, cut, err := generate.FitPrompt(prompt, l.Ctx, req.Options)
	if err != nil {
		return nil, &Error{Kind: KindContext, Msg: err.Error()}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := l.sched.submit(ctx, req, prompt)
	if err != nil {
		return nil, err
	}
	var emitErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				if l.log != nil {
					l.log.Error("panic in generation", "model", l.Entry.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				}
				emitErr = Errorf(KindServer, "", "server: generation failed: %v", p)
				cancel()
				for range s.events.all() {
				}
			}
		}()
		for ev := range s.events.all() {
			if emitErr != nil {
				continue // draining until the loop lets go
			}
			if err := emit(ev); err != nil {
				emitErr = err
				cancel()
			}
		}
	}()
	if emitErr != nil {
		return nil, emitErr
	}
	if s.d != nil && s.d.Stop == generate.StopCancelled && !s.admitted {
		// Cancelled while it waited: the sessions' queue answers so too
		// (runner.acquire), a 499 for a client gone, a 503 at shutdown.
		return nil, context.Cause(ctx)
	}
	if s.d != nil {
		s.d.Dropped += dropped + cut
		s.d.CachedTokens = max(0, s.cached-s.virtual) // of the prompt's own tokens, as a session counts them
		if l.metrics != nil {
			l.metrics.cachedTokens.WithLabelValues(l.Entry.Name).Add(float64(s.d.CachedTokens))
		}
		l.observe(s.d, s.wait) // s.times took the wait out of FirstToken
	}
	return s.d, s.err
}

// eventQueue carries one sequence's events from the loop to its handler
// without ever blocking the loop.
type eventQueue struct {
	mu     sync.Mutex
	evs    []generate.Event
	closed bool
	ready  chan struct{} // 1-buffered: something to read
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev generate.Event) error {
	q.mu.Lock()
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	q.signal()
	return nil
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// all yields the events in order until the queue is closed and empty.
func (q *eventQueue) all() func(yield func(generate.Event) bool) {
	return func(yield func(generate.Event) bool) {
		for {
			q.mu.Lock()
			evs, closed := q.evs, q.closed
			q.evs = nil
			q.mu.Unlock()
			for _, ev := range evs {
				if !yield(ev) {
					return
				}
			}
			if closed && len(evs) == 0 {
				return
			}
			if len(evs) == 0 {
				<-q.ready
			}
		}
	}
}
