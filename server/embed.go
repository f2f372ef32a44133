// Reference: OpenAI's embeddings API and Ollama's /api/embed. This file belongs to engineer D (the
// embeddings), who replaces this stub; it exists so that the server core builds before they land.

package server

import "net/http"

// embedRoutes registers POST /v1/embeddings, /api/embed and /api/embeddings
// on mux, with s.handle. The stub registers nothing.
func (s *Server) embedRoutes(mux *http.ServeMux) {}
