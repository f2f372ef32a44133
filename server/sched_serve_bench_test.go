// Reference: issue #24 (aggregate decode tokens/s at concurrency N through the whole server: HTTP on
// loopback, the completions handler, the batch loop, SSE and JSON per token), measured with loadgen, the
// load generator of `gptgo bench serve`.

package server

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/loadgen"
	"github.com/gptgo/gptgo/tokenizer"
)

// BenchmarkServeBatched runs `gptgo bench serve`'s load (16 streaming
// completions of a 32-token prompt and 64 generated tokens, temperature 0)
// at concurrency 4 against a server under the batch scheduler, as
// docs/performance.md's side-by-side does with a separate server process,
// and reports the aggregate generated tokens/s; beside it the same load
// submitted straight to the batch loop (loop-tok/s, alternating) and the
// share of the wall time the loop spent in its steps. The client runs in the
// same process, so a CPU, mutex or block profile (-cpuprofile,
// -mutexprofile, -blockprofile) shows both sides. The model is
// $GPTGO_BENCH_MODEL (a GGUF file), else the embedded default;
// $GPTGO_BENCH_THREADS sets the threads (2), $GPTGO_BENCH_CONCURRENCY the
// clients (4).
//
//	GPTGO_BENCH_MODEL=m110-q8_0.gguf go test ./server -run '^$' -bench ServeBatched -benchtime 3x
func BenchmarkServeBatched(b *testing.B) {
	threads, clients := 2, 4
	if v := os.Getenv("GPTGO_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("GPTGO_BENCH_CONCURRENCY"); v != "" {
		clients, _ = strconv.Atoi(v)
	}
	s, url := startServer(b, Config{BatchScheduler: true, Threads: threads, Parallel: clients, Ctx: 256})
	name := benchModel(b, s)
	o := loadgen.Options{URL: url, Model: name, PromptTokens: 32, GenTokens: 64, Requests: 16}
	warm := o
	warm.Requests, warm.GenTokens = 1, 4
	if _, err := loadgen.Run(b.Context(), warm, 1); err != nil {
		b.Fatal(err)
	}
	// The same load submitted straight to the model's batch loop, no HTTP,
	// alternating with the served runs: the difference is what HTTP, the
	// handler, SSE and JSON cost the aggregate rate.
	l, release, err := s.Acquire(b.Context(), name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	prompt := l.Tok.Encode(strings.Repeat(" hello", o.PromptTokens), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	direct := func() (tokens int, secs float64) {
		next := make(chan int, o.Requests)
		for i := range o.Requests {
			next <- i
		}
		close(next)
		var mu sync.Mutex
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range next {
					req := &generate.Request{Tokens: prompt, Options: generate.Options{MaxTokens: o.GenTokens, Sampler: generate.SamplerOptions{Temperature: 0}}}
					q, err := l.sched.submit(b.Context(), req, prompt)
					if err != nil {
						b.Error(err)
						return
					}
					for range q.events.all() {
					}
					mu.Lock()
					tokens += q.d.CompletionTokens
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return tokens, time.Since(start).Seconds()
	}

	// The loop's time inside its steps (the hooks run on the loop; they are
	// set while it is idle, and read once the runs are over): the rest of
	// the wall time it waited for work, e.g. between a request's end and the
	// next one's arrival.
	var inSteps atomic.Int64 // ns
	var began time.Time
	l.sched.beforeStep = func() { began = time.Now() }
	l.sched.afterStep = func() { inSteps.Add(int64(time.Since(began))) }
	var tokens, secs, dTokens, dSecs float64
	b.ResetTimer()
	for range b.N {
		r, err := loadgen.Run(b.Context(), o, clients)
		if err != nil || r.Failed > 0 {
			b.Fatalf("%v; %d failed: %s", err, r.Failed, r.FirstError)
		}
		tokens += float64(r.GenTokens)
		secs += r.Seconds
		n, t := direct()
		dTokens += float64(n)
		dSecs += t
	}
	b.StopTimer()
	b.ReportMetric(tokens/secs, "tok/s")
	b.ReportMetric(dTokens/dSecs, "loop-tok/s")
	b.ReportMetric(time.Duration(inSteps.Load()).Seconds()/(secs+dSecs)*100, "%in-steps")
}
