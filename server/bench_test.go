// Reference: llama-bench's tg measure (tokens/s of decoding alone), taken here through the whole
// server path: HTTP on loopback, the OpenAI handler, the queue, SSE framing and JSON per token.

package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// BenchmarkServeDecode streams greedy chat completions of 128 tokens
// (end-of-turn banned, so every request decodes all of them) and reports
// the client-side decode rate — tokens after the first over the time from
// the first token's chunk to the last one's — and the time to the first
// token, beside the same decoding run directly on a session
// (Session.Generate, alternating with the server's requests). Compare with `gptgo bench MODEL -p 0 -n 128` on the same file
// (docs/performance.md). The model is $GPTGO_BENCH_MODEL (a GGUF file),
// else the embedded default; $GPTGO_BENCH_THREADS sets the threads (2).
//
//	GPTGO_BENCH_MODEL=llama110m-Q8_0.gguf go test ./server -run '^$' -bench ServeDecode -benchtime 5x
func BenchmarkServeDecode(b *testing.B) {
	threads := 2
	if v := os.Getenv("GPTGO_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	cfg := Config{Threads: threads, Ctx: 512}
	s, url := startServer(b, cfg)
	name := benchModel(b, s)
	l, release, err := s.Acquire(b.Context(), name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	var ban []string
	for _, id := range l.Tok.EOGs() {
		ban = append(ban, fmt.Sprintf(`"%d":-100`, id))
	}
	const n = 128
	body := fmt.Sprintf(`{"model":%q,"stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"temperature":0,
		"logit_bias":{%s},"messages":[{"role":"user","content":"hi"}]}`, name, n, strings.Join(ban, ","))
	run := func() (decode, ttft time.Duration, tokens int) {
		start := time.Now()
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var first, last time.Time
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var c chatChunk
			if err := json.Unmarshal([]byte(data), &c); err != nil {
				b.Fatal(err)
			}
			if c.Usage != nil {
				tokens = c.Usage.CompletionTokens
			}
			if len(c.Choices) == 1 && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
				last = time.Now()
				if first.IsZero() {
					first = last
				}
			}
		}
		return last.Sub(first), first.Sub(start), tokens
	}
	// direct is the same generation without the server: Session.Generate on
	// one of the model's sessions, greedy, 128 tokens from the same prompt.
	req := generate.Request{Messages: []chat.Message{{Role: "user", Content: "hi"}}}
	prompt, err := req.Render(l.Tok, l.Template)
	if err != nil {
		b.Fatal(err)
	}
	direct := func() time.Duration {
		var first, last time.Time
		err := l.WithSession(b.Context(), func(sess *generate.Session) error {
			sess.Reset()
			_, err := sess.Generate(b.Context(), prompt, generate.Options{MaxTokens: n, IgnoreEOG: true}, func(generate.Token) error {
				last = time.Now()
				if first.IsZero() {
					first = last
				}
				return nil
			})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return last.Sub(first)
	}
	run() // warm: the first request pays for page faults
	direct()
	b.ResetTimer()
	// Alternate the two, so that the host's drift hits both alike, and
	// report the median of the pairs' ratios beside the totals: on a busy
	// host a pair run back to back is the fairest comparison there is.
	var decode, ttft, base time.Duration
	var tokens int
	ratios := make([]float64, 0, b.N)
	for range b.N {
		d, t, k := run()
		decode += d
		ttft += t
		tokens += k - 1
		dd := direct()
		base += dd
		ratios = append(ratios, (float64(k-1)/d.Seconds())/(float64(n-1)/dd.Seconds()))
	}
	slices.Sort(ratios)
	b.ReportMetric(float64(tokens)/decode.Seconds(), "tok/s")
	b.ReportMetric(float64(b.N*(n-1))/base.Seconds(), "direct-tok/s")
	b.ReportMetric(ratios[len(ratios)/2], "server/direct")
	b.ReportMetric(float64(ttft.Microseconds())/1000/float64(b.N), "ttft-ms")
}

// benchModel names the model a server benchmark runs: $GPTGO_BENCH_MODEL,
// linked into s's models directory as "bench", else the embedded default.
func benchModel(b *testing.B, s *Server) string {
	b.Helper()
	p := os.Getenv("GPTGO_BENCH_MODEL")
	if p == "" {
		return "default"
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(s.cfg.Models.Dir(), "bench.gguf")); err != nil {
		b.Fatal(err)
	}
	return "bench"
}
