// Reference: Chatbot Arena (Chiang et al. 2024): anonymous pairwise battles, the two answers shown in
// random order, a judge's vote of A, B or tie; LLM-as-a-judge (Zheng et al. 2023, MT-bench §3: pairwise
// comparison with position swapping); the OpenAI chat completions API (POST /v1/chat/completions).

package eval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"

	"github.com/gptgo/gptgo/internal/oaiclient"
)

// Answerer answers a prompt: a local model or an endpoint.
type Answerer interface {
	Answer(ctx context.Context, prompt string) (string, error)
}

// Judge picks the better of two answers, shown as "A" (first) and "B".
type Judge interface {
	Judge(ctx context.Context, prompt, a, b string) (Outcome, error)
}

// Contestant is a named model in the arena.
type Contestant struct {
	Name string
	Answerer
}

// ArenaRecord is one judged battle with what the judge saw.
type ArenaRecord struct {
	Prompt  int    `json:"prompt"`  // index in the prompt set
	ShownA  string `json:"shown_a"` // the model whose answer was shown first
	ShownB  string `json:"shown_b"`
	Verdict string `json:"verdict"` // A, B or tie, as the judge gave it; none when it gave no verdict
	Battle  Battle `json:"battle"`  // what the verdict means for the models
	Skipped bool   `json:"skipped,omitempty"`
	AnswerA string `json:"answer_a"` // the answers as the judge saw them
	AnswerB string `json:"answer_b"`
}

// ArenaOptions configure RunArena.
type ArenaOptions struct {
	Seed     uint64 // the order of each pair is drawn from it
	Progress func(done, total int, what string)
}

// RunArena has every contestant answer every prompt once, then the judge
// compare every pair of answers to every prompt, each pair shown in a
// random order (a fair coin per battle) so that a judge's bias for the
// first or second position does not favour a model.
func RunArena(ctx context.Context, prompts []string, cs []Contestant, judge Judge, o ArenaOptions) ([]ArenaRecord, error) {
	if len(cs) < 2 {
		return nil, fmt.Errorf("eval: the arena needs at least 2 models, got %d", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.Name] {
			return nil, fmt.Errorf("eval: two models are named %q", c.Name)
		}
		seen[c.Name] = true
	}
	pairs := len(cs) * (len(cs) - 1) / 2
	total := len(prompts)*len(cs) + len(prompts)*pairs
	done := 0
	step := func(what string) {
		done++
		if o.Progress != nil {
			o.Progress(done, total, what)
		}
	}
	answers := make([][]string, len(cs))
	for i, c := range cs {
		answers[i] = make([]string, len(prompts))
		for p, prompt := range prompts {
			a, err := c.Answer(ctx, prompt)
			if err != nil {
				return nil, fmt.Errorf("eval: %s on prompt %d: %w", c.Name, p+1, err)
			}
			answers[i][p] = a
			step(fmt.Sprintf("%s answers prompt %d", c.Name, p+1))
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var recs []ArenaRecord
	for p, prompt := range prompts {
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				first, second := i, j
				if rng.IntN(2) == 1 {
					first, second = j, i
				}
				out, err := judge.Judge(ctx, prompt, answers[first][p], answers[second][p])
				if errors.Is(err, ErrNoVerdict) {
					// A judge model that did not follow the format: the
					// battle is left out (and kept in the records), as
					// Chatbot Arena drops unparsed votes.
					recs = append(recs, ArenaRecord{Prompt: p, ShownA: cs[first].Name, ShownB: cs[second].Name, Verdict: "none", Skipped: true,
						AnswerA: answers[first][p], AnswerB: answers[second][p]})
					step(fmt.Sprintf("no verdict on prompt %d", p+1))
					continue
				}
				if err != nil {
					return recs, fmt.Errorf("eval: judging prompt %d, %s against %s: %w", p+1, cs[first].Name, cs[second].Name, err)
				}
				rec := ArenaRecord{Prompt: p, ShownA: cs[first].Name, ShownB: cs[second].Name, Verdict: [...]string{"A", "B", "tie"}[out],
					AnswerA: answers[first][p], AnswerB: answers[second][p]}
				rec.Battle = Battle{A: cs[first].Name, B: cs[second].Name, Outcome: out}
				recs = append(recs, rec)
				step(fmt.Sprintf("judged prompt %d: %s vs %s", p+1, cs[first].Name, cs[second].Name))
			}
		}
	}
	return recs, nil
}

// Battles are the records' battles, less the skipped ones.
func Battles(recs []ArenaRecord) []Battle {
	out := make([]Battle, 0, len(recs))
	for _, r := range recs {
		if !r.Skipped {
			out = append(out, r.Battle)
		}
	}
	return out
}

// ErrNoVerdict is a judge's reply without a verdict; RunArena skips the
// battle.
var ErrNoVerdict = errors.New("eval: the judge gave no verdict")

// OpenAIChat answers through an OpenAI-compatible endpoint (gptgo serve,
// llama-server, vLLM, …) with greedy decoding.
type OpenAIChat struct {
	BaseURL   string // "http://host:port" or ".../v1" (internal/oaiclient adds a missing /v1)
	Model     string
	APIKey    string
	MaxTokens int
	Client    *http.Client
}

// Answer posts one user message and returns the first choice's content.
func (c *OpenAIChat) Answer(ctx context.Context, prompt string) (string, error) {
	return c.chat(ctx, []map[string]string{{"role": "user", "content": prompt}})
}

func (c *OpenAIChat) chat(ctx context.Context, msgs []map[string]string) (string, error) {
	return c.chatWith(ctx, msgs, nil)
}

func (c *OpenAIChat) chatWith(ctx context.Context, msgs []map[string]string, responseFormat any) (string, error) {
	body := map[string]any{"model": c.Model, "messages": msgs, "temperature": 0}
	if responseFormat != nil {
		body["response_format"] = responseFormat
	}
	if c.MaxTokens > 0 {
		body["max_tokens"] = c.MaxTokens
	}
	var r struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	oc := oaiclient.Client{BaseURL: c.BaseURL, APIKey: c.APIKey, HTTP: c.Client}
	if err := oc.Post(ctx, "/chat/completions", body, &r); err != nil {
		return "", err
	}
	if len(r.Choices) == 0 {
		return "", fmt.Errorf("%s: not a chat completion: no choices", oc.URL("/chat/completions"))
	}
	return r.Choices[0].Message.Content, nil
}

// judgeInstructions is the model judge's system message (our wording).
const judgeInstructions = `You compare two answers to the same user prompt. Judge which answer is more helpful, correct and clear for the user. Ignore which answer comes first and how long each is. Explain briefly, then end with exactly one verdict: [[A]] if answer A is better, [[B]] if answer B is better, [[C]] for a tie.`

// ModelJudge asks a model through an OpenAI-compatible endpoint.
type ModelJudge struct {
	Chat *OpenAIChat
	// Schema asks for the verdict as JSON {"verdict": "A"|"B"|"C"} through
	// response_format json_schema, so that a small model constrained by the
	// server's grammar always gives one.
	Schema bool
}

// verdictFormat is the response_format of a ModelJudge with Schema.
var verdictFormat = map[string]any{"type": "json_schema", "json_schema": map[string]any{
	"name": "verdict",
	"schema": map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"verdict": map[string]any{"type": "string", "enum": []string{"A", "B", "C"}}},
		"required":             []string{"verdict"},
		"additionalProperties": false,
	},
}}

// Judge sends both answers and reads the verdict: the last [[A]], [[B]] or
// [[C]] of the reply, or with Schema the JSON's "verdict".
func (j *ModelJudge) Judge(ctx context.Context, prompt, a, b string) (Outcome, error) {
	user := fmt.Sprintf("[User prompt]\n%s\n\n[Answer A]\n%s\n[End of answer A]\n\n[Answer B]\n%s\n[End of answer B]", prompt, a, b)
	msgs := []map[string]string{{"role": "system", "content": judgeInstructions}, {"role": "user", "content": user}}
	if !j.Schema {
		reply, err := j.Chat.chat(ctx, msgs)
		if err != nil {
			return Tie, err
		}
		return ParseVerdict(reply)
	}
	// Short, for small models with small contexts: the schema carries the format.
	msgs[0]["content"] = `Which answer to the user's prompt is better? Reply as JSON: {"verdict": "A"}, {"verdict": "B"} or {"verdict": "C"} for a tie.`
	reply, err := j.Chat.chatWith(ctx, msgs, verdictFormat)
	if err != nil {
		return Tie, err
	}
	var v struct {
		Verdict string `json:"verdict"`
	}
	if json.Unmarshal([]byte(reply), &v) != nil {
		return ParseVerdict(reply)
	}
	switch v.Verdict {
	case "A":
		return WinA, nil
	case "B":
		return WinB, nil
	case "C":
		return Tie, nil
	}
	return Tie, fmt.Errorf("%w: verdict %q", ErrNoVerdict, v.Verdict)
}

// ParseVerdict reads the last verdict tag of a judge's reply.
func ParseVerdict(reply string) (Outcome, error) {
	at, out := -1, Tie
	for tag, o := range map[string]Outcome{"[[A]]": WinA, "[[B]]": WinB, "[[C]]": Tie} {
		if i := strings.LastIndex(reply, tag); i > at {
			at, out = i, o
		}
	}
	if at < 0 {
		return Tie, fmt.Errorf("%w: no [[A]], [[B]] or [[C]] in %.80q", ErrNoVerdict, reply)
	}
	return out, nil
}

// HumanJudge shows both answers on Out and reads a, b or t from In.
type HumanJudge struct {
	In  *bufio.Reader
	Out io.Writer
}

// Judge asks until it reads a valid answer.
func (h *HumanJudge) Judge(ctx context.Context, prompt, a, b string) (Outcome, error) {
	fmt.Fprintf(h.Out, "\n=== Prompt ===\n%s\n\n=== Answer A ===\n%s\n\n=== Answer B ===\n%s\n\n", prompt, a, b)
	for {
		if err := ctx.Err(); err != nil {
			return Tie, err
		}
		fmt.Fprint(h.Out, "Which is better? [a/b/t(ie)]: ")
		line, err := h.In.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "a":
			return WinA, nil
		case "b":
			return WinB, nil
		case "t", "tie":
			return Tie, nil
		}
		if err != nil {
			return Tie, fmt.Errorf("eval: no verdict read: %w", err)
		}
	}
}

// CommandJudge is a scripted judge: a program that reads
// {"prompt","a","b"} as JSON on stdin and prints A, B or tie.
type CommandJudge struct{ Argv []string }

// Judge runs the program once per battle.
func (c *CommandJudge) Judge(ctx context.Context, prompt, a, b string) (Outcome, error) {
	in, _ := json.Marshal(map[string]string{"prompt": prompt, "a": a, "b": b})
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Tie, fmt.Errorf("judge %s: %w: %.200s", c.Argv[0], err, stderr.String())
	}
	switch v := strings.ToLower(strings.TrimSpace(string(out))); v {
	case "a":
		return WinA, nil
	case "b":
		return WinB, nil
	case "tie", "t", "c":
		return Tie, nil
	}
	return Tie, fmt.Errorf("judge %s printed %.40q, want A, B or tie", c.Argv[0], out)
}

// LengthJudge is a built-in scripted judge for smoke runs: the answer
// with more words wins, equal counts tie. It judges nothing of quality.
type LengthJudge struct{}

// Judge compares word counts.
func (LengthJudge) Judge(_ context.Context, _, a, b string) (Outcome, error) {
	na, nb := len(strings.Fields(a)), len(strings.Fields(b))
	switch {
	case na > nb:
		return WinA, nil
	case nb > na:
		return WinB, nil
	}
	return Tie, nil
}
