// Reference: OpenAI API reference "Create embeddings" (POST /v1/embeddings) and ollama docs/api.md
// ("Generate Embeddings" POST /api/embed, legacy POST /api/embeddings); llama.cpp tools/server
// (decoder embeddings pooled per the GGUF's pooling type).

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
)

// embedRoutes registers the three embeddings endpoints through s.handle
// (which also answers their other methods with a 405; mux is s.mux). Each
// is a thin translation to and from embedJob, which Server.embed runs.
func (s *Server) embedRoutes(_ *http.ServeMux) {
	s.handle("POST /v1/embeddings", s.handleOpenAIEmbed)
	s.handle("POST /api/embed", s.handleOllamaEmbed)
	s.handle("POST /api/embeddings", s.handleOllamaEmbeddings)
}

// embedJob is one embeddings request in the native form both APIs
// translate to.
type embedJob struct {
	Model      string
	In         embedInput
	Truncate   bool           // cut an input longer than the context to its first tokens (else a 400)
	Normalize  bool           // unit L2 norm (every API but the legacy /api/embeddings)
	Dimensions int            // 0, or the width asked for: only the model's own is possible
	KeepAlive  *time.Duration // nil: the model's current keep-alive
	// Options are an Ollama request's, checked on the model as for a
	// generation (ollamaOptions); num_ctx is the one that changes an
	// embedding: a context below the loaded one to truncate to.
	Options map[string]json.RawMessage
}

// embedResult is what a job gives back.
type embedResult struct {
	Vectors [][]float32 // one per input, in input order
	Tokens  int         // tokens embedded, summed over the inputs (after truncation)
	Load    time.Duration
}

// embedRequest runs j under r's context, which ends when the client goes
// away, or under the server's, which ends when it closes.
func (s *Server) embedRequest(r *http.Request, j embedJob) (*embedResult, error) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	return s.embed(ctx, j)
}

// embed runs j: the model is acquired (loaded if needed), every input is
// tokenized and checked against the vocabulary and the context before any
// compute, then each input is embedded on one of the model's sessions,
// taken in its turn from the model's queue, so that embeddings never share
// a KV cache with a generation. Cancelling ctx (the client went away)
// stops between batches of tokens and frees the session.
func (s *Server) embed(ctx context.Context, j embedJob) (*embedResult, error) {
	start := time.Now()
	l, release, err := s.acquireEmbed(ctx, j.Model, j.KeepAlive)
	if err != nil {
		return nil, err
	}
	defer release()
	res := &embedResult{Load: time.Since(start)}
	if j.In.Len() == 0 { // Ollama's way to load a model
		return res, nil
	}
	if l.Encoder != nil { // bert (encoder.go)
		return s.embedEncoder(ctx, l, j, res)
	}
	C := l.Model.Embd
	if j.Dimensions != 0 && j.Dimensions != C {
		return nil, Errorf(KindBadRequest, "dimensions", "dimensions %d is not supported: model %q gives vectors of %d values and cannot shorten them (omit dimensions)", j.Dimensions, j.Model, C)
	}
	pool, err := l.Model.DefaultPooling()
	if err != nil {
		return nil, Errorf(KindServer, "model", "model %q: %v", j.Model, err)
	}
	if pool != model.PoolMean && pool != model.PoolCLS && pool != model.PoolLast {
		return nil, Errorf(KindNotSupported, "model", "model %q has pooling type %s, which does not give one vector per input", j.Model, pool)
	}
	limit := l.Ctx
	if j.Options != nil {
		if _, err := s.ollamaOptions(l, j.Options); err != nil {
			return nil, err
		}
		if n := embedNumCtx(j.Options); n > 0 {
			limit = min(limit, n)
		}
	}
	seqs, total, err := embedTokens(l.Tok, l.Model.Vocab, j.In, limit, j.Truncate)
	if err != nil {
		return nil, err
	}
	res.Tokens = total
	res.Vectors = make([][]float32, 0, len(seqs))
	o := model.EmbedOptions{Pooling: pool, Normalize: j.Normalize}
	// One turn in the queue per input, not per request: a batch of 2048
	// texts lets a chat that arrives meanwhile in after the current text
	// instead of after the whole batch.
	for i, seq := range seqs {
		err := l.WithSession(ctx, func(sess *generate.Session) error {
			// Embedding fills the cache with the input: the session must
			// not take it for its last conversation's.
			defer sess.Reset()
			v, err := sess.State.Embed(ctx, seq, o)
			if err != nil {
				return fmt.Errorf("input[%d]: %w", i, err)
			}
			res.Vectors = append(res.Vectors, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if l.metrics != nil {
		l.metrics.promptTokens.WithLabelValues(l.Entry.Name).Add(float64(total))
	}
	return res, nil
}

// embedModelName is the name the embedded embedder is loaded under.
const embedModelName = models.EmbedModelName + ":" + modelstore.DefaultTag

// isDefaultEmbedName reports whether an embeddings request that names
// name wants the embedded embedder (models/embed.gguf): no model, "default"
// or "default-embed" (with or without ":latest"). The embedder is what
// `gptgo embed` and the knowledge base use without a model; pooling the
// default decoder instead retrieves far worse (models/embed.md), so an
// embeddings request asking for "the default" gets the model trained for
// it. The pooled decoder stays reachable as "default-base".
func isDefaultEmbedName(name string) bool {
	if name == "" {
		return true
	}
	canon, _, _, err := modelstore.ParseName(name)
	return err == nil && (canon == modelstore.DefaultModel || canon == embedModelName)
}

// acquireEmbed is Acquire for an embeddings request: the default names
// load the embedded embedder (an entry the store does not list, so it
// never shadows a file and chat requests never see it), any other name
// the model the store resolves.
func (s *Server) acquireEmbed(ctx context.Context, name string, keepAlive *time.Duration) (*Loaded, func(), error) {
	if !isDefaultEmbedName(name) {
		return s.Acquire(ctx, name, keepAlive)
	}
	e := modelstore.Entry{Name: embedModelName, Embedded: true, Size: int64(models.EmbedSize()),
		Details: modelstore.Details{Format: "gguf", Family: "bert"}}
	return s.models.acquireEntry(ctx, e, keepAlive)
}

// responseModel is the model an embeddings answer names: the request's,
// or the embedder's when the request named none.
func responseModel(name string) string {
	if name == "" {
		return models.EmbedModelName
	}
	return name
}

// embedTokens turns the inputs into token sequences (texts tokenized with
// the model's BOS/EOS, as llama.cpp's server does for embeddings; control
// tokens' text stays text) and checks them: ids inside the vocabulary, each
// input within limit tokens (or cut to it when truncate is set), the sum
// within maxEmbedTokens.
func embedTokens(tok *tokenizer.Tokenizer, vocab int, in embedInput, limit int, truncate bool) ([][]int32, int, error) {
	return embedTokensWith(tok, vocab, in, limit, truncate, tokenizer.EncodeOptions{AddSpecial: true})
}

// embedTokensWith is embedTokens with the texts tokenized by eo (bert
// parses special tokens' text, as llama.cpp does: encoder.go).
func embedTokensWith(tok *tokenizer.Tokenizer, vocab int, in embedInput, limit int, truncate bool, eo tokenizer.EncodeOptions) ([][]int32, int, error) {
	seqs := make([][]int32, 0, in.Len())
	for _, text := range in.Texts {
		seqs = append(seqs, tok.Encode(text, eo))
	}
	for i, ids := range in.Tokens {
		seq := make([]int32, len(ids))
		for k, id := range ids {
			if id >= int64(vocab) {
				return nil, 0, Errorf(KindBadRequest, "input", "input[%d][%d]: token id %d is outside the model's vocabulary of %d", i, k, id, vocab)
			}
			seq[k] = int32(id)
		}
		seqs = append(seqs, seq)
	}
	total := 0
	for i, seq := range seqs {
		if len(seq) == 0 {
			return nil, 0, Errorf(KindBadRequest, "input", "input[%d] gives no tokens", i)
		}
		if len(seq) > limit {
			if !truncate {
				return nil, 0, &Error{Kind: KindContext, Param: "input", Msg: fmt.Sprintf("input[%d] is %d tokens, more than the context of %d tokens", i, len(seq), limit)}
			}
			seqs[i] = seq[:limit]
		}
		total += len(seqs[i])
		if total > maxEmbedTokens {
			return nil, 0, Errorf(KindBadRequest, "input", "the inputs are more than %d tokens together; split them over several requests", maxEmbedTokens)
		}
	}
	return seqs, total, nil
}

// readEmbedBody reads a request body; the server's body limit turns an
// oversized one into a 413 (asError knows http.MaxBytesError).
func readEmbedBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var mb *http.MaxBytesError
	if err != nil && !errors.As(err, &mb) {
		return nil, Errorf(KindBadRequest, "", "reading the request body: %v", err)
	}
	return b, err
}

func (s *Server) handleOpenAIEmbed(w http.ResponseWriter, r *http.Request) {
	body, err := readEmbedBody(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	req, in, err := parseOpenAIEmbedRequest(body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	j := embedJob{Model: req.Model, In: in, Normalize: true}
	if req.Dimensions != nil {
		j.Dimensions = *req.Dimensions
	}
	res, err := s.embedRequest(r, j)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := openAIEmbedResponse{Object: "list", Model: responseModel(req.Model), Data: make([]openAIEmbedding, len(res.Vectors)),
		Usage: openAIEmbedUsage{PromptTokens: res.Tokens, TotalTokens: res.Tokens}}
	for i, v := range res.Vectors {
		d := openAIEmbedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			d.Embedding = base64Floats(v)
		}
		out.Data[i] = d
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleOllamaEmbed(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := readEmbedBody(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	req, in, err := parseOllamaEmbedRequest(body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	j := embedJob{Model: req.Model, In: in, Truncate: req.Truncate == nil || *req.Truncate, Normalize: true,
		Dimensions: req.Dimensions, Options: req.Options, KeepAlive: keepAliveOf(req.KeepAlive)}
	res, err := s.embedRequest(r, j)
	if err != nil {
		WriteError(w, r, ollamaNotFound(err, req.Model))
		return
	}
	out := ollamaEmbedResponse{Model: responseModel(req.Model), Embeddings: res.Vectors, LoadDuration: res.Load.Nanoseconds(), PromptEvalCount: res.Tokens}
	if out.Embeddings == nil {
		out.Embeddings = [][]float32{}
	}
	out.TotalDuration = time.Since(start).Nanoseconds()
	writeJSON(w, http.StatusOK, out)
}

// handleOllamaEmbeddings serves the legacy endpoint. As Ollama's does, it
// returns the pooled vector without normalising it, and an empty prompt
// only loads the model ({"embedding": []}).
func (s *Server) handleOllamaEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, err := readEmbedBody(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	req, err := parseOllamaEmbeddingsRequest(body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	j := embedJob{Model: req.Model, Truncate: true, Options: req.Options, KeepAlive: keepAliveOf(req.KeepAlive)}
	if req.Prompt != "" {
		j.In.Texts = []string{req.Prompt}
	}
	res, err := s.embedRequest(r, j)
	if err != nil {
		WriteError(w, r, ollamaNotFound(err, req.Model))
		return
	}
	out := ollamaEmbeddingsResponse{Embedding: []float32{}}
	if len(res.Vectors) == 1 {
		out.Embedding = res.Vectors[0]
	}
	writeJSON(w, http.StatusOK, out)
}

// embedNumCtx is options.num_ctx (already checked by ollamaOptions), or
// 0 when the request does not set it.
func embedNumCtx(opts map[string]json.RawMessage) int {
	raw, ok := opts["num_ctx"]
	if !ok || !isSet(raw) {
		return 0
	}
	vals, err := optionValues("num_ctx", modelstore.Int, raw)
	if err != nil || len(vals) != 1 {
		return 0
	}
	norm, err := modelstore.CheckParam("num_ctx", vals[0])
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(norm)
	return n
}
