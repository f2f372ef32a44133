// Reference: ollama server/sched.go (load on first use; keep_alive: a duration, 0 unloads after the
// request, negative keeps the model forever; OLLAMA_MAX_LOADED_MODELS; unload the least recently used
// idle runner before a load that would not fit; a runner is unloaded only at reference count zero).

package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Loaded is a model in memory, shared by every request that holds it
// (Server.Acquire … release). Its fields are read-only once loaded, but
// Bytes, which grows when the batch scheduler's embeddings session is made.
type Loaded struct {
	Entry    modelstore.Entry
	Model    *model.Model
	Encoder  *model.Encoder // a bert model instead of Model: embeddings only (encoder.go)
	Tok      *tokenizer.Tokenizer
	Template *chat.Template // the entry's TEMPLATE, else the GGUF's, else a built-in (ChatML)
	Ctx      int            // context length of each session, in tokens
	Bytes    int64          // weights plus every session's KV cache and buffers (the batch scheduler's embeddings session once made); guarded by the manager's mutex
	LoadTime time.Duration  // how long loading took

	run      *runner
	sched    *batcher                 // Config.BatchScheduler (gptgo serve's default): the continuous-batching loop that generates (sched.go); nil: run's sessions do
	gvocab   lazyVocab                // the vocabulary for grammar masks (structured.go)
	encoders chan *model.EncoderState // an encoder's free states (encoder.go); nil for a decoder
	metrics  *metrics
	log      *slog.Logger

	// Guarded by the manager's mutex.
	refs    int           // requests holding the model (and waiting for its load)
	keep    time.Duration // how long to stay loaded once idle; < 0 forever
	lastUse time.Time
	expires time.Time // when the idle model unloads; zero while held or kept forever
	timer   *time.Timer
	ready   chan struct{} // closed when the load finished (err says how)
	err     error
}

// RunningModel describes a loaded model (Ollama's /api/ps, `gptgo ps`).
type RunningModel struct {
	Entry     modelstore.Entry
	Bytes     int64
	Ctx       int
	InUse     int       // requests holding it now
	ExpiresAt time.Time // when it unloads if left idle; zero: never
}

// loadFunc loads an entry; tests swap it (ollama's sched tests do the same).
type loadFunc func(e modelstore.Entry) (*Loaded, error)

// manager keeps the loaded models: loads on first use, unloads after
// keep-alive, and keeps within MaxLoaded and the memory budget by unloading
// the least recently used idle model first.
type manager struct {
	store     *modelstore.Store
	keepAlive time.Duration
	maxLoaded int   // ≤ 0: no limit
	memory    int64 // ≤ 0: no budget
	load      loadFunc
	metrics   *metrics
	log       *slog.Logger

	mu     sync.Mutex
	loaded map[string]*Loaded
	closed bool
}

// Acquire returns the model called name, loading it if needed, and holds
// it until release is called (exactly once). keepAlive, if not nil, sets
// how long the model stays loaded once idle (Ollama's keep_alive: 0 unloads
// after this request, negative keeps it forever); nil keeps the model's
// current setting (the server's --keep-alive when it is loaded).
func (s *Server) Acquire(ctx context.Context, name string, keepAlive *time.Duration) (l *Loaded, release func(), err error) {
	return s.models.acquire(ctx, name, keepAlive)
}

// Running lists the loaded models, by name.
func (s *Server) Running() []RunningModel { return s.models.running() }

// Unload unloads the model called name as soon as no request holds it
// (Ollama's keep_alive: 0 with an empty prompt). Unknown or unloaded names
// are not an error.
func (s *Server) Unload(name string) error {
	e, err := s.models.store.Resolve(name)
	if err != nil {
		return err
	}
	s.models.mu.Lock()
	defer s.models.mu.Unlock()
	if l := s.models.loaded[e.Name]; l != nil {
		l.keep = 0
		if l.refs == 0 {
			s.models.unloadLocked(l)
		}
	}
	return nil
}

func (m *manager) acquire(ctx context.Context, name string, keepAlive *time.Duration) (*Loaded, func(), error) {
	if name == "" {
		return nil, nil, Errorf(KindBadRequest, "model", "no model named: set \"model\" (see GET /v1/models)")
	}
	e, err := m.store.Resolve(name)
	if err != nil {
		return nil, nil, err
	}
	return m.acquireEntry(ctx, e, keepAlive)
}

// acquireEntry is acquire for a resolved entry (the embeddings endpoints
// give the embedded embedder's, which the store does not list: embed.go).
func (m *manager) acquireEntry(ctx context.Context, e modelstore.Entry, keepAlive *time.Duration) (*Loaded, func(), error) {
	if e.Err != nil {
		return nil, nil, Errorf(KindServer, "model", "model %q: %v", e.Name, e.Err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, nil, Errorf(KindUnavailable, "", "the server is shutting down")
	}
	l := m.loaded[e.Name]
	if l == nil {
		if err := m.makeRoomLocked(e.Size, nil); err != nil {
			m.mu.Unlock()
			return nil, nil, err
		}
		l = &Loaded{Entry: e, keep: m.keepAlive, ready: make(chan struct{})}
		m.loaded[e.Name] = l
		go m.loadInto(l)
	}
	l.refs++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.expires = time.Time{}
	if keepAlive != nil {
		l.keep = *keepAlive
	}
	m.mu.Unlock()

	release := func() { m.release(l) }
	select {
	case <-l.ready:
	case <-ctx.Done():
		release()
		return nil, nil, context.Cause(ctx)
	}
	if l.err != nil {
		release()
		return nil, nil, l.err
	}
	return l, sync.OnceFunc(release), nil
}

// loadInto loads l's model outside the lock, then checks the memory budget
// with the real size.
func (m *manager) loadInto(l *Loaded) {
	loaded, err := m.loadGuarded(l.Entry)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		err = m.makeRoomLocked(loaded.Bytes, l)
		if err != nil {
			loaded.close()
		}
	}
	if err != nil {
		l.err = err
		delete(m.loaded, l.Entry.Name)
		close(l.ready)
		m.report()
		return
	}
	l.Model, l.Tok, l.Template, l.Ctx, l.Bytes, l.LoadTime, l.run = loaded.Model, loaded.Tok, loaded.Template, loaded.Ctx, loaded.Bytes, loaded.LoadTime, loaded.run
	l.Encoder, l.encoders = loaded.Encoder, loaded.encoders // bert (encoder.go)
	l.sched = loaded.sched                                  // sched.go
	l.metrics, l.log = m.metrics, m.log
	gauge := m.metrics.queueDepth.WithLabelValues(l.Entry.Name)
	var sessions, batch atomic.Int64 // the sessions' queue and the batch loop's: the gauge is their sum
	l.run.depth = func(n int) { sessions.Store(int64(n)); gauge.Set(float64(sessions.Load() + batch.Load())) }
	l.run.depth(0)
	l.run.account = func(n int64) error { return m.grow(l, n) }
	if l.sched != nil { // its one session (once made) queues embeddings
		l.sched.setDepth(func(n int) { batch.Store(int64(n)); gauge.Set(float64(sessions.Load() + batch.Load())) })
	}
	l.lastUse = time.Now()
	close(l.ready)
	m.report()
}

// loadGuarded runs the loader so that a panic on a malformed file (this
// runs on a goroutine of its own, where a panic would end the process)
// fails the load alone.
func (m *manager) loadGuarded(e modelstore.Entry) (l *Loaded, err error) {
	defer func() {
		if p := recover(); p != nil {
			if m.log != nil {
				m.log.Error("panic loading a model", "model", e.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			l, err = nil, Errorf(KindServer, "model", "server: loading model %q failed: %v", e.Name, p)
		}
	}()
	return m.load(e)
}

// grow adds n bytes to the loaded model l (the batch scheduler's
// embeddings session, made on first use: runner.ensure), first unloading
// idle models if the memory budget needs it. A request holds l, so it is
// not unloaded meanwhile.
func (m *manager) grow(l *Loaded, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.memory > 0 {
		if err := m.makeRoomLocked(l.Bytes+n, l); err != nil {
			e := asError(err)
			return Errorf(e.Kind, e.Param, "model %q: its embeddings session, made on first use, needs %d MiB more: %s", l.Entry.Name, (n+1<<20-1)>>20, e.Msg)
		}
	}
	l.Bytes += n
	m.report()
	return nil
}

// makeRoomLocked unloads least recently used idle models until a model of
// need bytes fits the memory budget and the model count (self, if not
// nil, is the model being loaded and already counted).
func (m *manager) makeRoomLocked(need int64, self *Loaded) error {
	for {
		count, used := 0, int64(0)
		for _, l := range m.loaded {
			if l != self {
				count++
				used += l.Bytes
			}
		}
		overCount := m.maxLoaded > 0 && count+1 > m.maxLoaded
		overMem := m.memory > 0 && used+need > m.memory
		if !overCount && !overMem {
			return nil
		}
		if m.memory > 0 && need > m.memory {
			return Errorf(KindUnavailable, "model", "the model needs %d MiB, more than the memory budget of %d MiB (--memory)", need>>20, m.memory>>20)
		}
		var lru *Loaded
		for _, l := range m.loaded {
			if l != self && l.refs == 0 && isReady(l) && (lru == nil || l.lastUse.Before(lru.lastUse)) {
				lru = l
			}
		}
		if lru == nil {
			if overCount {
				return Errorf(KindUnavailable, "model", "%d models are loaded and all are in use (--max-loaded %d); try again later", count, m.maxLoaded)
			}
			return Errorf(KindUnavailable, "model", "the model needs %d MiB but %d MiB of the %d MiB budget (--memory) are held by models in use; try again later", need>>20, used>>20, m.memory>>20)
		}
		m.unloadLocked(lru)
	}
}

func isReady(l *Loaded) bool {
	select {
	case <-l.ready:
		return l.err == nil
	default:
		return false
	}
}

// release drops one hold; the last one starts the keep-alive clock.
func (m *manager) release(l *Loaded) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l.refs--
	l.lastUse = time.Now()
	if l.refs > 0 || m.loaded[l.Entry.Name] != l || !isReady(l) {
		return
	}
	switch {
	case m.closed || l.keep == 0:
		m.unloadLocked(l)
	case l.keep > 0:
		l.expires = l.lastUse.Add(l.keep)
		l.timer = time.AfterFunc(l.keep, func() { m.expire(l) })
	}
}

// expire unloads l if it is still idle and its time has come.
func (m *manager) expire(l *Loaded) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded[l.Entry.Name] == l && l.refs == 0 && !l.expires.IsZero() && !time.Now().Before(l.expires) {
		m.unloadLocked(l)
	}
}

// unloadLocked frees an idle model.
func (m *manager) unloadLocked(l *Loaded) {
	delete(m.loaded, l.Entry.Name)
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.close()
	m.metrics.queueDepth.DeleteLabelValues(l.Entry.Name)
	m.report()
}

// report updates the loaded-model gauges.
func (m *manager) report() {
	m.metrics.loadedModels.Set(float64(len(m.loaded)))
	m.metrics.modelBytes.Reset()
	for name, l := range m.loaded {
		if l.Bytes > 0 {
			m.metrics.modelBytes.WithLabelValues(name).Set(float64(l.Bytes))
		}
	}
}

func (m *manager) running() []RunningModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []RunningModel
	for _, l := range m.loaded {
		if !isReady(l) {
			continue
		}
		r := RunningModel{Entry: l.Entry, Bytes: l.Bytes, Ctx: l.Ctx, InUse: l.refs, ExpiresAt: l.expires}
		if l.refs > 0 && l.keep > 0 {
			r.ExpiresAt = time.Now().Add(l.keep)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Entry.Name < out[j].Entry.Name })
	return out
}

// closeAll unloads every model once no request holds it; later acquires fail.
func (m *manager) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, l := range m.loaded {
		if l.refs == 0 && isReady(l) {
			m.unloadLocked(l)
		}
	}
}

// loaded counts the models in memory (tests).
func (m *manager) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.loaded)
}

// close frees the model and its sessions.
func (l *Loaded) close() {
	if l.sched != nil {
		l.sched.close()
	}
	if l.run != nil {
		l.run.close()
	}
	if l.Model != nil {
		l.Model.Close()
	}
	if l.Encoder != nil {
		l.closeEncoder()
	}
}

// loadOptions size what loadEntry makes.
type loadOptions struct {
	ctx      int // context per session; 0: the entry's num_ctx, else the model's (at most model.DefaultCtx)
	parallel int // sessions (slots); ≥ 1
	threads  int // workers per session; 0: all cores

	batch *batchOptions // continuous batching (sched.go): parallel sequences share a paged cache of parallel×ctx positions, and one session, made on first use (runner.make), serves WithSession; nil: parallel sessions

	adapters Adapters // by model name (adapters.go)
}

// loadEntry opens e's GGUF, its tokenizer and chat template, and makes the
// sessions.
func loadEntry(e modelstore.Entry, o loadOptions) (*Loaded, error) {
	start := time.Now()
	f, err := e.Open()
	if err != nil {
		return nil, err
	}
	if model.IsEncoderFile(f) { // bert: embeddings only (encoder.go)
		return loadEncoder(e, f, o, start)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("server: model %q: %w", e.Name, err)
	}
	if m, err = o.adapters.apply(m, e.Name); err != nil { // adapters.go; closes m on error
		return nil, fmt.Errorf("server: model %q: %w", e.Name, err)
	}
	l := &Loaded{Entry: e, Model: m}
	fail := func(err error) (*Loaded, error) {
		l.close()
		return nil, fmt.Errorf("server: model %q: %w", e.Name, err)
	}
	if l.Tok, err = tokenizer.FromGGUF(f); err != nil {
		return fail(err)
	}
	if l.Template, err = chat.FromGGUF(f); err != nil {
		return fail(err)
	}
	if e.Template != "" {
		if l.Template, err = chat.New(e.Template, l.Template.BOS(), l.Template.EOS()); err != nil {
			return fail(fmt.Errorf("TEMPLATE: %w", err))
		}
	}
	ctx := o.ctx
	if ctx == 0 {
		ctx = paramInt(e.Parameters, "num_ctx", 0)
	}
	if ctx == 0 {
		ctx = min(m.CtxTrain, model.DefaultCtx)
	}
	// --ctx above the training context is the operator's call, as
	// llama.cpp's -c: allowed where positions are rotary, else clamped.
	beyond := o.ctx > m.CtxTrain && !m.Config.LearnedPos
	if !beyond {
		ctx = min(ctx, m.CtxTrain)
	}
	var sessions []*generate.Session
	l.Bytes = m.WeightBytes()
	slots := max(1, o.parallel)
	if o.batch != nil {
		if l.sched, err = newBatcher(m, generate.FromTokenizer(l.Tok), ctx, o.parallel, o.threads, *o.batch); err != nil {
			return fail(err)
		}
		l.Bytes += l.sched.bytes()
		slots = 0 // WithSession's (embeddings) session is made on first use: below
	}
	for range slots {
		st, err := m.NewState(model.Options{Ctx: ctx, Threads: o.threads, BeyondTrain: beyond})
		if err != nil {
			for _, s := range sessions {
				s.State.Close()
			}
			return fail(err)
		}
		sessions = append(sessions, generate.NewSession(st, generate.FromTokenizer(l.Tok)))
		l.Bytes += st.KVBytes() + st.BufferBytes()
	}
	l.Ctx = ctx - m.VirtualTokens() // the room of a prompt: a prompt-tuning adapter's virtual tokens take the rest (adapters.go)
	l.run = newRunner(sessions, nil)
	if o.batch != nil {
		l.run.make = func() (*generate.Session, int64, error) {
			st, err := m.NewState(model.Options{Ctx: ctx, Threads: o.threads, BeyondTrain: beyond})
			if err != nil {
				return nil, 0, fmt.Errorf("server: model %q: the embeddings session: %w", e.Name, err)
			}
			return generate.NewSession(st, generate.FromTokenizer(l.Tok)), st.KVBytes() + st.BufferBytes(), nil
		}
	}
	l.LoadTime = time.Since(start)
	return l, nil
}
