// Reference: issue #24 (continuous batching: admission, chunked prefill, preemption, cancellation
// mid-prefill and mid-decode, --max-queue with 503 and Retry-After) and issue #17's load test.

package server

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// batchFlag runs every server test with the batch scheduler:
// go test ./server/ -args -batch-scheduler
var batchFlag = flag.Bool("batch-scheduler", false, "run the server tests with Config.BatchScheduler")

// defaultModel opens the embedded model and its tokenizer.
func defaultModel(t testing.TB) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// stepper makes a batcher's loop wait for the test before each step.
type stepper struct {
	next, done, quit chan struct{}
	once             sync.Once
}

func newStepper(b *batcher) *stepper {
	s := &stepper{next: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{})}
	b.beforeStep = func() {
		select {
		case <-s.next:
		case <-s.quit:
		}
	}
	b.afterStep = func() {
		select {
		case s.done <- struct{}{}:
		case <-s.quit:
		}
	}
	return s
}

// step lets the loop run one step (there must be work) and waits for its end.
func (s *stepper) step() { s.next <- struct{}{}; <-s.done }

// stop lets the loop run freely (again and again: a no-op).
func (s *stepper) stop() { s.once.Do(func() { close(s.quit) }) }

// collect reads a sequence's events on a goroutine; done closes at the end.
type collected struct {
	mu     sync.Mutex
	tokens int
	kinds  []generate.EventKind
	done   chan struct{}
}

func collect(s *bseq) *collected {
	c := &collected{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ev := range s.events.all() {
			c.mu.Lock()
			c.kinds = append(c.kinds, ev.Kind)
			if ev.Kind == generate.EventToken && ev.Token >= 0 {
				c.tokens++
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collected) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.tokens }

func newTestBatcher(t *testing.T, ctx, parallel int, o batchOptions) (*batcher, *tokenizer.Tokenizer) {
	t.Helper()
	m, tok := defaultModel(t)
	b, err := newBatcher(m, generate.FromTokenizer(tok), ctx, parallel, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	return b, tok
}

func promptOf(t *testing.T, tok *tokenizer.Tokenizer, n int) []int32 {
	t.Helper()
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(100 + (i*37)%500)
	}
	return p
}

// TestBatchCancelMidPrefillAndMidDecode: a 40-token prompt under a 4-token
// budget takes ten steps; cancelled after the first, it ends cancelled with
// no token, and its blocks are back at once. A decoding sequence cancelled
// after three tokens ends the same way, beside another that finishes.
func TestBatchCancelMidPrefillAndMidDecode(t *testing.T) {
	b, tok := newTestBatcher(t, 128, 2, batchOptions{stepTokens: 4})
	defer b.close()
	st := newStepper(b)
	defer st.stop() // before close: lets the loop through its last steps

	ctx, cancel := context.WithCancel(context.Background())
	a, err := b.submit(ctx, &generate.Request{Options: generate.Options{MaxTokens: 50, IgnoreEOG: true}}, promptOf(t, tok, 40))
	if err != nil {
		t.Fatal(err)
	}
	ca := collect(a)
	st.step() // admitted, 4 of 40 prompt tokens computed
	if s := b.snapshot(); s.Running != 1 || s.FreeBlocks == s.Blocks {
		t.Fatalf("after one step: %+v", s)
	}
	cancel()
	st.step()
	<-ca.done
	if a.err != nil || a.d == nil || a.d.Stop != generate.StopCancelled || ca.count() != 0 {
		t.Fatalf("cancelled mid-prefill: %v %+v, %d tokens", a.err, a.d, ca.count())
	}
	if s := b.snapshot(); s.FreeBlocks != s.Blocks || s.Running != 0 {
		t.Fatalf("blocks not back after the cancel: %+v", s)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	req := func(n int) *generate.Request {
		return &generate.Request{Options: generate.Options{MaxTokens: n, IgnoreEOG: true}}
	}
	x, err := b.submit(ctx, req(50), promptOf(t, tok, 3))
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.submit(context.Background(), req(12), promptOf(t, tok, 2))
	if err != nil {
		t.Fatal(err)
	}
	cx, cy := collect(x), collect(y)
	for i := 0; i < 50 && cx.count() < 3; i++ {
		st.step()
		time.Sleep(time.Millisecond) // the collector runs
	}
	cancel()
	st.step() // reaps x
	<-cx.done
	if x.d == nil || x.d.Stop != generate.StopCancelled || x.d.CompletionTokens < 3 || x.d.CompletionTokens >= 50 {
		t.Fatalf("cancelled mid-decode: %v %+v", x.err, x.d)
	}
	for s := b.snapshot(); s.Running+s.Waiting > 0; s = b.snapshot() {
		st.step()
	}
	<-cy.done
	if y.err != nil || y.d.Stop != generate.StopMaxTokens || y.d.CompletionTokens != 12 {
		t.Fatalf("the other sequence: %v %+v", y.err, y.d)
	}
	if s := b.snapshot(); s.FreeBlocks != s.Blocks || s.Running+s.Waiting != 0 {
		t.Fatalf("at the end: %+v", s)
	}
}

// TestBatchMaxQueue: with the loop held, a second waiting request beyond
// --max-queue 1 is refused with 503 and Retry-After.
func TestBatchMaxQueue(t *testing.T) {
	b, tok := newTestBatcher(t, 64, 1, batchOptions{maxQueue: 1})
	st := newStepper(b)
	defer func() { st.stop(); b.close() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := &generate.Request{Options: generate.Options{MaxTokens: 2}}
	if _, err := b.submit(ctx, req, promptOf(t, tok, 4)); err != nil {
		t.Fatal(err)
	}
	_, err := b.submit(ctx, req, promptOf(t, tok, 4))
	if err == nil {
		t.Fatal("a second request beyond --max-queue 1 was queued")
	}
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("POST", "/v1/completions", nil), err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "--max-queue") {
		t.Errorf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// TestBatchPreemption runs four sequences in a pool that holds two at most
// (ctx 32, one slot: 2 blocks of 16 for sequences needing 2 each): some are
// preempted and recomputed, all finish with every token asked for, and the
// pool is whole again.
func TestBatchPreemption(t *testing.T) {
	b, tok := newTestBatcher(t, 32, 1, batchOptions{stepTokens: 16})
	defer b.close()
	var cs []*collected
	var ss []*bseq
	for i := range 4 {
		s, err := b.submit(context.Background(), &generate.Request{Options: generate.Options{MaxTokens: 14, IgnoreEOG: true}}, promptOf(t, tok, 10+i))
		if err != nil {
			t.Fatal(err)
		}
		ss, cs = append(ss, s), append(cs, collect(s))
	}
	for i, c := range cs {
		<-c.done
		if ss[i].err != nil || ss[i].d.CompletionTokens != 14 || c.count() != 14 {
			t.Fatalf("sequence %d: %v %+v, %d token events", i, ss[i].err, ss[i].d, c.count())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s := b.snapshot(); s.FreeBlocks != s.Blocks || s.Running != 0; s = b.snapshot() {
		if time.Now().After(deadline) {
			t.Fatalf("pool not whole: %+v", s)
		}
		time.Sleep(time.Millisecond)
	}
	if s := b.snapshot(); s.Preemptions == 0 {
		t.Errorf("no preemption: %+v", s)
	}
}

// completion posts a greedy /v1/completions request and returns its text.
func completion(t *testing.T, url, prompt string, n int) string {
	t.Helper()
	code, body := post(t, url+"/v1/completions", fmt.Sprintf(`{"model":"default","prompt":%q,"max_tokens":%d,"temperature":0}`, prompt, n))
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var r struct {
		Choices []struct{ Text string } `json:"choices"`
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("%v: %s", err, body)
	}
	return r.Choices[0].Text
}

// TestBatchSchedulerEqualsSessions: greedy completions of six prompts,
// all at once through the batch scheduler, are the session runner's one
// by one (the default model's quantized weights give each row the single
// row's bits).
func TestBatchSchedulerEqualsSessions(t *testing.T) {
	_, solo := startSessions(t, Config{})
	_, batch := startServer(t, Config{BatchScheduler: true, Parallel: 2})
	prompts := []string{"Once upon a time", "The capital of France is", "1, 2, 3, 4,", "Hello", "A long time ago in a galaxy", "def main():"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i] = completion(t, solo, p, 16)
	}
	got := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() { got[i] = completion(t, batch, p, 16) })
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("prompt %q: batched %q, alone %q", prompts[i], got[i], want[i])
		}
	}
}

// TestBatchSchedulerStreams is the load test under the batch scheduler:
// 16 streaming clients, half leaving after two events; the others' streams
// are whole, and afterwards every block is back and no goroutine is left.
func TestBatchSchedulerStreams(t *testing.T) {
	s, url := startServer(t, Config{BatchScheduler: true, Parallel: 2})
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	hc := &http.Client{Transport: tr}
	body := func(i int) string {
		n := completeTokens
		if i%2 == 1 {
			n = 200
		}
		return fmt.Sprintf(`{"model":"default","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"seed":%d,"messages":[{"role":"user","content":"Tell me story number %d."}]}`, n, i, i)
	}
	if code, _ := post(t, url+"/v1/chat/completions", body(0)); code != 200 {
		t.Fatalf("warm-up: %d", code)
	}
	tr.CloseIdleConnections()
	time.Sleep(20 * time.Millisecond)
	base := runtime.NumGoroutine()
	const clients = 16
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(body(i)))
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("client %d: status %d", i, resp.StatusCode)
				return
			}
			if i%2 == 1 {
				br := bufio.NewReader(resp.Body)
				for n := 0; n < 2; {
					line, err := br.ReadString('\n')
					if err != nil {
						errs <- fmt.Errorf("client %d: %v", i, err)
						return
					}
					if strings.HasPrefix(line, "data: ") {
						n++
					}
				}
				return // cancel: the client leaves
			}
			raw, err := io.ReadAll(resp.Body)
			if err == nil {
				err = checkChatStream(t, raw)
			}
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	var b *batcher
	s.models.mu.Lock()
	for _, l := range s.models.loaded {
		b = l.sched
	}
	s.models.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(20 * time.Millisecond)
		st := b.snapshot()
		n := runtime.NumGoroutine()
		if st.FreeBlocks == st.Blocks && st.Running+st.Waiting == 0 && n <= base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back to idle: %+v, goroutines %d (baseline %d)", st, n, base)
		}
	}
}

// TestBatchPrefixCache: a second request whose prompt starts with the
// first's long preamble takes its full blocks from the cache (counted in
// /metrics), and its greedy text is the session runner's.
func TestBatchPrefixCache(t *testing.T) {
	_, solo := startSessions(t, Config{})
	_, batch := startServer(t, Config{BatchScheduler: true})
	pre := strings.Repeat("You are a careful assistant who answers in short sentences. ", 6)
	for _, q := range []string{"Question: what is two plus two? Answer:", "Question: name a colour. Answer:"} {
		if got, want := completion(t, batch, pre+q, 12), completion(t, solo, pre+q, 12); got != want {
			t.Errorf("%q: batched %q, alone %q", q, got, want)
		}
	}
	resp, err := http.Get(batch + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cached float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `gptgo_prompt_cached_tokens_total{model="default:latest"} `); ok {
			fmt.Sscan(v, &cached)
		}
	}
	if cached < 32 {
		t.Errorf("%v prompt tokens from the prefix cache, want the preamble's full blocks (≥ 32)", cached)
	}
	t.Logf("%v prompt tokens from the cache", cached)
}

// TestBatchPanicFailsOneRequest: a panic in a step (here the planner's,
// forced by a broken budget) fails the request at fault, and the loop
// serves the next one.
func TestBatchPanicFailsOneRequest(t *testing.T) {
	b, tok := newTestBatcher(t, 64, 1, batchOptions{})
	defer b.close()
	st := newStepper(b)
	defer st.stop()
	b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	b.plan.blockTokens = 0 // Schedule divides by it: a panic in planning
	a, err := b.submit(context.Background(), &generate.Request{Options: generate.Options{MaxTokens: 2}}, promptOf(t, tok, 4))
	if err != nil {
		t.Fatal(err)
	}
	ca := collect(a)
	st.step()
	<-ca.done
	if a.err == nil || Status(a.err) != 500 {
		t.Fatalf("the panicking request: %v", a.err)
	}
	b.plan.blockTokens = model.DefaultBlockTokens
	c, err := b.submit(context.Background(), &generate.Request{Options: generate.Options{MaxTokens: 2}}, promptOf(t, tok, 4))
	if err != nil {
		t.Fatal(err)
	}
	cc := collect(c)
	st.step() // the prompt and the first token
	st.step() // the second: done
	<-cc.done
	if c.err != nil || c.d.CompletionTokens != 2 {
		t.Fatalf("the next request: %v %+v", c.err, c.d)
	}
}

// heldBatcher starts a server under the batch scheduler with its model
// loaded and its loop held by a stepper (released when the test ends).
func heldBatcher(t *testing.T) (*Server, string, *batcher, *stepper) {
	t.Helper()
	s, url := startServer(t, Config{BatchScheduler: true})
	l, release, err := s.Acquire(context.Background(), "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	st := newStepper(l.sched) // the loop is idle, waiting for a request: no step reads the hooks now
	t.Cleanup(st.stop)
	return s, url, l.sched, st
}

// waitQueued waits until n requests have reached the batcher.
func waitQueued(t *testing.T, b *batcher, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); b.queued.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", b.queued.Load(), n)
		}
	}
}

// TestBatchShutdown: under the batch scheduler Close ends a running stream
// with an error event and a waiting request with 503, and later acquires
// fail (TestShutdownEndsQueuedAndRunningRequests is the sessions').
func TestBatchShutdown(t *testing.T) {
	s, url, b, st := heldBatcher(t)
	first := make(chan string, 1)
	rest := make(chan string, 1)
	go func() {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"default","stream":true,"max_tokens":200,"logit_bias":`+eogBan(t, s)+`,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, _ := br.ReadString('\n')
		first <- line
		b, _ := io.ReadAll(br)
		rest <- string(b)
	}()
	waitQueued(t, b, 1)
	var line string
	for line == "" {
		st.step()
		select {
		case line = <-first:
		case <-time.After(time.Millisecond):
		}
	}
	if !strings.HasPrefix(line, "data: ") {
		t.Fatalf("the running stream began with %q", line)
	}
	result := make(chan int, 1)
	go func() {
		status, body := post(t, url+"/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hello"}]}`)
		if status == 503 {
			openAIErr(t, body)
		}
		result <- status
	}()
	waitQueued(t, b, 1) // the second, not yet admitted
	s.Close()
	st.stop()
	select {
	case status := <-result:
		if status != 503 {
			t.Fatalf("waiting request at shutdown: %d, want 503", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiting request still there after Close")
	}
	if r := <-rest; !strings.Contains(r, "shutting down") || strings.Contains(r, "[DONE]") {
		t.Fatalf("the running stream at shutdown ended with:\n%s", r)
	}
	if _, _, err := s.Acquire(context.Background(), "default", nil); Status(err) != 503 {
		t.Fatalf("acquire after Close: %v", err)
	}
}

// TestBatchQueuedClientLeaves: a client that leaves while its request waits
// for the batch scheduler is dropped at the next step, counted as 499.
func TestBatchQueuedClientLeaves(t *testing.T) {
	_, url, b, st := heldBatcher(t)
	// The loop, held before its first step, answers whether the waiting
	// request's context has ended (the server notices a closed connection
	// a moment after the client): only then may the step run.
	st.stop()
	ask, run := make(chan chan bool), make(chan struct{})
	b.beforeStep = func() { // the loop is idle: nothing reads the hook now
		for {
			select {
			case r := <-ask:
				r <- len(b.waiting) == 1 && b.waiting[0].ctx.Err() != nil
			case <-run:
				return
			}
		}
	}
	cctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(cctx, "POST", url+"/v1/chat/completions", strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"hi"}]}`))
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	waitQueued(t, b, 1)
	cancel()
	<-errc
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r := make(chan bool)
		ask <- r
		if <-r {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the client leave")
		}
	}
	close(run) // the step reaps it: nothing runs
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s := b.snapshot()
		if s.Steps > 0 && s.Running+s.Waiting == 0 && b.queued.Load() == 0 && s.FreeBlocks == s.Blocks {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the departed client is still there: %+v, %d queued", s, b.queued.Load())
		}
	}
	wantDeparted499(t, url)
}

// TestBatchTimings: under the batch scheduler a request's figures are a
// session's: Ollama's prompt_eval_duration is the prefill (it was 0), the
// eval_duration does not include the wait for admission, and the wait is
// in gptgo_queue_wait_seconds.
func TestBatchTimings(t *testing.T) {
	_, url, b, st := heldBatcher(t)
	type final struct {
		PromptEval int64 `json:"prompt_eval_duration"`
		Eval       int64 `json:"eval_duration"`
		Total      int64 `json:"total_duration"`
	}
	got := make(chan final, 1)
	go func() {
		status, body := post(t, url+"/api/generate", `{"model":"default","prompt":"Why is the sky blue?","stream":false,"options":{"num_predict":3,"temperature":0}}`)
		var f final
		if status != 200 || json.Unmarshal(body, &f) != nil {
			t.Errorf("/api/generate: %d %s", status, body)
		}
		got <- f
	}()
	waitQueued(t, b, 1)
	const held = 300 * time.Millisecond // the request waits this long for its first step; three tokens of the default model decode in a few ms, so eval stays far below it even on a loaded machine
	time.Sleep(held)
	st.stop()
	f := <-got
	if f.PromptEval <= 0 || f.Eval <= 0 || f.Eval >= int64(held) || f.Total < int64(held) {
		t.Fatalf("prompt_eval_duration %v, eval_duration %v, total_duration %v: want the prefill, the decoding without the %v wait, and the whole",
			time.Duration(f.PromptEval), time.Duration(f.Eval), time.Duration(f.Total), held)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var wait float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `gptgo_queue_wait_seconds_sum{model="default:latest"} `); ok {
			fmt.Sscan(v, &wait)
		}
	}
	if wait < held.Seconds() {
		t.Fatalf("gptgo_queue_wait_seconds_sum %v, want at least the %v wait", wait, held)
	}
}
