// Reference: net/http ServeMux patterns (Go 1.22: "METHOD /path/{name}"), Ollama's server defaults
// (127.0.0.1:11434, keep_alive 5m, max loaded models 3) and its GET / answer ("Ollama is running").

package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gptgo/gptgo/modelstore"
)

// Config configures a Server. The zero value of every field but Models is
// a working default.
type Config struct {
	Models *modelstore.Store // the models directory (required)

	// APIKey, if set, must come as "Authorization: Bearer KEY" on every
	// request but GET /health. Empty: no authentication, and any key a
	// client sends is accepted.
	APIKey string
	// CORSOrigin, if set, is the browser origin allowed to call the API
	// ("*" for any); empty leaves CORS off, so browsers only reach the
	// server from its own pages.
	CORSOrigin string

	KeepAlive      time.Duration // how long an idle model stays loaded; 0: DefaultKeepAlive; < 0 forever
	MaxLoaded      int           // models loaded at once; 0: DefaultMaxLoaded; < 0 no limit
	MemoryBytes    int64         // budget for loaded models (weights + KV caches); 0: none
	MaxTokensLimit int           // most tokens one request may generate; 0: no limit but the context
	MaxBodyBytes   int64         // request body limit; 0: DefaultMaxBody
	Ctx            int           // the most tokens of one request (a session's context, a sequence's positions); 0: the model's num_ctx, else its training context (at most 4096); above the training context for rotary models only
	Parallel       int           // KV caches of Ctx tokens per model: sessions, or the batch scheduler's pool; 0: 1
	Threads        int           // worker threads of a forward pass (per session); 0: all cores

	// BatchScheduler generates with continuous batching (sched.go): up to
	// 4×Parallel sequences share one forward pass per step and a paged KV
	// cache of Parallel×Ctx positions, with prefix caching. MaxQueue (> 0)
	// then bounds the requests waiting for it (503 with Retry-After
	// beyond), StepTokens the tokens of one step (0: 512). `gptgo serve`
	// turns it on unless told --batch-scheduler=false; the zero value keeps
	// a package user's server as it was: Parallel sessions, each request
	// alone on one, the others in a FIFO queue.
	BatchScheduler bool
	MaxQueue       int
	StepTokens     int

	Logger  *slog.Logger // one line per request; nil: slog.Default()
	Version string       // reported by /api/version and /health

	// Web, if not nil, serves the chat page: GET / for browsers (Accept:
	// text/html) and the paths below / that nothing else claims. Without
	// it GET / answers Ollama's health text.
	Web http.Handler

	// KB, if not nil, is the knowledge base the /v1/kb endpoints serve (kb.go).
	KB *KnowledgeBase

	// Adapters, by model name, run with their models unmerged (adapters.go).
	Adapters Adapters
}

// Defaults for Config.
const (
	DefaultAddr      = "127.0.0.1:11434" // Ollama's, so that its clients work unconfigured
	DefaultKeepAlive = 5 * time.Minute
	DefaultMaxLoaded = 3
	DefaultMaxBody   = 16 << 20
)

// Server serves the APIs over the models of a modelstore. Create it with
// New, serve Handler, and Close it after the HTTP server has shut down.
type Server struct {
	cfg        Config
	log        *slog.Logger
	models     *manager
	metrics    *metrics
	mux        *http.ServeMux
	handler    http.Handler
	webHandler http.Handler // Config.Web; nil: health text only

	// base is cancelled by Close: every generation's context derives from
	// it as well as from its request, so that shutdown ends streams.
	base   context.Context
	cancel context.CancelFunc

	methods   map[string]bool // paths that have a method-less 405 route
	methodsMu sync.Mutex
}

// New makes a server. It loads no model: models load on first use.
func New(cfg Config) (*Server, error) {
	if cfg.Models == nil {
		return nil, errors.New("server: Config.Models is nil")
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.MaxLoaded == 0 {
		cfg.MaxLoaded = DefaultMaxLoaded
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), webHandler: cfg.Web, methods: map[string]bool{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	lo := loadOptions{ctx: cfg.Ctx, parallel: max(1, cfg.Parallel), threads: cfg.Threads, adapters: cfg.Adapters}
	if cfg.BatchScheduler {
		lo.batch = &batchOptions{stepTokens: cfg.StepTokens, maxQueue: cfg.MaxQueue}
	}
	s.models = &manager{
		store: cfg.Models, keepAlive: cfg.KeepAlive, maxLoaded: cfg.MaxLoaded, memory: cfg.MemoryBytes,
		metrics: s.metrics, log: s.log, loaded: map[string]*Loaded{},
		load: func(e modelstore.Entry) (*Loaded, error) { return loadEntry(e, lo) },
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.handler = s.middleware(s.mux)
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close cancels every generation still running and unloads the models
// (each as soon as its last request returns). Call it after
// http.Server.Shutdown has let streams finish, or to cut them short.
func (s *Server) Close() error {
	s.cancel()
	s.models.closeAll()
	return nil
}

// routes registers every endpoint. The Ollama and embeddings endpoints
// register themselves through ollamaRoutes (ollama.go) and embedRoutes
// (embed.go).
func (s *Server) routes() {
	mux := s.mux
	s.handle("GET /health", s.health)
	s.handle("GET /metrics", s.metrics.handler().ServeHTTP)
	s.handle("GET /{$}", s.rootHandler)
	s.handle("GET /v1/models", s.listModels)
	s.handle("GET /v1/models/{id}", s.getModel)
	s.handle("POST /v1/chat/completions", s.chatCompletions)
	s.handle("POST /v1/completions", s.completions)
	s.ollamaRoutes(mux)
	s.embedRoutes(mux)
	s.kbRoutes(mux)
	s.scoreRoutes(mux) // score.go: POST /v1/score, reward models
	// Anything else: the chat page's assets when there is a page, else 404
	// in the envelope of the API the path belongs to.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.webHandler != nil && !isOllamaPath(r.URL.Path) && !strings.HasPrefix(r.URL.Path, "/v1/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.webHandler.ServeHTTP(w, r)
			return
		}
		WriteError(w, r, Errorf(KindNotFound, "", "%s %s: no such endpoint", r.Method, r.URL.Path))
	})
}

// handle registers h for pattern ("METHOD /path") and, once per path, a
// method-less route that answers other methods with 405 in the path's
// envelope and an Allow header (net/http's own 405 is plain text). A GET
// pattern also serves HEAD, as net/http does.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return
	}
	s.methodsMu.Lock()
	defer s.methodsMu.Unlock()
	allowKey := "allow " + path
	s.methods[allowKey+" "+method] = true
	if s.methods[path] {
		return
	}
	s.methods[path] = true
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		s.methodsMu.Lock()
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
			if s.methods[allowKey+" "+m] || (m == "HEAD" && s.methods[allowKey+" GET"]) {
				allow = append(allow, m)
			}
		}
		s.methodsMu.Unlock()
		w.Header().Set("Allow", strings.Join(allow, ", "))
		WriteError(w, r, Errorf(KindMethod, "", "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
	})
}

// health answers GET /health: always without authentication, for load
// balancers and container probes.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// rootHandler answers GET and HEAD /: the chat page for a browser (Accept:
// text/html) when Config.Web is set, else Ollama's health text, which its
// clients probe.
func (s *Server) rootHandler(w http.ResponseWriter, r *http.Request) {
	if s.webHandler != nil && strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.webHandler.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len("Ollama is running")))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("Ollama is running"))
	}
}

// authorized reports whether r carries the API key (or none is needed).
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "bearer ")
	}
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.APIKey)) == 1
}

// errShuttingDown is the cause of a generation cut short by Close.
var errShuttingDown = Errorf(KindUnavailable, "", "the server is shutting down")

// requestContext is the context a generation runs under: cancelled when the
// client goes away or (with cause errShuttingDown) when the server closes.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(s.base, func() { cancel(errShuttingDown) })
	return ctx, func() { stop(); cancel(nil) }
}

// cutShort is the error to report for a generation that ended cancelled
// while its client is still there (the server is shutting down); nil when
// the client itself went away.
func cutShort(ctx context.Context, r *http.Request) error {
	if r.Context().Err() != nil {
		return nil
	}
	return context.Cause(ctx)
}
