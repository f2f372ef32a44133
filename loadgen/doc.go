// Package loadgen drives an OpenAI-compatible completions endpoint (gptgo
// serve, llama-server, vLLM, …) with concurrent streaming clients and
// reports what a serving benchmark reports: aggregate generated tokens per
// second, time to first token and inter-token latency (p50, p99), and
// requests per second, per concurrency level.
//
// Each client sends its requests one after another (a closed loop), so
// concurrency C keeps C requests in flight. A request is POST
// /v1/completions with "stream": true and usage included; the prompt is a
// repeated word of about the asked token count, and generated tokens are
// counted from the server's usage (or, without it, from the streamed
// chunks). `gptgo bench serve` is its command line.
package loadgen
