// Reference: vLLM benchmarks/benchmark_serving.py (TTFT, ITL, output throughput, request throughput) and
// OpenAI's streaming completions (server-sent events, "data: [DONE]", stream_options.include_usage).

package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options describe a run.
type Options struct {
	URL          string // the server's base URL (…/v1/completions is appended unless it ends so)
	Model        string
	APIKey       string // sent as a Bearer token when not empty
	PromptTokens int    // about this many prompt tokens (a repeated word)
	GenTokens    int    // max_tokens of each request
	Requests     int    // requests per concurrency level
	Client       *http.Client
}

// Result is one concurrency level's figures. Durations are in milliseconds.
type Result struct {
	Concurrency  int     `json:"concurrency"`
	Requests     int     `json:"requests"`
	Failed       int     `json:"failed"`
	Seconds      float64 `json:"seconds"`
	PromptTokens int     `json:"prompt_tokens"`
	GenTokens    int     `json:"gen_tokens"`
	TokPerSec    float64 `json:"gen_tok_per_s"` // generated tokens of all requests ÷ wall time
	ReqPerSec    float64 `json:"req_per_s"`
	TTFTp50      float64 `json:"ttft_p50_ms"`
	TTFTp99      float64 `json:"ttft_p99_ms"`
	ITLp50       float64 `json:"itl_p50_ms"`
	ITLp99       float64 `json:"itl_p99_ms"`
	FirstError   string  `json:"first_error,omitempty"`
}

// one is a request's measurements.
type one struct {
	ttft        time.Duration
	gaps        []time.Duration
	prompt, gen int
	err         error
}

// Run drives concurrency clients until o.Requests requests have finished.
func Run(ctx context.Context, o Options, concurrency int) (Result, error) {
	if concurrency < 1 || o.Requests < 1 || o.GenTokens < 1 || o.PromptTokens < 1 {
		return Result{}, fmt.Errorf("loadgen: concurrency %d, requests %d, gen tokens %d, prompt tokens %d: each must be at least 1", concurrency, o.Requests, o.GenTokens, o.PromptTokens)
	}
	url := strings.TrimRight(o.URL, "/")
	if !strings.HasSuffix(url, "/completions") {
		if !strings.HasSuffix(url, "/v1") {
			url += "/v1"
		}
		url += "/completions"
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	}
	body, err := json.Marshal(map[string]any{
		"model": o.Model, "prompt": strings.Repeat(" hello", o.PromptTokens), "max_tokens": o.GenTokens,
		"temperature": 0, "stream": true, "stream_options": map[string]bool{"include_usage": true},
	})
	if err != nil {
		return Result{}, err
	}
	results := make([]one, o.Requests)
	next := make(chan int, o.Requests)
	for i := range o.Requests {
		next <- i
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					results[i].err = ctx.Err()
					continue
				}
				results[i] = request(ctx, hc, url, o.APIKey, body)
			}
		})
	}
	wg.Wait()
	return summarize(results, concurrency, time.Since(start)), ctx.Err()
}

// idempotencyKey numbers the requests' Idempotency-Key headers.
var idempotencyKey atomic.Uint64

// request sends one streaming completion and times its chunks.
func request(ctx context.Context, hc *http.Client, url, key string, body []byte) (r one) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return one{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	// Marks the POST as safe to resend, so that net/http sends it again on a
	// fresh connection when the server has just closed the idle one it
	// picked (llama-server does this between requests): that race is the
	// client's, not a failed request. Nothing was processed when it happens.
	req.Header.Set("Idempotency-Key", strconv.FormatUint(idempotencyKey.Add(1), 10))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return one{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return one{err: fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var last time.Time
	chunks, usage := 0, false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			break
		}
		var c struct {
			Choices []struct {
				Text  string `json:"text"`
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return one{err: fmt.Errorf("a stream chunk: %v", err)}
		}
		if len(c.Error) > 0 {
			return one{err: fmt.Errorf("stream error: %s", c.Error)}
		}
		if c.Usage != nil {
			r.prompt, r.gen, usage = c.Usage.Prompt, c.Usage.Completion, true
		}
		if len(c.Choices) == 0 || c.Choices[0].Text+c.Choices[0].Delta.Content == "" {
			continue
		}
		now := time.Now()
		if last.IsZero() {
			r.ttft = now.Sub(t0)
		} else {
			r.gaps = append(r.gaps, now.Sub(last))
		}
		last = now
		chunks++
	}
	if err := sc.Err(); err != nil {
		return one{err: err}
	}
	if !usage {
		r.gen = chunks
	}
	if last.IsZero() && r.gen > 0 {
		return one{err: errors.New("tokens counted but no text streamed")}
	}
	return r
}

func summarize(rs []one, concurrency int, wall time.Duration) Result {
	res := Result{Concurrency: concurrency, Requests: len(rs), Seconds: wall.Seconds()}
	var ttft, itl []float64
	for _, r := range rs {
		if r.err != nil {
			res.Failed++
			if res.FirstError == "" {
				res.FirstError = r.err.Error()
			}
			continue
		}
		res.PromptTokens += r.prompt
		res.GenTokens += r.gen
		if r.ttft > 0 {
			ttft = append(ttft, ms(r.ttft))
		}
		for _, g := range r.gaps {
			itl = append(itl, ms(g))
		}
	}
	if s := wall.Seconds(); s > 0 {
		res.TokPerSec = float64(res.GenTokens) / s
		res.ReqPerSec = float64(len(rs)-res.Failed) / s
	}
	res.TTFTp50, res.TTFTp99 = Percentile(ttft, 50), Percentile(ttft, 99)
	res.ITLp50, res.ITLp99 = Percentile(itl, 50), Percentile(itl, 99)
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Percentile is the p-th percentile of x by the nearest-rank method (the
// smallest value with at least p% of the values at or below it); 0 for no
// values.
func Percentile(x []float64, p float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	k := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[min(max(k, 0), len(s)-1)]
}
