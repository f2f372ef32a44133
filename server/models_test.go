// Reference: ollama server/sched_test.go (the loader swapped for a fake: lifecycle rules tested with
// no model) and Ollama's keep_alive semantics (0 unloads at once, negative never).

package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/modelstore"
)

// fakeModels is a manager over a store holding a.gguf, b.gguf and c.gguf
// (copies of the default model, so that Resolve reads real files) whose
// loader makes a model of size bytes without any weights.
func fakeModels(t *testing.T, maxLoaded int, memory, size int64) (*manager, *atomic.Int32) {
	t.Helper()
	dir := t.TempDir()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(dir, n+".gguf"), f.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	store, err := modelstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	loads := new(atomic.Int32)
	m := &manager{store: store, keepAlive: DefaultKeepAlive, maxLoaded: maxLoaded, memory: memory, metrics: newMetrics(), loaded: map[string]*Loaded{},
		load: func(e modelstore.Entry) (*Loaded, error) {
			loads.Add(1)
			time.Sleep(5 * time.Millisecond) // long enough for concurrent acquires to overlap the load
			return &Loaded{Entry: e, Bytes: size, run: newRunner(nil, nil)}, nil
		}}
	t.Cleanup(m.closeAll)
	return m, loads
}

func dur(d time.Duration) *time.Duration { return &d }

func loadedNames(m *manager) map[string]bool {
	out := map[string]bool{}
	for _, r := range m.running() {
		out[r.Entry.Name] = true
	}
	return out
}

func TestKeepAlive(t *testing.T) {
	m, loads := fakeModels(t, 0, 0, 1)
	ctx := context.Background()

	// The default keep-alive: loaded after release, expiring in 5 minutes.
	_, release, err := m.acquire(ctx, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second call is harmless
	rs := m.running()
	if len(rs) != 1 || rs[0].InUse != 0 || time.Until(rs[0].ExpiresAt) < 4*time.Minute {
		t.Fatalf("after release: %+v", rs)
	}
	// Reuse without a reload.
	_, release, _ = m.acquire(ctx, "a:latest", nil)
	release()
	if loads.Load() != 1 {
		t.Fatalf("%d loads for one model", loads.Load())
	}
	// keep_alive 0: unloaded as soon as the request ends.
	_, release, _ = m.acquire(ctx, "a", dur(0))
	if m.count() != 1 {
		t.Fatal("unloaded while held")
	}
	release()
	if m.count() != 0 {
		t.Fatalf("keep_alive 0: still loaded: %+v", m.running())
	}
	// A short keep-alive expires by itself.
	_, release, _ = m.acquire(ctx, "b", dur(20*time.Millisecond))
	release()
	for deadline := time.Now().Add(5 * time.Second); m.count() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("keep_alive 20ms: never unloaded")
		}
	}
	// Negative: forever.
	_, release, _ = m.acquire(ctx, "c", dur(-1))
	release()
	if rs := m.running(); len(rs) != 1 || !rs[0].ExpiresAt.IsZero() {
		t.Fatalf("keep_alive -1: %+v", rs)
	}
}

func TestMaxLoadedUnloadsLeastRecentlyUsed(t *testing.T) {
	m, _ := fakeModels(t, 2, 0, 1)
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		_, release, err := m.acquire(ctx, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		release()
		time.Sleep(2 * time.Millisecond)
	}
	_, release, _ := m.acquire(ctx, "a", nil) // a is now the most recently used
	release()
	_, release, err := m.acquire(ctx, "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(m); len(got) != 2 || !got["a:latest"] || !got["c:latest"] {
		t.Fatalf("loaded %v, want a and c (b was least recently used)", got)
	}
	// With both loaded models held, a third cannot load: 503.
	_, releaseA, _ := m.acquire(ctx, "a", nil)
	_, err = m.acquire2(ctx, "b")
	if Status(err) != 503 {
		t.Fatalf("third model while two are busy: %v (status %d), want 503", err, Status(err))
	}
	release()
	releaseA()
	if _, err = m.acquire2(ctx, "b"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// acquire2 acquires and releases at once, returning only the error.
func (m *manager) acquire2(ctx context.Context, name string) (*Loaded, error) {
	l, release, err := m.acquire(ctx, name, nil)
	if err == nil {
		release()
	}
	return l, err
}

func TestMemoryBudget(t *testing.T) {
	m, _ := fakeModels(t, -1, 250<<20, 100<<20)
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if _, err := m.acquire2(ctx, n); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := m.acquire2(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(m); len(got) != 2 || got["a:latest"] {
		t.Fatalf("loaded %v, want b and c within 250 MiB", got)
	}
	// A model larger than the whole budget is refused, naming the flag.
	big, _ := fakeModels(t, -1, 50<<20, 100<<20)
	_, err := big.acquire2(ctx, "a")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnavailable || big.count() != 0 {
		t.Fatalf("over-budget model: %v", err)
	}
}

func TestConcurrentAcquireLoadsOnce(t *testing.T) {
	m, loads := fakeModels(t, 0, 0, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.acquire2(context.Background(), "a"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("%d loads", loads.Load())
	}
	if _, err := m.acquire2(context.Background(), "nosuch"); !errors.Is(err, modelstore.ErrNotFound) || Status(err) != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestRunnerFIFO(t *testing.T) {
	sess := &generate.Session{}
	r := newRunner([]*generate.Session{sess}, nil)
	ctx := context.Background()
	s, err := r.acquire(ctx)
	if err != nil || s != sess {
		t.Fatal(err)
	}
	got := make(chan int, 3)
	cctx, cancel := context.WithCancel(ctx)
	for i := range 3 {
		c := ctx
		if i == 1 {
			c = cctx
		}
		go func() {
			s, err := r.acquire(c)
			if err != nil {
				got <- -1
				return
			}
			got <- i
			r.release(s)
		}()
		for r.waiting() != i+1 { // queue them in order
			time.Sleep(time.Millisecond)
		}
	}
	cancel() // the second leaves the queue
	if v := <-got; v != -1 {
		t.Fatalf("cancelled waiter got %d", v)
	}
	r.release(s)
	if a, b := <-got, <-got; a != 0 || b != 2 {
		t.Fatalf("served %d then %d, want 0 then 2", a, b)
	}
	if !r.idle() {
		t.Fatal("runner not idle at the end")
	}
}

func TestLoaderPanicFailsTheLoadAlone(t *testing.T) {
	m, _ := fakeModels(t, 0, 0, 1)
	m.load = func(e modelstore.Entry) (*Loaded, error) { panic("malformed") }
	_, err := m.acquire2(context.Background(), "a")
	if Status(err) != 500 || m.count() != 0 {
		t.Fatalf("panicking loader: %v, %d loaded", err, m.count())
	}
	m.load = func(e modelstore.Entry) (*Loaded, error) {
		return &Loaded{Entry: e, Bytes: 1, run: newRunner(nil, nil)}, nil
	}
	if _, err := m.acquire2(context.Background(), "a"); err != nil {
		t.Fatalf("a later load: %v", err)
	}
}
