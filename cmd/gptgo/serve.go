// Reference: `ollama serve` (OLLAMA_HOST, 127.0.0.1:11434, OLLAMA_KEEP_ALIVE as a duration or seconds,
// -1 forever) and llama.cpp's llama-server flags (--api-key, --threads); net/http's graceful Shutdown.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gptgo/gptgo/server"
	"github.com/gptgo/gptgo/server/web"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve the OpenAI and Ollama APIs and a web chat page over the models directory",
		usage:   "[flags]   (listens on 127.0.0.1:11434 unless --addr or $GPTGO_HOST say otherwise)",
		run:     runServe,
	})
}

// serveListening is the line serve prints once it accepts connections; the
// tests read the address from it.
const serveListening = "gptgo serve: listening on http://"

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "[flags]\n\nServes the OpenAI API (/v1), the Ollama API (/api), /health, /metrics and a chat page at / over the models in --models (the embedded default model is always there as \"default\"). Models load on first use. The requests to a model are batched continuously: each step is one forward pass over every running request, over a paged KV cache with prefix caching (--batch-scheduler=false: a session per request and a FIFO queue). SIGINT or SIGTERM lets streams finish (up to --grace), then exits.")
	addr := fs.String("addr", "", "listen address host:port (default $GPTGO_HOST, else "+server.DefaultAddr+")")
	models := modelsFlag(fs)
	apiKey := fs.String("api-key", "", "require \"Authorization: Bearer KEY\" on every endpoint but /health (default $GPTGO_API_KEY)")
	cors := fs.String("cors-origin", "", "allow browser pages from this origin (\"*\" for any) to call the API; off by default")
	keepAlive := fs.String("keep-alive", "5m", "how long an idle model stays loaded: a duration (5m, 1h), seconds, 0 (unload at once) or -1 (forever)")
	maxLoaded := fs.Int("max-loaded", server.DefaultMaxLoaded, "most models loaded at once (-1: no limit)")
	memory := fs.String("memory", "0", "memory budget for loaded models (weights + KV caches), e.g. 8GiB or 512MiB; the least recently used idle model is unloaded to stay within it (0: none)")
	maxTokens := fs.Int("max-tokens-limit", 0, "most tokens one request may generate (0: the context is the limit)")
	ctxLen := fs.Int("ctx", 0, "the most tokens of one request, prompt and answer (0: the model's num_ctx PARAMETER, else its training context up to 4096); above the training context only for rotary positions, as llama.cpp's -c")
	parallel := fs.Int("parallel", 1, "KV cache per model, in requests of --ctx tokens: the batch scheduler's pool holds --parallel×--ctx positions shared by up to 4×--parallel running requests; with --batch-scheduler=false, the sessions per model (the rest wait in a FIFO queue)")
	threads := fs.Int("threads", 0, "worker threads of a model's forward pass (of each session with --batch-scheduler=false) (0: all cores)")
	batchSched := fs.Bool("batch-scheduler", true, "continuous batching: running requests share each forward pass and a paged KV cache with prefix caching; --batch-scheduler=false gives each of --parallel requests a session of its own and queues the rest")
	maxQueue := fs.Int("max-queue", 0, "most requests waiting for the batch scheduler; beyond, 503 with Retry-After (0: no limit; not with --batch-scheduler=false)")
	stepTokens := fs.Int("step-tokens", 0, "most tokens the batch scheduler computes in one step, decoding tokens and prompt chunks together (0: 512; at least 3; not with --batch-scheduler=false)")
	logFormat := fs.String("log-format", "text", "log format: text or json (one line per request, on stderr)")
	grace := fs.Duration("grace", 10*time.Second, "on SIGINT/SIGTERM, how long running streams may finish before they are cancelled")
	kbDir := fs.String("kb", "", "serve this knowledge base (a gptgo kb store) at /v1/kb/search, /v1/kb/ask and /v1/kb/documents (docs/rag.md)")
	var loras stringList
	fs.Var(&loras, "lora", "MODEL=FILE[:SCALE]: run the model with this adapter (LoRA, prompt or prefix tuning) unmerged, for every request to it; repeatable")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}

	listen, err := listenAddr(*addr)
	if err != nil {
		return err
	}
	keep, err := parseKeepAlive(*keepAlive)
	if err != nil {
		return fmt.Errorf("--keep-alive: %w", err)
	}
	budget, err := parseBytes(*memory)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	switch {
	case *maxTokens < 0:
		return fmt.Errorf("--max-tokens-limit %d: must be 0 or more", *maxTokens)
	case *ctxLen < 0:
		return fmt.Errorf("--ctx %d: must be 0 or more", *ctxLen)
	case *parallel < 1:
		return fmt.Errorf("--parallel %d: must be at least 1", *parallel)
	case *threads < 0:
		return fmt.Errorf("--threads %d: must be 0 or more", *threads)
	case *maxQueue < 0:
		return fmt.Errorf("--max-queue %d: must be 0 or more", *maxQueue)
	case *stepTokens != 0 && *stepTokens < 3:
		return fmt.Errorf("--step-tokens %d: must be 0 or at least 3", *stepTokens)
	case !*batchSched && *maxQueue != 0:
		return fmt.Errorf("--max-queue %d: bounds the batch scheduler's queue, which --batch-scheduler=false turns off", *maxQueue)
	case !*batchSched && *stepTokens != 0:
		return fmt.Errorf("--step-tokens %d: sizes the batch scheduler's steps, which --batch-scheduler=false turns off", *stepTokens)
	case *maxLoaded == 0:
		return fmt.Errorf("--max-loaded 0: at least one model must fit (-1 for no limit)")
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(e.stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(e.stderr, nil)
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	key := *apiKey
	if key == "" {
		key = os.Getenv("GPTGO_API_KEY")
	}
	store, err := openModels(*models)
	if err != nil {
		return err
	}
	adapters, err := serveAdapters(store, loras) // serve_lora.go
	if err != nil {
		return err
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	var kb *server.KnowledgeBase
	if *kbDir != "" {
		var closeKB func()
		if kb, closeKB, err = serveKB(*kbDir); err != nil {
			return fmt.Errorf("--kb: %w", err)
		}
		defer closeKB()
	}
	srv, err := server.New(server.Config{
		Models: store, APIKey: key, CORSOrigin: *cors, KeepAlive: keep, MaxLoaded: *maxLoaded, MemoryBytes: budget,
		MaxTokensLimit: *maxTokens, Ctx: *ctxLen, Parallel: *parallel, Threads: *threads,
		BatchScheduler: *batchSched, MaxQueue: *maxQueue, StepTokens: *stepTokens,
		Logger: slog.New(handler), Version: version, Web: web.Handler(), KB: kb, Adapters: adapters,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("--addr %s: the address is already in use (another gptgo serve or Ollama?); choose another with --addr or $GPTGO_HOST", listen)
		}
		return fmt.Errorf("--addr %s: %w", listen, err)
	}
	// No write timeout: streams last as long as generation does.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(e.stderr, "%s%s (models in %s", serveListening, ln.Addr(), store.Dir())
	if key != "" {
		fmt.Fprint(e.stderr, "; API key required")
	}
	fmt.Fprintln(e.stderr, ")")

	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	fmt.Fprintf(e.stderr, "gptgo serve: shutting down (streams have %v to finish)\n", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Time is up: cancel the generations still running; their
		// handlers then end their streams with an error event.
		srv.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		if hs.Shutdown(cctx) != nil {
			hs.Close()
		}
	}
	return nil
}

// listenAddr is --addr, else $GPTGO_HOST, else the default. Like
// OLLAMA_HOST, the variable may carry a scheme and may omit the port.
func listenAddr(flagValue string) (string, error) {
	a := flagValue
	src := "--addr"
	if a == "" {
		a, src = os.Getenv("GPTGO_HOST"), "$GPTGO_HOST"
	}
	if a == "" {
		return server.DefaultAddr, nil
	}
	a = strings.TrimRight(a, "/")
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		if strings.Contains(err.Error(), "missing port") {
			a = net.JoinHostPort(strings.Trim(a, "[]"), "11434")
		} else {
			return "", fmt.Errorf("%s %q: want host:port: %v", src, a, err)
		}
	}
	return a, nil
}

// parseKeepAlive reads a keep-alive as Ollama does: a Go duration, or a
// number of seconds; any negative value means forever.
func parseKeepAlive(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return -1, nil
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a duration (5m, 1h30m) nor a number of seconds", s)
	}
	if d < 0 {
		return -1, nil
	}
	return d, nil
}

// parseBytes reads a size: a number with an optional unit (B, KB/KiB,
// MB/MiB, GB/GiB, TB/TiB; K, M, G, T are binary).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 8GiB, 512MiB)", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s, unit)
	}
	if f*mult > 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(f * mult), nil
}
