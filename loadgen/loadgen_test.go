// Reference: OpenAI's streaming completions format; the server below streams it on loopback.

package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer streams n chunks 2 ms apart after a 10 ms first-token delay,
// then usage; every fifth request gets a 503.
func fakeServer(t *testing.T, n int) (*httptest.Server, *atomic.Int64) {
	var count, inflight, most atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad path or key", 400)
			return
		}
		var body struct {
			Model     string `json:"model"`
			MaxTokens int    `json:"max_tokens"`
			Stream    bool   `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Model != "m" || !body.Stream || body.MaxTokens != n {
			http.Error(w, fmt.Sprintf("bad body %+v %v", body, err), 400)
			return
		}
		if count.Add(1)%5 == 0 {
			http.Error(w, "busy", 503)
			return
		}
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		f := w.(http.Flusher)
		time.Sleep(10 * time.Millisecond)
		for i := range n {
			if i > 0 {
				time.Sleep(2 * time.Millisecond)
			}
			fmt.Fprintf(w, "data: {\"choices\":[{\"text\":\"t%d\"}]}\n\n", i)
			f.Flush()
		}
		fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", n)
	}))
	t.Cleanup(ts.Close)
	return ts, &most
}

func TestRun(t *testing.T) {
	ts, most := fakeServer(t, 5)
	res, err := Run(context.Background(), Options{URL: ts.URL, Model: "m", APIKey: "k", PromptTokens: 7, GenTokens: 5, Requests: 10}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.Failed != 2 || !strings.Contains(res.FirstError, "503") {
		t.Errorf("requests %d failed %d (%s), want 10 and 2 (every fifth a 503)", res.Requests, res.Failed, res.FirstError)
	}
	if res.GenTokens != 8*5 || res.PromptTokens != 8*7 {
		t.Errorf("tokens %d generated, %d prompt; want 40 and 56", res.GenTokens, res.PromptTokens)
	}
	if most.Load() > 4 || most.Load() < 2 {
		t.Errorf("%d requests were in flight at once, want up to 4", most.Load())
	}
	// TTFT ≥ the 10 ms delay, which the client cannot see shorter. The
	// chunks come 2 ms apart, but a client descheduled on a loaded machine
	// reads several at once, so only the longest gaps are sure to show it.
	if res.TTFTp50 < 10 || res.ITLp99 < 2 || res.TTFTp99 < res.TTFTp50 || res.ITLp99 < res.ITLp50 || res.ITLp50 < 0 {
		t.Errorf("latencies %+v", res)
	}
	if res.TokPerSec <= 0 || res.ReqPerSec <= 0 || res.TokPerSec > 40/res.Seconds+1e-9 {
		t.Errorf("rates %+v", res)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), Options{URL: "http://127.0.0.1:1", Model: "m", PromptTokens: 1, GenTokens: 1, Requests: 0}, 1); err == nil {
		t.Error("0 requests: no error")
	}
	// Nothing listens on port 1: every request fails, counted, not fatal.
	res, err := Run(context.Background(), Options{URL: "http://127.0.0.1:1", Model: "m", PromptTokens: 1, GenTokens: 1, Requests: 2}, 2)
	if err != nil || res.Failed != 2 || res.FirstError == "" {
		t.Errorf("%v %+v", err, res)
	}
}

func TestPercentile(t *testing.T) {
	x := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{50, 3}, {99, 5}, {20, 1}, {21, 2}, {100, 5}} {
		if got := Percentile(x, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestRunResendsOnClosedIdleConnection: a server that, like llama-server,
// closes a kept-alive connection once its request is answered, here at the
// worst moment (after reading the next request, before answering it). The
// requests carry an Idempotency-Key, so net/http sends that POST again on a
// fresh connection and none of them fails; without it every reused
// connection would cost a failed request.
func TestRunResendsOnClosedIdleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var dropped, keys atomic.Int64
	body := "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.Header.Get("Idempotency-Key") != "" {
					keys.Add(1)
				}
				io.Copy(io.Discard, req.Body)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				if _, err := http.ReadRequest(br); err == nil {
					dropped.Add(1) // the next request on this connection: closed unanswered
				}
			}()
		}
	}()
	res, err := Run(context.Background(), Options{URL: "http://" + ln.Addr().String(), Model: "m", PromptTokens: 1, GenTokens: 1, Requests: 6}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.GenTokens != 6 {
		t.Errorf("%d of 6 requests failed (%s), %d tokens; want none failed, 6 tokens", res.Failed, res.FirstError, res.GenTokens)
	}
	if dropped.Load() == 0 {
		t.Error("no request was sent on a connection the server then closed: the test did not exercise the resend")
	}
	if keys.Load() != 6 {
		t.Errorf("%d answered requests carried an Idempotency-Key, want 6", keys.Load())
	}
}
