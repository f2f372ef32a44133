// Reference: Ollama's docs/api.md. This file belongs to engineer B (the Ollama API), who replaces this
// stub; it exists so that the server core builds before the Ollama handlers land.

package server

import "net/http"

// ollamaRoutes registers the Ollama API (/api/…) on mux, with s.handle so
// that wrong methods get Ollama's 405. The stub registers nothing.
func (s *Server) ollamaRoutes(mux *http.ServeMux) {}
