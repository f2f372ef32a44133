// Reference: llama.cpp examples/main/main.cpp (-cnv conversation mode: chat template, Ctrl-C stops the
// answer), ollama's REPL commands (/set, /reset, /bye) and the XDG Base Directory spec ($XDG_STATE_HOME).

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/peterh/liner"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func init() {
	register(&command{
		name:    "chat",
		summary: "talk with a model (REPL with line editing and history, through its chat template)",
		usage:   "MODEL [flags]   (type /help in the chat for its commands)",
		run:     runChat,
	})
}

func chatHelp() string {
	return `Commands:
  /reset             forget the conversation (the system prompt stays)
  /system TEXT       set the system prompt (/system alone removes it)
  /set NAME VALUE    change a setting, named as its flag is:
                     ` + strings.Join(chatSettingNames(), ", ") + `
                     (n: the most tokens of an answer, -1 until the context is full)
  /set               show the settings
  /bye               leave (so do Ctrl-D and end of input)
When the conversation outgrows the context, its oldest turns are dropped
(the system prompt stays) and a note on stderr says so.
Ctrl-C stops the current answer; at the prompt it leaves.
`
}

func runChat(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "chat", "[MODEL.gguf] [flags]\n\nReads your messages line by line from stdin and answers each through the model's chat template (ChatML when the file has none). Without MODEL it talks with the embedded default model. On a terminal the line can be edited (arrows, Ctrl-A/E) and earlier lines recalled (up/down), across sessions. When the conversation outgrows the context, whole oldest turns are dropped and the system prompt kept.")
	f := addInferFlags(fs, -1)
	system := fs.String("system", "", "system prompt")
	tmplName := fs.String("template", "", "use this built-in chat template instead of the model's")
	history := fs.String("history", "", `where the terminal REPL keeps the lines typed (default $XDG_STATE_HOME/gptgo/chat_history; "off": nowhere)`)
	fs.String("host", "", "talk to the gptgo serve (or OpenAI-compatible) server at this URL instead of loading a model; MODEL is then a model name there (default $GPTGO_HOST unless a model file is named; --host= loads the model here)")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if host := chatHost(fs, path); host != "" {
		return chatRemote(ctx, e, host, path, *system, pos, fs) // chat_remote.go
	}
	if len(pos) != 0 {
		return errUsage
	}
	opts, seed := f.options() // validated with the flags by parseModelArgs
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	var tmpl *chat.Template
	if *tmplName != "" {
		tmpl, err = chat.Builtin(*tmplName)
	} else {
		tmpl, err = chat.FromGGUF(in.m.File())
	}
	if err != nil {
		return err
	}
	if tmpl.Fallback() {
		fmt.Fprintf(e.stderr, "note: %s has no chat template; using the built-in %q (choose another with --template)\n", displayName(path), tmpl.Name())
	}
	if opts.TruncatePrompt {
		fmt.Fprintln(e.stderr, "note: chat drops whole oldest turns by itself when the context is full; --truncate is not used")
		opts.TruncatePrompt = false
	}
	c := &chatREPL{
		e: e, in: in, tmpl: tmpl, opts: opts, seed: seed, verbose: *f.verbose,
		sess: generate.NewSession(in.st, generate.FromTokenizer(in.tok)),
	}
	if *system != "" {
		c.msgs = append(c.msgs, chat.Message{Role: "system", Content: *system})
	}
	fmt.Fprintln(e.stderr, chatBanner(in, path))

	lines, err := newChatLines(e, *history)
	if err != nil {
		return err
	}
	defer func() {
		if err := lines.close(); err != nil {
			fmt.Fprintf(e.stderr, "warning: %v\n", err)
		}
	}()
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupt)
	c.interrupt = interrupt

	return promptLoop(ctx, e, lines, interrupt, c)
}

// chatTurns is what the prompt loop needs of a chat, local or remote.
type chatTurns interface {
	command(line string) (done bool, err error)
	answer(ctx context.Context, lines chatLines, text string) error
}

// promptLoop reads the user's lines until /bye, the end of input or a
// signal at the prompt, and hands each /command or message to c (whose
// answer watches the same interrupt channel to stop an answer).
func promptLoop(ctx context.Context, e *env, lines chatLines, interrupt <-chan os.Signal, c chatTurns) error {
	for {
		// The prompt waits for a line or for Ctrl-C (SIGINT while the
		// terminal is not in the line editor's hands, SIGTERM always).
		var r lineResult
		select {
		case r = <-lines.prompt("> "):
		case <-interrupt:
			fmt.Fprintln(e.stdout)
			return nil
		}
		if errors.Is(r.err, io.EOF) || errors.Is(r.err, errLeave) {
			fmt.Fprintln(e.stdout)
			return nil
		}
		if r.err != nil {
			return r.err
		}
		line := strings.TrimSpace(r.line)
		if line == "" {
			continue
		}
		lines.remember(line)
		if strings.HasPrefix(line, "/") {
			done, err := c.command(line)
			if err != nil {
				fmt.Fprintln(e.stdout, err)
			}
			if done {
				return nil
			}
			continue
		}
		if err := c.answer(ctx, lines, line); err != nil {
			return err
		}
	}
}

// chatBanner is the one line that opens a chat: the model's name and
// source, its architecture, size and context, and where help is.
func chatBanner(in *inference, path string) string {
	f := in.m.File()
	var params int64
	for _, ti := range f.Tensors {
		params += ti.Elements()
	}
	name, _ := f.String("general.name")
	source := path
	if path == "" {
		source = "models/default.gguf, embedded"
	}
	if name == "" {
		name = filepath.Base(source)
	}
	return fmt.Sprintf("%s [%s]: %s, %s parameters, %d-token context · /help for commands, /bye to leave",
		name, source, in.m.Config.Arch, humanCount(params), in.st.Ctx())
}

// chatREPL is one conversation: the model, the messages so far and the
// settings that /set changes.
type chatREPL struct {
	e         *env
	in        *inference
	tmpl      *chat.Template
	sess      *generate.Session
	opts      generate.Options
	seed      uint64
	verbose   bool
	msgs      []chat.Message
	interrupt chan os.Signal
}

// render turns a conversation into the prompt tokens of its next answer.
func (c *chatREPL) render(msgs []chat.Message) ([]int32, error) {
	text, err := c.tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: c.in.tok.AddBOS()})
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return c.in.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}), nil
}

// answer adds the user's message, drops the oldest turns if the
// conversation and room for the answer no longer fit the context, and
// streams the answer. Only a failure of the model itself is returned; a
// message that cannot be answered is explained and the chat goes on.
func (c *chatREPL) answer(ctx context.Context, lines chatLines, text string) error {
	msgs := append(c.msgs[:len(c.msgs):len(c.msgs)], chat.Message{Role: "user", Content: text})
	T := c.in.st.Ctx()
	count := func(m []chat.Message) (int, error) {
		ids, err := c.render(m)
		return len(ids), err
	}
	drop, err := generate.FitTurns(msgs, count, generate.PromptBudget(T, c.opts.MaxTokens))
	if err != nil {
		lines.endPrompt()
		if errors.Is(err, generate.ErrPromptTooLong) {
			hint := "shorten it or the system prompt, or keep less room for the answer (/set n)"
			if trained := c.in.m.Config.CtxTrain; T < trained {
				hint += fmt.Sprintf(", or start the chat with a larger --ctx (this model takes up to %d)", trained)
			}
			fmt.Fprintf(c.e.stdout, "%v\n(the message was left out of the conversation: %s; /reset starts over)\n", err, hint)
		} else {
			fmt.Fprintf(c.e.stdout, "%v\n(the message was left out of the conversation)\n", err)
		}
		return nil
	}
	if drop > 0 {
		msgs = generate.DropTurns(msgs, drop)
		lines.endPrompt()
		fmt.Fprintf(c.e.stderr, "[context full: dropped the %s]\n", plural(drop, "oldest turn", "%d oldest turns"))
	}
	ids, err := c.render(msgs)
	if err != nil {
		lines.endPrompt()
		fmt.Fprintf(c.e.stdout, "%v\n(the message was left out of the conversation)\n", err)
		return nil
	}
	// The answer is committed to the conversation (with the slide) only
	// once it exists, so a refused message leaves no trace.
	c.msgs = msgs

	// Ctrl-C (or SIGTERM) during the answer cancels only this turn; the
	// program's own context is cancelled by the first Ctrl-C, so the
	// turn deliberately does not inherit its cancellation.
	turn, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopped := make(chan struct{})
	go func() {
		select {
		case <-c.interrupt:
			cancel()
		case <-stopped:
		}
	}()
	r, err := c.sess.Generate(turn, ids, c.opts, func(t generate.Token) error {
		_, err := io.WriteString(c.e.stdout, t.Text)
		return err
	})
	close(stopped)
	cancel()
	if errors.Is(err, generate.ErrPromptTooLong) {
		c.msgs = c.msgs[:len(c.msgs)-1]
		fmt.Fprintf(c.e.stdout, "%v\n(/reset starts over)\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	if r.Stop == generate.StopCancelled {
		fmt.Fprint(c.e.stdout, " [stopped]")
	}
	fmt.Fprintln(c.e.stdout)
	if r.Stop == generate.StopContext {
		fmt.Fprintf(c.e.stderr, "[context full: the answer stopped at the end of the %d-token context]\n", T)
	}
	c.msgs = append(c.msgs, chat.Message{Role: "assistant", Content: r.Text})
	if c.verbose {
		printTimings(c.e.stderr, r, c.seed)
	}
	return nil
}

// plural is one when n is 1, else many with n formatted into it.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf(many, n)
}

// command runs one /command; done reports /bye. An error is a message for
// the user: the chat goes on.
func (c *chatREPL) command(line string) (done bool, err error) {
	w := c.e.stdout
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/bye", "/exit", "/quit":
		return true, nil
	case "/help", "/?":
		fmt.Fprint(w, chatHelp())
	case "/reset", "/clear":
		keep := c.msgs[:0]
		for _, m := range c.msgs {
			if m.Role == "system" {
				keep = append(keep, m)
			}
		}
		c.msgs = keep
		c.sess.Reset()
		fmt.Fprintln(w, "(conversation cleared)")
	case "/system":
		var rest []chat.Message
		for _, m := range c.msgs {
			if m.Role != "system" {
				rest = append(rest, m)
			}
		}
		if arg == "" {
			c.msgs = rest
			fmt.Fprintln(w, "(system prompt removed)")
			return false, nil
		}
		c.msgs = append([]chat.Message{{Role: "system", Content: arg}}, rest...)
		fmt.Fprintln(w, "(system prompt set)")
	case "/set":
		if arg == "" {
			for _, s := range chatSettings {
				fmt.Fprintf(w, "  %-18s %s\n", s.name, s.get(&c.opts))
			}
			return false, nil
		}
		key, val, _ := strings.Cut(arg, " ")
		val = strings.TrimSpace(val)
		if err := setChatOption(&c.opts, key, val); err != nil {
			return false, err
		}
		fmt.Fprintf(w, "(%s = %s)\n", key, val)
	default:
		return false, fmt.Errorf("unknown command %s (try /help)", name)
	}
	return false, nil
}

// chatSetting is one name /set knows: the flag of the same name, parsed
// and checked as the flag is.
type chatSetting struct {
	name  string
	alias string // the OpenAI/Ollama spelling, also accepted
	set   func(o *generate.Options, v string) error
	get   func(o *generate.Options) string
}

var chatSettings = []chatSetting{
	floatSetting("temp", "temperature", func(o *generate.Options) *float32 { return &o.Sampler.Temperature }),
	intSetting("top-k", "top_k", func(o *generate.Options) *int { return &o.Sampler.TopK }),
	floatSetting("top-p", "top_p", func(o *generate.Options) *float32 { return &o.Sampler.TopP }),
	floatSetting("min-p", "min_p", func(o *generate.Options) *float32 { return &o.Sampler.MinP }),
	floatSetting("repeat-penalty", "repeat_penalty", func(o *generate.Options) *float32 { return &o.Sampler.RepeatPenalty }),
	intSetting("repeat-last-n", "repeat_last_n", func(o *generate.Options) *int { return &o.Sampler.RepeatLastN }),
	floatSetting("frequency-penalty", "frequency_penalty", func(o *generate.Options) *float32 { return &o.Sampler.FrequencyPenalty }),
	floatSetting("presence-penalty", "presence_penalty", func(o *generate.Options) *float32 { return &o.Sampler.PresencePenalty }),
	{name: "seed", set: func(o *generate.Options, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < -1 {
			return errors.New("must be a whole number ≥ 0, or -1 for a random one")
		}
		o.Sampler.Seed = uint64(n)
		if n == -1 {
			o.Sampler.Seed = rand.Uint64() >> 1
		}
		return nil
	}, get: func(o *generate.Options) string { return strconv.FormatUint(o.Sampler.Seed, 10) }},
	{name: "n", alias: "max-tokens", set: func(o *generate.Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n == 0 {
			return errors.New("must be ≥ 1, or -1 for until the end of generation or a full context")
		}
		o.MaxTokens = n
		return nil
	}, get: func(o *generate.Options) string { return strconv.Itoa(o.MaxTokens) }},
}

func floatSetting(name, alias string, field func(*generate.Options) *float32) chatSetting {
	return chatSetting{name: name, alias: alias,
		set: func(o *generate.Options, v string) error {
			// NaN, Inf and out-of-range values parse (to NaN or ±Inf);
			// SamplerOptions.Validate rejects them as it does the flags'.
			x, err := strconv.ParseFloat(v, 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return errors.New("must be a number")
			}
			*field(o) = float32(x)
			return nil
		},
		get: func(o *generate.Options) string { return strconv.FormatFloat(float64(*field(o)), 'g', -1, 32) },
	}
}

func intSetting(name, alias string, field func(*generate.Options) *int) chatSetting {
	return chatSetting{name: name, alias: alias,
		set: func(o *generate.Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("must be a whole number")
			}
			*field(o) = n
			return nil
		},
		get: func(o *generate.Options) string { return strconv.Itoa(*field(o)) },
	}
}

func chatSettingNames() []string {
	names := make([]string, len(chatSettings))
	for i, s := range chatSettings {
		names[i] = s.name
	}
	return names
}

// setChatOption changes one setting by its flag name. The change is made on
// a copy and kept only when the whole sampler still validates, so a bad
// value leaves the settings as they were.
func setChatOption(o *generate.Options, key, val string) error {
	for _, s := range chatSettings {
		if key != s.name && (s.alias == "" || key != s.alias) {
			continue
		}
		if val == "" {
			return fmt.Errorf("/set %s needs a value (now %s)", s.name, s.get(o))
		}
		next := *o
		err := s.set(&next, val)
		if err == nil {
			err = next.Sampler.Validate()
		}
		var pe *generate.ParamError
		if errors.As(err, &pe) {
			err = errors.New(pe.Want)
		}
		if err != nil {
			return fmt.Errorf("/set %s %s: %v; it stays %s", s.name, val, err, s.get(o))
		}
		*o = next
		return nil
	}
	return fmt.Errorf("/set: unknown setting %q (known: %s)", key, strings.Join(chatSettingNames(), ", "))
}

// lineResult is one line read at the prompt, or why there is none.
type lineResult struct {
	line string
	err  error
}

// errLeave is Ctrl-C pressed at the line editor's prompt.
var errLeave = errors.New("chat: left at the prompt")

// chatLines is where the REPL's lines come from: a line editor when stdin
// and stdout are a terminal, plain lines otherwise (a pipe, a file, tests).
type chatLines interface {
	// prompt shows p and returns a channel that delivers the next line,
	// so that the caller can wait for Ctrl-C at the same time.
	prompt(p string) <-chan lineResult
	// endPrompt ends the prompt's line on stdout if the reader left it
	// open (plain lines are not echoed), so that a note printed before the
	// answer stands on a line of its own.
	endPrompt()
	// remember adds a line to the history, where there is one.
	remember(line string)
	// close restores the terminal and saves the history.
	close() error
}

// plainLines reads lines from any reader, one goroutine ahead.
type plainLines struct {
	w     io.Writer
	lines chan lineResult
	done  chan struct{} // closed by close: the reading goroutine stops sending
	open  bool          // a prompt was printed and no newline has followed it
}

func newPlainLines(r io.Reader, w io.Writer) *plainLines {
	p := &plainLines{w: w, lines: make(chan lineResult), done: make(chan struct{})}
	send := func(l lineResult) bool {
		select {
		case p.lines <- l:
			return true
		case <-p.done:
			return false
		}
	}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if !send(lineResult{line: sc.Text()}) {
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		} else {
			err = fmt.Errorf("reading stdin: %w", err)
		}
		for send(lineResult{err: err}) { // the end, to every later prompt
		}
	}()
	return p
}

func (p *plainLines) prompt(s string) <-chan lineResult {
	fmt.Fprint(p.w, s)
	p.open = true
	return p.lines
}

func (p *plainLines) endPrompt() {
	if p.open {
		fmt.Fprintln(p.w)
	}
	p.open = false
}

func (p *plainLines) remember(string) {}

func (p *plainLines) close() error {
	close(p.done)
	return nil
}

// termLines is the line editor (github.com/peterh/liner) on the process's
// own terminal: it reads os.Stdin and writes os.Stdout itself.
type termLines struct {
	st      *liner.State
	history string // the file the history is kept in; "" keeps none
}

func (t *termLines) prompt(p string) <-chan lineResult {
	ch := make(chan lineResult, 1)
	go func() {
		line, err := t.st.Prompt(p)
		if errors.Is(err, liner.ErrPromptAborted) {
			err = errLeave
		}
		ch <- lineResult{line, err}
	}()
	return ch
}

func (t *termLines) endPrompt() {}

func (t *termLines) remember(line string) { t.st.AppendHistory(line) }

func (t *termLines) close() error {
	defer t.st.Close()
	if t.history == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.history), 0o700); err != nil {
		return fmt.Errorf("chat history: %w", err)
	}
	err := atomicfile.Write(t.history, func(w io.Writer) error {
		_, err := t.st.WriteHistory(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat history %q: %w", t.history, err)
	}
	return nil
}

// newChatLines picks the line editor when e's stdin is the process's own
// terminal and stdout is one too; otherwise lines are read plainly.
// history is the --history flag.
func newChatLines(e *env, history string) (chatLines, error) {
	if e.stdin != os.Stdin || e.stdout != os.Stdout || !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		return newPlainLines(e.stdin, e.stdout), nil
	}
	if _, err := liner.TerminalMode(); err != nil || !liner.TerminalSupported() {
		return newPlainLines(e.stdin, e.stdout), nil
	}
	path, err := chatHistoryPath(history)
	if err != nil {
		return nil, err
	}
	t := &termLines{st: liner.NewLiner(), history: path}
	t.st.SetCtrlCAborts(true)
	if path != "" {
		if f, err := os.Open(path); err == nil {
			if _, err := t.st.ReadHistory(f); err != nil {
				fmt.Fprintf(e.stderr, "warning: chat history %q: %v (lines after it are not recalled)\n", path, err)
			}
			f.Close()
		}
	}
	return t, nil
}

// isTerminal reports whether f is a character device, as a terminal is.
// (/dev/null is one too; liner then finds no terminal and reads plainly.)
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// chatHistoryPath resolves --history: "off" keeps none; "" is
// $XDG_STATE_HOME/gptgo/chat_history, where XDG_STATE_HOME defaults to
// ~/.local/state on Unix and to the user's configuration directory
// elsewhere.
func chatHistoryPath(flagValue string) (string, error) {
	switch flagValue {
	case "off", "none":
		return "", nil
	case "":
	default:
		return flagValue, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gptgo", "chat_history"), nil
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("--history: %w (name a file, or off)", err)
		}
		return filepath.Join(d, "gptgo", "chat_history"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("--history: %w (name a file, or off)", err)
	}
	return filepath.Join(home, ".local", "state", "gptgo", "chat_history"), nil
}
