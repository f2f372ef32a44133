// Reference: Chatbot Arena (Chiang et al. 2024): pairwise battles in random order, online Elo and
// Bradley–Terry ratings with bootstrap intervals (eval/arena.go, eval/bt.go); the OpenAI chat
// completions API for endpoints and model judges.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/eval"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func init() {
	register(&command{
		name:    "arena",
		summary: "rank models by pairwise battles judged by a model, a person or a script: Elo and Bradley–Terry",
		usage: `PROMPTS --model NAME=SPEC --model NAME=SPEC... --judge JUDGE [--out DIR] [--json]

PROMPTS is a text file of one prompt per line, or JSONL with "prompt".
A model SPEC is a GGUF file ("default" for the embedded model), answering
greedily through its chat template (or continuing the prompt when it has
none) until an end-of-turn token, or an OpenAI-compatible endpoint
URL#MODEL (http://host:8080/v1#qwen). Every model answers every prompt;
then the JUDGE compares each pair of answers, shown in a random order
(--seed):
  URL#MODEL     a model through an OpenAI-compatible endpoint, asked for
                [[A]], [[B]] or [[C]] (tie), or with --judge-json for
                {"verdict": ...} under response_format json_schema
  human         you, in the terminal (answers on stderr, verdicts on stdin)
  cmd:PROGRAM   a script: gets {"prompt","a","b"} as JSON on stdin,
                prints A, B or tie
  length        the answer with more words wins (a smoke test, not a judge)
The leaderboard has the Bradley–Terry rating with its 95% bootstrap
interval (--bootstrap rounds), the online Elo and the win rate. --out DIR
writes battles.jsonl, ratings.json and ratings.svg. Endpoints get the key
in GPTGO_API_KEY or OPENAI_API_KEY, if set.`,
		run: runArena,
	})
}

// modelSpecs collects repeated --model NAME=SPEC flags.
type modelSpecs []string

func (m *modelSpecs) String() string     { return strings.Join(*m, ",") }
func (m *modelSpecs) Set(v string) error { *m = append(*m, v); return nil }

// arenaReport is the --json output and OUT/ratings.json.
type arenaReport struct {
	Prompts int           `json:"prompts"`
	Battles int           `json:"battles"`
	Skipped int           `json:"skipped"` // battles the judge gave no verdict on
	Judge   string        `json:"judge"`
	Ratings []eval.Rating `json:"ratings"`
}

func runArena(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "arena", "PROMPTS --model NAME=SPEC... --judge JUDGE [flags]")
	var specs modelSpecs
	fs.Var(&specs, "model", "a contestant NAME=SPEC (GGUF file, \"default\", or URL#MODEL); repeat for each")
	judgeSpec := fs.String("judge", "", "URL#MODEL, human, cmd:PROGRAM or length")
	judgeSchema := fs.Bool("judge-json", false, "a model judge answers {\"verdict\": \"A\"|\"B\"|\"C\"} under response_format json_schema (for small models a server constrains)")
	out := fs.String("out", "", "directory for battles.jsonl, ratings.json and ratings.svg")
	asJSON := fs.Bool("json", false, "print the leaderboard as one JSON object")
	seed := fs.Uint64("seed", 1, "seed of the answer order and the bootstrap")
	rounds := fs.Int("bootstrap", 200, "bootstrap rounds for the intervals")
	maxTokens := fs.Int("max-tokens", 128, "most tokens per answer")
	ctxN := fs.Int("ctx", 0, "local models' context (0: the model's, at most 4096)")
	threads := fs.Int("threads", 0, "worker threads for local models (0: all cores)")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	if len(specs) < 2 {
		return fmt.Errorf("--model: give at least 2 contestants as NAME=SPEC, got %d", len(specs))
	}
	if *judgeSpec == "" {
		return fmt.Errorf("--judge: name a judge (URL#MODEL, human, cmd:PROGRAM or length)")
	}
	if *rounds < 0 || *maxTokens < 1 {
		return fmt.Errorf("--bootstrap %d / --max-tokens %d: want 0 or more / at least 1", *rounds, *maxTokens)
	}
	prompts, err := readArenaPrompts(pos[0])
	if err != nil {
		return err
	}
	key := os.Getenv("GPTGO_API_KEY")
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	judge, err := arenaJudge(e, *judgeSpec, key, *judgeSchema)
	if err != nil {
		return err
	}
	var cs []eval.Contestant
	for _, s := range specs {
		name, spec, ok := strings.Cut(s, "=")
		if !ok || name == "" || spec == "" {
			return fmt.Errorf("--model %q: want NAME=SPEC", s)
		}
		a, closeFn, err := arenaAnswerer(spec, key, *maxTokens, model.Options{Ctx: *ctxN, Threads: *threads})
		if err != nil {
			return fmt.Errorf("--model %s: %w", name, err)
		}
		defer closeFn()
		cs = append(cs, eval.Contestant{Name: name, Answerer: a})
	}
	bar := newProgressBar(e.stderr)
	defer bar.end()
	_, human := judge.(*eval.HumanJudge)
	recs, err := eval.RunArena(ctx, prompts, cs, judge, eval.ArenaOptions{Seed: *seed, Progress: func(done, total int, what string) {
		if !*quiet && !human {
			bar.draw(int64(done), int64(total), what)
		}
		e.at("arena: " + what)
	}})
	if err != nil {
		return err
	}
	bar.end()
	battles := eval.Battles(recs)
	rows, err := eval.Leaderboard(battles, *rounds, *seed)
	if err != nil {
		return fmt.Errorf("%w (%d of %d battles got a verdict)", err, len(battles), len(recs))
	}
	rep := arenaReport{Prompts: len(prompts), Battles: len(battles), Skipped: len(recs) - len(battles), Judge: *judgeSpec, Ratings: rows}
	if *out != "" {
		if err := writeArenaOut(*out, recs, rep); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(rep)
	}
	fmt.Fprintf(e.stdout, "%d prompts, %d battles (%d without a verdict), judge %s\n", rep.Prompts, rep.Battles, rep.Skipped, rep.Judge)
	fmt.Fprintf(e.stdout, "%-4s %-20s %8s  %-17s %8s %8s %8s\n", "rank", "model", "BT", "95% interval", "Elo", "win rate", "battles")
	for i, r := range rows {
		fmt.Fprintf(e.stdout, "%-4d %-20s %8.1f  [%7.1f, %7.1f] %8.1f %7.1f%% %8d\n", i+1, r.Model, r.BT, r.Lo, r.Hi, r.Elo, 100*r.WinRate, r.Battles)
	}
	if *out != "" {
		fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(*out, "{battles.jsonl,ratings.json,ratings.svg}"))
	}
	return nil
}

func readArenaPrompts(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ps []string
	jsonl := strings.HasSuffix(strings.ToLower(path), ".jsonl")
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if jsonl {
			var j struct {
				Prompt *string `json:"prompt"`
			}
			if err := json.Unmarshal([]byte(line), &j); err != nil || j.Prompt == nil {
				return nil, fmt.Errorf("%s: line %d: want {\"prompt\": ...}", path, n+1)
			}
			line = *j.Prompt
		}
		ps = append(ps, line)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return ps, nil
}

// splitEndpoint splits URL#MODEL.
func splitEndpoint(spec string) (url, name string, ok bool) {
	if !strings.HasPrefix(spec, "http://") && !strings.HasPrefix(spec, "https://") {
		return "", "", false
	}
	url, name, _ = strings.Cut(spec, "#")
	return url, name, true
}

func arenaJudge(e *env, spec, key string, schema bool) (eval.Judge, error) {
	if url, name, ok := splitEndpoint(spec); ok {
		maxTok := 512 // room to explain before the verdict
		if schema {
			maxTok = 96 // {"verdict": "A"}, and the whitespace a small model puts around it
		}
		return &eval.ModelJudge{Chat: &eval.OpenAIChat{BaseURL: url, Model: name, APIKey: key, MaxTokens: maxTok}, Schema: schema}, nil
	}
	if schema {
		return nil, fmt.Errorf("--judge-json: only for a model judge (URL#MODEL)")
	}
	switch {
	case spec == "human":
		return &eval.HumanJudge{In: bufio.NewReader(e.stdin), Out: e.stderr}, nil
	case spec == "length":
		return eval.LengthJudge{}, nil
	case strings.HasPrefix(spec, "cmd:"):
		argv := strings.Fields(strings.TrimPrefix(spec, "cmd:"))
		if len(argv) == 0 {
			return nil, fmt.Errorf("--judge cmd: names no program")
		}
		return &eval.CommandJudge{Argv: argv}, nil
	}
	return nil, fmt.Errorf("--judge %q: want URL#MODEL, human, cmd:PROGRAM or length", spec)
}

// localAnswerer answers greedily with a local model, through the chat
// template the file carries (a fine-tuned model's ChatML, the default
// model's continuation template), or continuing the bare prompt when it
// has none.
type localAnswerer struct {
	sc   *eval.Scorer
	tmpl *chat.Template // nil: no template in the file
	max  int
}

func (l *localAnswerer) Answer(ctx context.Context, prompt string) (string, error) {
	o := eval.GenOptions{MaxTokens: l.max}
	if l.tmpl != nil {
		p, err := l.tmpl.Render([]chat.Message{{Role: "user", Content: prompt}}, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: true})
		if err != nil {
			return "", err
		}
		prompt, o.ParseSpecial, o.Stop = p, true, []string{}
	}
	s, err := l.sc.Generate(ctx, prompt, o)
	return strings.TrimSpace(s), err
}

func arenaAnswerer(spec, key string, maxTokens int, o model.Options) (eval.Answerer, func(), error) {
	if url, name, ok := splitEndpoint(spec); ok {
		return &eval.OpenAIChat{BaseURL: url, Model: name, APIKey: key, MaxTokens: maxTokens}, func() {}, nil
	}
	path := spec
	if spec == "default" {
		path = ""
	}
	m, err := openModel(path)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("%s: %w", displayName(path), err)
	}
	st, err := m.NewState(o)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	la := &localAnswerer{sc: eval.NewScorer(st, tok), max: maxTokens}
	if t, err := chat.FromGGUF(m.File()); err == nil && !t.Fallback() {
		la.tmpl = t
	}
	return la, func() { st.Close(); m.Close() }, nil
}

func writeArenaOut(dir string, recs []eval.ArenaRecord, rep arenaReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := atomicfile.Write(filepath.Join(dir, "battles.jsonl"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(dir, "ratings.json"), append(b, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "ratings.svg"), func(w io.Writer) error { return eval.WriteRatingsSVG(w, rep.Ratings) })
}
