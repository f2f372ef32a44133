// Reference: Ouyang et al. 2022 §3.5 (a reward model scores a prompt and a response); llama.cpp tools/server's
// POST /rerank (a scoring endpoint beside the OpenAI ones, named after what it returns); docs/alignment.md.

package server

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// scoreRoutes registers POST /v1/score: a reward model's score of a
// response to a prompt. The reward models it has read stay in a small
// cache the handler owns (they are not generation models: the scheduler
// and its sessions have no part in them).
func (s *Server) scoreRoutes(_ *http.ServeMux) {
	c := &scorers{byPath: map[string]*rewardScorer{}}
	s.handle("POST /v1/score", func(w http.ResponseWriter, r *http.Request) { s.handleScore(w, r, c) })
}

// scoreRequest is the body of POST /v1/score: the prompt as text (a user
// turn, with an optional system turn) or as messages, and the response.
type scoreRequest struct {
	Model    string         `json:"model"`
	Prompt   *string        `json:"prompt"`
	System   string         `json:"system"`
	Messages []chat.Message `json:"messages"`
	Response *string        `json:"response"`
}

type scoreResponse struct {
	Object string  `json:"object"` // "score"
	Model  string  `json:"model"`
	Score  float64 `json:"score"`
}

// rewardScorer is one reward model read from its file; mu serialises the
// forwards (they share the pool).
type rewardScorer struct {
	mu   sync.Mutex
	rm   *train.RewardModel
	enc  *train.Encoder
	pool *tensor.Pool
	ctx  int
}

// scorers caches reward models by file (and modification time): at most
// maxScorers, the oldest dropped first.
type scorers struct {
	mu     sync.Mutex
	byPath map[string]*rewardScorer
	order  []string
}

const maxScorers = 4

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request, c *scorers) {
	var req scoreRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	msgs := req.Messages
	switch {
	case req.Model == "":
		WriteError(w, r, Errorf(KindBadRequest, "model", "\"model\" is required: the name of a reward model (gptgo train rm)"))
		return
	case req.Response == nil:
		WriteError(w, r, Errorf(KindBadRequest, "response", "\"response\" is required: the answer to score"))
		return
	case (req.Prompt == nil) == (len(msgs) == 0):
		WriteError(w, r, Errorf(KindBadRequest, "prompt", "give the prompt as \"prompt\" or as \"messages\", one of them"))
		return
	case req.Prompt != nil:
		if req.System != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: *req.Prompt})
	}
	e, err := s.models.store.Resolve(req.Model)
	if err != nil {
		WriteError(w, r, Errorf(KindNotFound, "model", "model %q: %v", req.Model, err))
		return
	}
	sc, err := c.get(e.Path, e.Modified, e.Template)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	sc.mu.Lock()
	v, err := sc.rm.ScoreAnswer(sc.pool, sc.enc, msgs, *req.Response, sc.ctx)
	sc.mu.Unlock()
	if err != nil {
		WriteError(w, r, Errorf(KindBadRequest, "", "%s: %v", req.Model, err))
		return
	}
	writeJSON(w, http.StatusOK, scoreResponse{Object: "score", Model: req.Model, Score: v})
}

// get returns the scorer of the reward model at path, reading it on first use.
func (c *scorers) get(path string, mod time.Time, template string) (*rewardScorer, error) {
	if path == "" {
		return nil, Errorf(KindBadRequest, "model", "the embedded default model is not a reward model")
	}
	key := fmt.Sprintf("%s@%d", path, mod.UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.byPath[key]; ok {
		return sc, nil
	}
	sc, err := readScorer(path, template)
	if err != nil {
		return nil, err
	}
	if len(c.order) == maxScorers {
		old := c.byPath[c.order[0]]
		old.mu.Lock() // wait for its last forward
		old.pool.Close()
		old.mu.Unlock()
		delete(c.byPath, c.order[0])
		c.order = c.order[1:]
	}
	c.byPath[key], c.order = sc, append(c.order, key)
	return sc, nil
}

func readScorer(path, template string) (*rewardScorer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, Errorf(KindServer, "", "%v", err)
	}
	defer f.Close()
	m, head, err := model.RewardModelFromGGUF(f)
	if err != nil {
		return nil, Errorf(KindBadRequest, "model", "%s: %v", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, Errorf(KindServer, "", "%s: %v", path, err)
	}
	t, err := chat.FromGGUF(f)
	if err == nil && template != "" { // the entry's TEMPLATE, as loadEntry takes it
		t, err = chat.New(template, t.BOS(), t.EOS())
	}
	if err != nil {
		return nil, Errorf(KindServer, "", "%s: chat template: %v", path, err)
	}
	return &rewardScorer{rm: &train.RewardModel{Base: m, Head: head}, enc: &train.Encoder{Template: t, Tok: tok},
		pool: tensor.NewPool(0), ctx: m.CtxTrain}, nil
}
