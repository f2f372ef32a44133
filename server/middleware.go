// Reference: the Fetch standard's CORS protocol (preflight OPTIONS, Access-Control-Allow-*), RFC 6750
// (Bearer tokens) and log/slog's structured records.

package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/generate"
)

// middleware wraps the mux with, in order: a request id and one log line
// per request, metrics by route, doubled slashes folded, CORS, the API
// key, and the body limit.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newID("req-")
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}

		// Clients that join a base URL ending in "/" with "/v1/…" send
		// "//"; the mux would redirect them (breaking POST), so fold first.
		if strings.Contains(r.URL.Path, "//") {
			r.URL.Path = foldSlashes(r.URL.Path)
			r.URL.RawPath = ""
		}
		_, endpoint := s.mux.Handler(r)
		if endpoint == "" || endpoint == "/" {
			endpoint = "other"
		}
		defer func() {
			d := time.Since(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(endpoint).Observe(d.Seconds())
			attrs := []any{"id", id, "method", r.Method, "path", r.URL.Path, "status", status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds()) / 1000, "remote", r.RemoteAddr}
			if sw.model != "" {
				attrs = append(attrs, "model", sw.model)
			}
			if sw.done != nil {
				attrs = append(attrs, "prompt_tokens", sw.done.PromptTokens, "completion_tokens", sw.done.CompletionTokens, "stop", string(sw.done.Stop))
			}
			s.log.Info("request", attrs...)
		}()

		// A panic that escapes a handler fails its request alone, with a
		// 500 if nothing was sent yet and its stack in the log.
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "id", id, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					WriteError(sw, r, Errorf(KindServer, "", "server: internal error (request %s)", id))
				}
			}
		}()
		if s.cors(sw, r) {
			return
		}
		// The chat page's own files (static, no data) load without the key:
		// the page asks for it and sends it with each API call it makes.
		page := s.webHandler != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(endpoint == "GET /{$}" && strings.Contains(r.Header.Get("Accept"), "text/html") ||
				endpoint == "other" && !isOllamaPath(r.URL.Path) && !strings.HasPrefix(r.URL.Path, "/v1/"))
		if r.URL.Path != "/health" && !page && !s.authorized(r) {
			WriteError(sw, r, Errorf(KindAuth, "", "missing or wrong API key: send \"Authorization: Bearer KEY\""))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(sw, r)
	})
}

// cors sets the CORS headers for an allowed origin and answers a preflight
// (then it returns true). Without Config.CORSOrigin it does nothing.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	allowed := s.cfg.CORSOrigin
	origin := r.Header.Get("Origin")
	if allowed == "" || origin == "" || (allowed != "*" && origin != allowed) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, X-Stainless-Timeout, OpenAI-Organization, OpenAI-Project")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

func foldSlashes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// newID is prefix + 24 random hex digits from crypto/rand (unguessable and,
// for all practical purposes, unique).
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response, and passes
// flushes on (streams need them). Handlers add the model and the
// generation's summary for the log line with noteModel and noteDone.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	model  string
	done   *generate.Done
}

// noteModel puts the model's name in the request's log line.
func noteModel(w http.ResponseWriter, name string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.model = name
	}
}

// noteDone puts a generation's token counts and stop reason in the
// request's log line.
func noteDone(w http.ResponseWriter, d *generate.Done) {
	if sw, ok := w.(*statusWriter); ok && d != nil {
		sw.done = d
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
