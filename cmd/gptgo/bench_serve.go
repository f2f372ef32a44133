// Reference: vLLM benchmarks/benchmark_serving.py (the figures) and llama.cpp's llama-server (an
// OpenAI-compatible endpoint this drives the same way as gptgo serve).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gptgo/gptgo/loadgen"
)

const benchServeUsage = "serve --url URL --model NAME [--concurrency 1,4,16] [--prompt-tokens 128] [--gen-tokens 128] [--requests 32] [--api-key KEY] [--json]"

// runBenchServe is `gptgo bench serve`: a load generator against any
// OpenAI-compatible server (package loadgen), one line per concurrency.
func runBenchServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", benchServeUsage+"\n\nDrives POST /v1/completions (streaming) with closed-loop clients at each concurrency and reports aggregate generated tokens/s, time to first token and inter-token latency (p50/p99, ms) and requests/s.")
	url := fs.String("url", "", "the server's base URL, e.g. http://127.0.0.1:11434 (required)")
	name := fs.String("model", "", "model name to request (required)")
	levels := fs.String("concurrency", "1,4,16", "comma-separated numbers of clients in flight")
	prompt := fs.Int("prompt-tokens", 128, "about this many prompt tokens per request (a repeated word)")
	gen := fs.Int("gen-tokens", 128, "max_tokens of each request")
	requests := fs.Int("requests", 32, "requests per concurrency level")
	key := fs.String("api-key", "", "Bearer token to send")
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of the table")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
	switch {
	case *url == "":
		return fmt.Errorf("--url: required (the server's base URL)")
	case *name == "":
		return fmt.Errorf("--model: required")
	case *prompt < 1:
		return fmt.Errorf("--prompt-tokens %d: must be at least 1", *prompt)
	case *gen < 1:
		return fmt.Errorf("--gen-tokens %d: must be at least 1", *gen)
	case *requests < 1:
		return fmt.Errorf("--requests %d: must be at least 1", *requests)
	}
	var cs []int
	for _, f := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("--concurrency %q: want positive integers separated by commas", *levels)
		}
		cs = append(cs, c)
	}
	o := loadgen.Options{URL: *url, Model: *name, APIKey: *key, PromptTokens: *prompt, GenTokens: *gen, Requests: *requests}
	var results []loadgen.Result
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if !*asJSON {
		fmt.Fprintln(tw, "clients\trequests\tfailed\tgen tok/s\treq/s\tTTFT p50 ms\tTTFT p99 ms\tITL p50 ms\tITL p99 ms\t")
	}
	for _, c := range cs {
		r, err := loadgen.Run(ctx, o, c)
		if err != nil {
			return err
		}
		results = append(results, r)
		if r.Failed == r.Requests {
			return fmt.Errorf("--url %s: every request failed at concurrency %d: %s", *url, c, r.FirstError)
		}
		if !*asJSON {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", c, r.Requests, r.Failed, r.TokPerSec, r.ReqPerSec, r.TTFTp50, r.TTFTp99, r.ITLp50, r.ITLp99)
			tw.Flush()
		}
	}
	if *asJSON {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
	}
	return nil
}
