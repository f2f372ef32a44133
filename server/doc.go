// Package server is gptgo's HTTP server (`gptgo serve`): the OpenAI API
// (/v1), the Ollama API (/api), health, Prometheus metrics and the web chat
// page, over one native request path.
//
// # How a request flows
//
//	HTTP ─ middleware (request id, log line, metrics, doubled slashes, auth, CORS, body limit)
//	     ─ handler: decodes the wire type (openai_types.go, ollama_wire.go), translates it
//	       to a generate.Request
//	     ─ Server.Acquire: the model, loaded on first use (models.go), held until released
//	     ─ Loaded.Generate: renders and fits the prompt (a 400 before any compute when it is
//	       too long), submits a generate.Sequence to the model's batch loop (sched.go: every
//	       step one forward pass over all running sequences, over a paged KV cache) or, with
//	       Config.BatchScheduler off, waits its turn in the FIFO queue (runner.go) and runs it
//	       on a free session; either way generate.Events stream back
//	     ─ handler: translates each event to the wire (SSE for OpenAI, NDJSON for Ollama)
//
// The OpenAI and Ollama handlers never touch the model: they only translate,
// and do not know which of the two paths ran; constrained decoding is a step
// of generate.Sequence on both. `gptgo serve` batches by default; a
// Config's zero value keeps the sessions.
//
// # Errors
//
// One table (errors.go) maps each kind of failure to its HTTP status and
// OpenAI error type; /v1 answers with OpenAI's envelope, /api with Ollama's.
// Before the first byte of a response an error is a status; in a stream it
// is a final error event, after which the stream closes.
//
// # Hooks for the other parts of the server
//
// ollama.go (ollamaRoutes) and embed.go (embedRoutes) register their routes
// on the mux; Config.Web serves the chat page at GET / to browsers.
package server
