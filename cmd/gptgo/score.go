// Reference: Ouyang et al. 2022 §3.5 (a reward model scores a prompt and a response); OpenAssistant's and
// TRL's reward-model pipelines (the conversation rendered through the chat template, the score at its end).

package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score a response to a prompt with a reward model (gptgo train rm)",
		usage: `RM.gguf PROMPT RESPONSE [--system TEXT] [--template NAME] [--json]

Renders the user's PROMPT and the assistant's RESPONSE through the reward
model's chat template (or --template NAME) and prints the score: the value
head at the response's end-of-turn token. Scores compare responses to the
same prompt; their scale is the model's own.`,
		run: runScore,
	})
}

func runScore(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "score", "RM.gguf PROMPT RESPONSE [--system TEXT] [--template NAME] [--json]")
	system := fs.String("system", "", "a system turn before the prompt")
	tmpl := fs.String("template", "", "built-in chat template to render with; default: the model's")
	asJSON := fs.Bool("json", false, "print {\"score\": S}")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return errUsage
	}
	s, err := openScorer(pos[0], *tmpl, *threads)
	if err != nil {
		return err
	}
	defer s.close()
	var msgs []chat.Message
	if *system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: *system})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: pos[1]})
	v, err := s.rm.ScoreAnswer(s.pool, s.enc, msgs, pos[2], s.ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]float64{"score": v})
	}
	_, err = fmt.Fprintf(e.stdout, "%.6f\n", v)
	return err
}

// scorer is a loaded reward model with its template.
type scorer struct {
	rm   *train.RewardModel
	enc  *train.Encoder
	pool *tensor.Pool
	ctx  int
}

func (s *scorer) close() { s.pool.Close() }

// openScorer reads a reward model file written by gptgo train rm (the
// weights are copied: the file is closed on return).
func openScorer(path, template string, threads int) (*scorer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, head, err := model.RewardModelFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var t *chat.Template
	if template != "" {
		t, err = chat.Builtin(template)
	} else {
		t, err = chat.FromGGUF(f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: template: %w", path, err)
	}
	return &scorer{rm: &train.RewardModel{Base: m, Head: head}, enc: &train.Encoder{Template: t, Tok: tok},
		pool: tensor.NewPool(threads), ctx: m.CtxTrain}, nil
}
