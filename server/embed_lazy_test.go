// Reference: issue #24's follow-up (the batch scheduler's embeddings session is made on first use, not
// at load) and ollama server/sched.go (a loaded runner's size is what the memory budget and /api/ps count).

package server

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
)

// lazyServer serves the embedded models under the batch scheduler with
// the embedding tests' small context, and returns the decoder that embeds
// (default-base), loaded and not held.
func lazyServer(t *testing.T, cfg Config) (*Server, string, *Loaded) {
	t.Helper()
	cfg.BatchScheduler, cfg.Ctx = true, embedCtx
	s, url := startServerAs(t, cfg)
	l, release, err := s.Acquire(context.Background(), "default-base", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if l.sched == nil {
		t.Fatal("the model was not loaded under the batch scheduler")
	}
	return s, url, l
}

// sessionBytes is what one session of l's model at l's context holds (its
// KV cache and buffers), from a state made here.
func sessionBytes(t *testing.T, l *Loaded) int64 {
	t.Helper()
	st, err := l.Model.NewState(model.Options{Ctx: embedCtx, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.KVBytes() + st.BufferBytes()
}

// runningBytes is the model's size as Server.Running (/api/ps, gptgo ps)
// gives it.
func runningBytes(t *testing.T, s *Server) int64 {
	t.Helper()
	r := s.Running()
	if len(r) != 1 {
		t.Fatalf("%d models running, want 1", len(r))
	}
	return r[0].Bytes
}

func embedOne(t *testing.T, url, text string) []float32 {
	t.Helper()
	c := client(url)
	r, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(text)}})
	if err != nil {
		t.Fatal(err)
	}
	return vec32(r.Data[0].Embedding)
}

// Under the batch scheduler a loaded model counts its weights and the
// scheduler's paged cache; the session that serves embeddings joins the
// count with the first embeddings request, and embeds what a session of
// the sessions path embeds.
func TestBatchEmbedSessionMadeOnFirstUse(t *testing.T) {
	s, url, l := lazyServer(t, Config{})
	want := l.Model.WeightBytes() + l.sched.bytes()
	if got := runningBytes(t, s); got != want {
		t.Fatalf("before embeddings: %d bytes counted, want %d (weights and the batch cache, no session)", got, want)
	}
	got := embedOne(t, url, "The sky is blue.")
	want += sessionBytes(t, l)
	if b := runningBytes(t, s); b != want {
		t.Fatalf("after embeddings: %d bytes counted, want %d (with the session)", b, want)
	}
	embedOne(t, url, "Grass is green.")
	if b := runningBytes(t, s); b != want {
		t.Fatalf("after a second request: %d bytes counted, want %d", b, want)
	}

	_, surl := startSessions(t, Config{Ctx: embedCtx})
	if ref := embedOne(t, surl, "The sky is blue."); !sameVec32(got, ref) {
		t.Error("the batch scheduler's lazy session embeds another vector than the sessions path's")
	}
}

// Eight embeddings requests on a fresh model make one session between
// them, counted once.
func TestBatchEmbedSessionMadeOnce(t *testing.T) {
	s, url, l := lazyServer(t, Config{})
	before := runningBytes(t, s)
	var made atomic.Int32
	l.run.mu.Lock()
	mk := l.run.make
	if mk == nil {
		l.run.mu.Unlock()
		t.Fatal("the model's embeddings session was made at load")
	}
	l.run.make = func() (*generate.Session, int64, error) { made.Add(1); return mk() }
	l.run.mu.Unlock()

	var wg sync.WaitGroup
	got := make([][]float32, 8)
	for i := range got {
		wg.Go(func() { got[i] = embedOne(t, url, "one two three") })
	}
	wg.Wait()
	for i := range got {
		if !sameVec32(got[i], got[0]) {
			t.Errorf("concurrent request %d got another vector than request 0", i)
		}
	}
	if n := made.Load(); n != 1 {
		t.Errorf("8 concurrent first requests made %d sessions, want 1", n)
	}
	l.run.mu.Lock()
	n := len(l.run.all)
	l.run.mu.Unlock()
	if n != 1 {
		t.Errorf("the runner holds %d sessions, want 1", n)
	}
	if b, w := runningBytes(t, s), before+sessionBytes(t, l); b != w {
		t.Errorf("%d bytes counted, want %d (the session once)", b, w)
	}
}

// Unloading a model whose session was made on first use closes it with
// the rest; a request still holding the unloaded model makes none.
func TestBatchEmbedSessionUnload(t *testing.T) {
	s, url, l := lazyServer(t, Config{})
	before := runningBytes(t, s)
	if want := l.Model.WeightBytes() + l.sched.bytes(); before != want {
		t.Fatalf("before embeddings: %d bytes counted, want %d", before, want)
	}
	embedOne(t, url, "hello")
	l.run.mu.Lock()
	n := len(l.run.all)
	l.run.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d sessions after an embeddings request, want 1", n)
	}
	if err := s.Unload("default-base"); err != nil {
		t.Fatal(err)
	}
	if r := s.Running(); len(r) != 0 {
		t.Fatalf("%d models running after unload", len(r))
	}
	l.run.mu.Lock()
	closed, free, mk := l.run.closed, len(l.run.free), l.run.make
	l.run.mu.Unlock()
	if !closed || free != 0 || mk != nil {
		t.Errorf("after unload: runner closed %v, %d free sessions, make pending %v; want closed, 0, false", closed, free, mk != nil)
	}
	if err := l.WithSession(context.Background(), func(*generate.Session) error { return nil }); err != errRunnerClosed {
		t.Errorf("WithSession on the unloaded model: %v, want %v", err, errRunnerClosed)
	}
}

// A memory budget the model fits without the session: chat still runs,
// and the first embeddings request is refused with a 503 naming --memory
// (the whole model could not load before).
func TestBatchEmbedSessionMemoryBudget(t *testing.T) {
	probe, _, l := lazyServer(t, Config{})
	budget := runningBytes(t, probe)
	if l.Model.WeightBytes()+l.sched.bytes() != budget {
		t.Fatalf("the model counts %d bytes at load, more than its weights and batch cache", budget)
	}

	_, url, _ := lazyServer(t, Config{MemoryBytes: budget})
	if out := completion(t, url, "Hello", 2); out == "" {
		t.Log("empty completion") // the text does not matter: only that it ran
	}
	status, body := post(t, url+"/v1/embeddings", `{"model":"default-base","input":"hi"}`)
	if status != 503 || !strings.Contains(string(body), "--memory") || !strings.Contains(string(body), "embeddings session") {
		t.Errorf("embeddings over the budget: %d %s, want 503 naming the session and --memory", status, body)
	}
}
