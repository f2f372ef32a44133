// Reference: issue #17's load test (32 concurrent streaming clients, half disconnecting mid-stream;
// goroutines and sessions back to the baseline; every completed stream well-formed).

package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/generate"
)

// completeTokens is what the load test's completing clients ask for: few,
// so that the test stays fast under the purego build's slower kernels.
const completeTokens = 12

func TestLoadConcurrentStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	s, url := startServer(t, Config{})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	// Clients that disconnect ask for many tokens, so that a generation
	// that went on after its client left would show in the token count.
	body := func(i int) string {
		n := completeTokens
		if i%2 == 1 {
			n = 200
		}
		return fmt.Sprintf(`{"model":"default","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"seed":%d,
			"messages":[{"role":"user","content":"Tell me story number %d."}]}`, n, i, i)
	}
	// Warm up (the model loads), then take the baseline with no connection open.
	if resp, err := hc.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body(0))); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	settle := func() int {
		time.Sleep(20 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	base := settle()

	const clients = 32
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	completed := make(chan int, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("client %d: status %d", i, resp.StatusCode)
				return
			}
			if i%2 == 1 { // disconnect after the first two events
				br := bufio.NewReader(resp.Body)
				for n := 0; n < 2; {
					line, err := br.ReadString('\n')
					if err != nil {
						errs <- fmt.Errorf("client %d: stream ended before it was cut: %v", i, err)
						return
					}
					if strings.HasPrefix(line, "data: ") {
						n++
					}
				}
				cancel()
				return
			}
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			if err := checkChatStream(t, raw); err != nil {
				errs <- fmt.Errorf("client %d: %v\n%s", i, err, raw)
				return
			}
			completed <- i
		}()
	}
	wg.Wait()
	close(errs)
	close(completed)
	for err := range errs {
		t.Error(err)
	}
	if n := len(completed); n != clients/2 {
		t.Errorf("%d streams completed, want %d", n, clients/2)
	}

	// Disconnects cancelled their generations: at most completeTokens for each
	// completed stream and the warm-up, and a few for each cut one (the
	// server notices a closed connection a few tokens late).
	got, max := completionTokens(t, hc, url), float64(completeTokens*(clients/2+1)+20*clients/2)
	t.Logf("%v tokens generated (at most %v allowed; %v if disconnects were ignored)", got, max, completeTokens*(clients/2+1)+200*clients/2)
	if got > max {
		t.Errorf("%v tokens generated, want at most %v: disconnected clients' generations went on", got, max)
	}

	// Back to the baseline: no goroutine, session or hold left behind.
	tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := settle()
		rs := s.Running()
		idle := len(rs) == 1 && rs[0].InUse == 0
		if idle {
			s.models.mu.Lock()
			for _, l := range s.models.loaded {
				idle = idle && l.run.idle()
			}
			s.models.mu.Unlock()
		}
		if n <= base && idle {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (baseline %d), models %+v\n%s", n, base, rs, buf[:runtime.Stack(buf, true)])
		}
	}
}

// completionTokens reads gptgo_completion_tokens_total for the default model.
func completionTokens(t *testing.T, hc *http.Client, url string) float64 {
	resp, err := hc.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `gptgo_completion_tokens_total{model="default:latest"} `); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatal("no gptgo_completion_tokens_total in /metrics")
	return 0
}

// checkChatStream checks a whole chat stream with include_usage: chunks of
// one id, the role first, finish_reason only on the last choice chunk, then
// the usage chunk with empty choices, then [DONE].
func checkChatStream(t *testing.T, raw []byte) error {
	ev := sseEvents(t, raw)
	if len(ev) < 4 || ev[len(ev)-1] != "[DONE]" {
		return fmt.Errorf("%d events, last %q", len(ev), ev[len(ev)-1])
	}
	var chunks []chatChunk
	for i, e := range ev[:len(ev)-1] {
		var c chatChunk
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			return fmt.Errorf("event %d: %v", i, err)
		}
		if i < len(ev)-2 && !strings.HasSuffix(e, `,"usage":null}`) {
			return fmt.Errorf("event %d lacks \"usage\":null with include_usage: %s", i, e)
		}
		chunks = append(chunks, c)
	}
	first, last := chunks[0], chunks[len(chunks)-1]
	if len(first.Choices) != 1 || first.Choices[0].Delta.Role != "assistant" {
		return fmt.Errorf("first chunk %+v", first)
	}
	if len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens < 1 || last.Usage.CompletionTokens > completeTokens {
		return fmt.Errorf("usage chunk %+v", last)
	}
	for i, c := range chunks[:len(chunks)-1] {
		if c.ID != first.ID || c.Object != "chat.completion.chunk" || len(c.Choices) != 1 {
			return fmt.Errorf("chunk %d: %+v", i, c)
		}
		if fin := c.Choices[0].FinishReason != nil; fin != (i == len(chunks)-2) {
			return fmt.Errorf("chunk %d: finish_reason %v", i, c.Choices[0].FinishReason)
		}
	}
	return nil
}

// On the sessions path, Close ends a request queued behind a held session
// with 503, and later acquires fail (TestBatchShutdown is the batch
// scheduler's).
func TestShutdownEndsQueuedAndRunningRequests(t *testing.T) {
	s, url := startSessions(t, Config{})
	ctx := context.Background()
	l, release, err := s.Acquire(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the model's only session so that the next request queues.
	held := make(chan struct{})
	done := make(chan struct{})
	go l.WithSession(ctx, func(*generate.Session) error {
		close(held)
		<-done
		return nil
	})
	<-held
	result := make(chan int, 1)
	go func() {
		status, body := post(t, url+"/v1/chat/completions", `{"model":"default","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if status == 503 {
			openAIErr(t, body)
		}
		result <- status
	}()
	for l.run.waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	select {
	case status := <-result:
		if status != 503 {
			t.Fatalf("queued request at shutdown: %d, want 503", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued request still waiting after Close")
	}
	close(done)
	release()
	if _, _, err := s.Acquire(ctx, "default", nil); Status(err) != 503 {
		t.Fatalf("acquire after Close: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	s, url := startServer(t, Config{})
	if status, body := post(t, url+"/v1/chat/completions", `{"model":"default","max_tokens":4,"logit_bias":`+eogBan(t, s)+`,"messages":[{"role":"user","content":"hi"}]}`); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	post(t, url+"/v1/chat/completions", `{`)
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`gptgo_http_requests_total{endpoint="POST /v1/chat/completions",status="200"} 1`,
		`gptgo_http_requests_total{endpoint="POST /v1/chat/completions",status="400"} 1`,
		`gptgo_time_to_first_token_seconds_count{model="default:latest"} 1`,
		`gptgo_time_per_output_token_seconds_count{model="default:latest"} 3`, // 4 tokens, 3 intervals
		`gptgo_completion_tokens_total{model="default:latest"} 4`,
		`gptgo_loaded_models 1`,
		`gptgo_model_memory_bytes{model="default:latest"}`,
		`gptgo_queue_depth{model="default:latest"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// On the sessions path with --parallel 2 a request is served while another
// holds a session; the third waits its turn in the FIFO queue.
func TestParallelSessions(t *testing.T) {
	s, url := startSessions(t, Config{Parallel: 2})
	ctx := context.Background()
	l, release, err := s.Acquire(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	held, done := make(chan struct{}), make(chan struct{})
	go l.WithSession(ctx, func(*generate.Session) error {
		close(held)
		<-done
		return nil
	})
	<-held
	chat := `{"model":"default","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`
	if status, body := post(t, url+"/v1/chat/completions", chat); status != 200 {
		t.Fatalf("second session: %d %s", status, body)
	}
	held2, done2 := make(chan struct{}), make(chan struct{})
	go l.WithSession(ctx, func(*generate.Session) error {
		close(held2)
		<-done2
		return nil
	})
	<-held2
	result := make(chan int, 1)
	go func() {
		status, _ := post(t, url+"/v1/chat/completions", chat)
		result <- status
	}()
	for l.run.waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-result:
		t.Fatal("a third request was served while both sessions were held")
	case <-time.After(20 * time.Millisecond):
	}
	close(done)
	if status := <-result; status != 200 {
		t.Fatalf("queued request: %d", status)
	}
	close(done2)
}

// On the sessions path a client that leaves while queued leaves the queue,
// and its request is counted as 499 (client closed request), not as a
// server error.
func TestQueuedClientLeaves(t *testing.T) {
	s, url := startSessions(t, Config{})
	ctx := context.Background()
	l, release, err := s.Acquire(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	held, done := make(chan struct{}), make(chan struct{})
	go l.WithSession(ctx, func(*generate.Session) error {
		close(held)
		<-done
		return nil
	})
	<-held
	cctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(cctx, "POST", url+"/v1/chat/completions", strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"hi"}]}`))
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	for l.run.waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-errc
	for deadline := time.Now().Add(5 * time.Second); l.run.waiting() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the departed client is still queued")
		}
	}
	close(done)
	wantDeparted499(t, url)
}

// A panic fails its request alone: in a generation it becomes a server
// error and the session is reset for the next request; in a handler it
// becomes a 500 in the path's envelope.
func TestPanicsFailOneRequest(t *testing.T) {
	s, url := startServer(t, Config{})
	ctx := context.Background()
	l, release, err := s.Acquire(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	req := &generate.Request{Prompt: "Once upon a time", Options: generate.Options{MaxTokens: 4}}
	_, err = l.Generate(ctx, req, func(ev generate.Event) error {
		if ev.Kind == generate.EventToken {
			panic("boom")
		}
		return nil
	})
	if Status(err) != 500 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic in emit: %v", err)
	}
	if status, body := post(t, url+"/v1/completions", `{"model":"default","prompt":"Once upon a time","max_tokens":4}`); status != 200 {
		t.Fatalf("after the panic: %d %s", status, body)
	}
	rec := httptest.NewRecorder()
	s.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler bug") })).
		ServeHTTP(rec, httptest.NewRequest("POST", "/api/chat", strings.NewReader("{}")))
	if rec.Code != 500 || !strings.HasPrefix(rec.Body.String(), `{"error":"server: internal error (request req-`) {
		t.Fatalf("handler panic: %d %s", rec.Code, rec.Body)
	}
}

// wantDeparted499 polls /metrics until a request answered 499 (a client
// that left) is counted, and fails if a chat completion was counted as a
// server error instead.
func wantDeparted499(t *testing.T, url string) {
	t.Helper()
	var text string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(text, `status="499"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no 499 in /metrics:\n%s", text)
		}
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(body)
	}
	if strings.Contains(text, `endpoint="POST /v1/chat/completions",status="500"`) {
		t.Fatal("a departed client was counted as a server error")
	}
}
