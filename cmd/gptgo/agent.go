// Reference: issue #23 "CLI" (gptgo agent [--url URL] [--model NAME] [--tools LIST] [--root DIR] [--kb DIR]
// [--yes] "task", interactive mode, --resume TRANSCRIPT, --verbose).

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gptgo/gptgo/agent"
	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func init() {
	register(&command{name: "agent", summary: "run a task with a model and tools (plan → call → observe)", usage: "[flags] \"TASK\"", run: runAgent})
}

// agentFlags are agent's own flags beside the model's.
type agentFlags struct {
	url, apiKey, tools, root, kb, transcript, resume, system, models *string
	yes, allowShell, plan                                            *bool
	hosts, mcps                                                      stringList
	steps, tokens                                                    *int
	wall                                                             *time.Duration
}

func runAgent(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "agent", "[flags] \"TASK\"\n\nRuns TASK with a model and tools: the model calls tools, sees their results and answers.\nWithout --url the model runs in-process (--model FILE, the embedded default model when omitted);\nwith --url (an OpenAI-compatible base URL such as http://127.0.0.1:11434/v1) --model names the model there.\nSide-effecting tools (write_file, run_command, remember, MCP tools not marked read-only) ask for\nconfirmation on stdin unless --yes. Without TASK, tasks are read from stdin one a line.")
	f := addInferFlags(fs, 256)
	a := &agentFlags{
		url:        fs.String("url", "", "an OpenAI-compatible base URL (default: the model runs in-process)"),
		apiKey:     fs.String("api-key", os.Getenv("OPENAI_API_KEY"), "bearer token for --url (default $OPENAI_API_KEY)"),
		tools:      fs.String("tools", "", "comma-separated tools (default: every tool the other flags enable): "+strings.Join(agent.BuiltinNames, ",")),
		root:       fs.String("root", "", "directory of the file tools (read_file, list_dir, write_file) and run_command; nothing outside it is reachable"),
		kb:         fs.String("kb", "", "knowledge-base directory (gptgo kb) for kb_search and long-term memory (remember, recall)"),
		yes:        fs.Bool("yes", false, "run side-effecting tools without asking"),
		allowShell: fs.Bool("allow-shell", false, "offer run_command (sh -c in --root, 30 s timeout, 64 KiB output)"),
		plan:       fs.Bool("plan", false, "ask for a numbered plan first, and let the model revise it"),
		system:     fs.String("system", "", "the system prompt (default: a short one saying how to use tools)"),
		models:     modelsFlag(fs),
		transcript: fs.String("transcript", "", "the JSONL transcript to write (default: agent-TIME.jsonl in the current directory)"),
		resume:     fs.String("resume", "", "go on with the run recorded in `TRANSCRIPT` (appended to it)"),
		steps:      fs.Int("max-steps", 20, "most model turns"),
		tokens:     fs.Int("max-tokens", 0, "most prompt+completion tokens over the run (0: no bound)"),
		wall:       fs.Duration("max-time", 0, "most wall time (0: no bound)"),
	}
	// The load flags' words are for verbs whose first argument may be the
	// model; here it is the task, and --verbose is the trace.
	fs.Lookup("model").Usage = "in-process: a GGUF file or a name of the models directory (default: the embedded model); with --url: the model's name there"
	fs.Lookup("verbose").Usage = "print a readable trace of the run (and the model's load) on stderr"
	fs.Lookup("n").Usage = "most tokens per model turn (-1: until end of generation or a full context)"
	fs.Var(&a.hosts, "allow-host", "a host (or host:port) http_get may fetch from; repeatable")
	fs.Var(&a.mcps, "mcp", "an MCP server whose tools to use: a command line (stdio) or an http(s) URL (streamable HTTP); repeatable")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	task := strings.TrimSpace(strings.Join(pos, " "))
	if *a.steps < 0 || *a.tokens < 0 || *a.wall < 0 {
		return errors.New("--max-steps, --max-tokens and --max-time must be ≥ 0")
	}
	if *a.resume != "" && task != "" {
		return errors.New("--resume goes on with the recorded task; give no TASK with it")
	}
	var state *agent.State
	if *a.resume != "" {
		r, err := os.Open(*a.resume)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		state, err = agent.ReadTranscript(r, *a.resume)
		r.Close()
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
	}

	cfg := agent.ToolConfig{Root: *a.root, AllowHosts: a.hosts, AllowShell: *a.allowShell}
	if *a.tools != "" {
		cfg.Names = strings.Split(*a.tools, ",")
	}
	if *a.kb != "" {
		s, emb, err := openKB(*a.kb, "", false)
		if err != nil {
			return err
		}
		defer emb.Close()
		defer s.Close()
		cfg.KB, cfg.Embedder = s, emb.emb
	}
	tools, closeTools, err := agent.NewTools(cfg)
	if err != nil {
		return err
	}
	defer closeTools()
	for _, spec := range a.mcps {
		ts, closeMCP, err := agent.ConnectMCP(ctx, spec)
		if err != nil {
			return fmt.Errorf("--mcp: %w", err)
		}
		defer closeMCP()
		if err := tools.Add(ts...); err != nil {
			return fmt.Errorf("--mcp %s: %w (pick the built-in tools with --tools to leave the name to the server)", spec, err)
		}
	}

	m, ctxLen, closeModel, err := agentModel(e, a, f)
	if err != nil {
		return err
	}
	defer closeModel()

	tpath := *a.transcript
	if *a.resume != "" && tpath == "" {
		tpath = *a.resume
	}
	if tpath == "" {
		tpath = "agent-" + time.Now().UTC().Format("20060102T150405Z") + ".jsonl"
	}
	tr, err := agent.CreateTranscript(tpath)
	if err != nil {
		return fmt.Errorf("--transcript: %w", err)
	}
	in := bufio.NewReader(e.stdin)
	var inMu sync.Mutex
	ag := &agent.Agent{
		Model: m, Tools: tools, Plan: *a.plan, System: *a.system, Context: ctxLen, Yes: *a.yes, Transcript: tr,
		Limits: agent.Limits{Steps: *a.steps, Tokens: *a.tokens, Time: *a.wall},
		Confirm: func(_ context.Context, c agent.ToolCall) (bool, error) {
			inMu.Lock()
			defer inMu.Unlock()
			args := string(c.Arguments)
			if len(args) > 600 {
				args = args[:600] + fmt.Sprintf("… (%d bytes)", len(c.Arguments))
			}
			fmt.Fprintf(e.stderr, "allow %s %s? [y/N] ", c.Name, args)
			line, err := in.ReadString('\n')
			if err != nil && err != io.EOF {
				return false, err
			}
			ans := strings.ToLower(strings.TrimSpace(line))
			if line == "" && err == io.EOF {
				fmt.Fprintln(e.stderr, "(no answer: refused)")
			}
			return ans == "y" || ans == "yes", nil
		},
	}
	if *f.verbose {
		ag.Trace = func(line string) { fmt.Fprintln(e.stderr, line) }
	}
	runOne := func(res *agent.Result, err error) error {
		if res != nil && res.Answer != "" {
			fmt.Fprintln(e.stdout, res.Answer)
		}
		return err
	}
	switch {
	case state != nil:
		err = runOne(ag.Resume(ctx, state))
	case task != "":
		err = runOne(ag.Run(ctx, task))
	default:
		// Interactive: one task a line, each a run of its own in the same transcript.
		for {
			fmt.Fprint(e.stderr, "task> ")
			inMu.Lock()
			line, rerr := in.ReadString('\n')
			inMu.Unlock()
			if t := strings.TrimSpace(line); t != "" {
				if err = runOne(ag.Run(ctx, t)); err != nil {
					fmt.Fprintln(e.stderr, "error:", err)
				}
			}
			if rerr != nil {
				fmt.Fprintln(e.stderr)
				err = nil
				break
			}
		}
	}
	fmt.Fprintf(e.stderr, "transcript: %s\n", tpath)
	return errors.Join(err, tr.Close())
}

// agentModel is the HTTP endpoint of --url, or the in-process model.
func agentModel(e *env, a *agentFlags, f *inferFlags) (agent.Model, int, func(), error) {
	opts, _ := f.options()
	if *a.url != "" {
		m := &agent.HTTPModel{BaseURL: *a.url, Model: *f.model, APIKey: *a.apiKey, MaxTokens: opts.MaxTokens}
		t := float64(opts.Sampler.Temperature)
		m.Temperature = &t
		return m, 0, func() {}, nil
	}
	path, err := agentModelPath(*f.model, a.models)
	if err != nil {
		return nil, 0, nil, err
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return nil, 0, nil, err
	}
	tmpl, err := chat.FromGGUF(in.m.File())
	if err != nil {
		in.Close()
		return nil, 0, nil, err
	}
	lm := &agent.LocalModel{Session: generate.NewSession(in.st, generate.FromTokenizer(in.tok)), Tok: in.tok, Template: tmpl, Options: opts}
	return lm, in.st.Ctx(), in.Close, nil
}

// agentModelPath is --model as a file: a path (a .gguf name or an existing
// file) as it is, else a name of the models directory ("" and the
// default's name: the embedded model).
func agentModelPath(name string, modelsDir *string) (string, error) {
	if name == "" {
		return "", nil
	}
	if looksLikeModelPath(name) || strings.ContainsRune(name, os.PathSeparator) {
		return name, checkModelFile(name)
	}
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		return name, nil
	}
	dir := ""
	if modelsDir != nil {
		dir = *modelsDir
	}
	s, err := openModels(dir)
	if err != nil {
		return "", err
	}
	ent, err := resolveModel(s, name)
	if err != nil {
		return "", fmt.Errorf("--model: %w", err)
	}
	return ent.Path, nil
}
