// Reference: issue #22 "Surfaces" (the server's endpoints to ingest, search and ask); the
// search result shape of `gptgo kb search --json`; docs/rag.md "Server".

package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/gptgo/gptgo/rag"
)

// KnowledgeBase is what the /v1/kb endpoints serve (Config.KB): a store
// and the ingester that fills it (its Store is the same store).
type KnowledgeBase struct {
	Store    rag.Store
	Ingester *rag.Ingester
}

// kbRoutes registers the knowledge-base endpoints through s.handle. They
// answer 404 when the server runs without a knowledge base, except GET
// /v1/kb, which says so.
func (s *Server) kbRoutes(_ *http.ServeMux) {
	s.handle("GET /v1/kb", s.kbInfo)
	s.handle("POST /v1/kb/search", s.kbSearch)
	s.handle("POST /v1/kb/ask", s.kbAsk)
	s.handle("POST /v1/kb/documents", s.kbIngest)
	s.handle("GET /v1/kb/documents", s.kbList)
	s.handle("DELETE /v1/kb/documents/{id}", s.kbRemove)
}

func (s *Server) kb(w http.ResponseWriter, r *http.Request) *KnowledgeBase {
	if s.cfg.KB == nil || s.cfg.KB.Store == nil {
		WriteError(w, r, Errorf(KindNotFound, "", "this server has no knowledge base (start it with gptgo serve --kb DIR)"))
		return nil
	}
	return s.cfg.KB
}

// kbSearchRequest is POST /v1/kb/search's body.
type kbSearchRequest struct {
	Query  string `json:"query"`
	K      int    `json:"k,omitempty"`      // default 5, at most 100
	Mode   string `json:"mode,omitempty"`   // hybrid (default), bm25, dense
	Source string `json:"source,omitempty"` // source glob filter
}

// KBResult is one retrieved chunk, as `gptgo kb search --json` prints it.
type KBResult struct {
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Page    int     `json:"page"`
	Heading string  `json:"heading"`
	Text    string  `json:"text"`
	Score   float64 `json:"score"`
}

func kbResults(rs []rag.Result) []KBResult {
	out := make([]KBResult, len(rs))
	for i, r := range rs {
		c := r.Chunk
		out[i] = KBResult{ID: c.ID, Source: c.Source, Page: c.Page, Heading: c.Heading, Text: c.Text, Score: r.Score}
	}
	return out
}

func (q *kbSearchRequest) query() (rag.Query, error) {
	if strings.TrimSpace(q.Query) == "" {
		return rag.Query{}, Errorf(KindBadRequest, "query", "query is empty")
	}
	if q.K < 0 || q.K > 100 {
		return rag.Query{}, Errorf(KindBadRequest, "k", "k %d is outside 1…100", q.K)
	}
	out := rag.Query{Text: q.Query, K: q.K, Filter: rag.Filter{Source: q.Source}}
	if q.Mode != "" {
		m, err := rag.ParseMode(q.Mode)
		if err != nil {
			return out, Errorf(KindBadRequest, "mode", "%v", err)
		}
		out.Mode = m
	}
	return out, nil
}

func (s *Server) kbSearch(w http.ResponseWriter, r *http.Request) {
	kb := s.kb(w, r)
	if kb == nil {
		return
	}
	var req kbSearchRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	q, err := req.query()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	res, err := kb.Store.Search(r.Context(), q)
	if err != nil {
		WriteError(w, r, Errorf(KindBadRequest, "mode", "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"query": req.Query, "results": kbResults(res)})
}

// kbIngestRequest is POST /v1/kb/documents' body: a document's bytes and
// the name it is stored under (its extension picks the loader). The
// server never reads a path of the client's choosing.
type kbIngestRequest struct {
	Source  string `json:"source"`            // e.g. "notes/meeting.md"
	Text    string `json:"text,omitempty"`    // the content as text, or
	Content string `json:"content,omitempty"` // the content as base64 (PDF, DOCX)
}

func (s *Server) kbIngest(w http.ResponseWriter, r *http.Request) {
	kb := s.kb(w, r)
	if kb == nil {
		return
	}
	if kb.Ingester == nil {
		WriteError(w, r, Errorf(KindNotSupported, "", "this server's knowledge base is read-only"))
		return
	}
	var req kbIngestRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	src := strings.TrimSpace(req.Source)
	if src == "" || strings.ContainsAny(src, "\x00") || path.Clean("/"+src) == "/" {
		WriteError(w, r, Errorf(KindBadRequest, "source", "source must name the document, e.g. \"notes/meeting.md\""))
		return
	}
	if (req.Text == "") == (req.Content == "") {
		WriteError(w, r, Errorf(KindBadRequest, "text", "give exactly one of text and content (base64)"))
		return
	}
	b := []byte(req.Text)
	if req.Content != "" {
		var err error
		if b, err = base64.StdEncoding.DecodeString(req.Content); err != nil {
			WriteError(w, r, Errorf(KindBadRequest, "content", "content is not base64: %v", err))
			return
		}
	}
	fr := kb.Ingester.IngestBytes(r.Context(), src, b)
	if fr.Err != nil {
		kind := KindBadRequest // the document could not be read: the client's to fix
		if errors.Is(fr.Err, context.Canceled) {
			kind = KindServer
		}
		WriteError(w, r, Errorf(kind, "content", "%v", fr.Err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rag.DocID(src), "source": src, "status": fr.Status, "chunks": fr.Chunks})
}

// kbInfo answers GET /v1/kb with whether the server has a knowledge base
// and its counts. Unlike the other /v1/kb paths it answers 200 without
// one ({"enabled": false}): the web page asks on every load to decide
// whether to offer its knowledge-base mode, and a plain server's answer
// is no error. It fetches no document's record.
func (s *Server) kbInfo(w http.ResponseWriter, r *http.Request) {
	kb := s.cfg.KB
	if kb == nil || kb.Store == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "documents": 0, "chunks": 0, "writable": false})
		return
	}
	docs, chunks := 0, 0
	for _, d := range kb.Store.List() {
		docs++
		chunks += len(d.Chunks)
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "documents": docs, "chunks": chunks, "writable": kb.Ingester != nil})
}

func (s *Server) kbList(w http.ResponseWriter, r *http.Request) {
	kb := s.kb(w, r)
	if kb == nil {
		return
	}
	type doc struct {
		ID     string `json:"id"`
		Source string `json:"source"`
		Hash   string `json:"hash"`
		Time   string `json:"time"`
		Chunks int    `json:"chunks"`
	}
	docs := []doc{}
	for _, d := range kb.Store.List() {
		docs = append(docs, doc{d.ID, d.Source, d.Hash, d.Time.Format("2006-01-02T15:04:05Z07:00"), len(d.Chunks)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": docs})
}

func (s *Server) kbRemove(w http.ResponseWriter, r *http.Request) {
	kb := s.kb(w, r)
	if kb == nil {
		return
	}
	id := r.PathValue("id")
	ok, err := kb.Store.Remove(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if !ok {
		WriteError(w, r, Errorf(KindNotFound, "id", "no document %q (see GET /v1/kb/documents)", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}
