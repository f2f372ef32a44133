// Reference: llama.cpp examples/main/main.cpp (-cnv conversation mode: chat template, Ctrl-C stops the
// answer) and ollama's REPL commands (/set, /reset, /bye).

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func init() {
	register(&command{
		name:    "chat",
		summary: "talk with a model (REPL with history, through its chat template)",
		usage:   "MODEL [flags]   (type /help in the chat for its commands)",
		run:     runChat,
	})
}

const chatHelp = `Commands:
  /reset             forget the conversation (the system prompt stays)
  /system TEXT       set the system prompt
  /set NAME VALUE    change a sampler setting: temp, top-k, top-p, min-p, seed,
                     n (max tokens), repeat-penalty, repeat-last-n
  /bye               leave (so does end of input)
Ctrl-C stops the current answer; at the prompt it leaves.
`

func runChat(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "chat", "[MODEL.gguf] [flags]\n\nReads your messages line by line from stdin and answers each through the model's chat template (ChatML when the file has none). Without MODEL it talks with the embedded default model.")
	f := addInferFlags(fs, -1)
	system := fs.String("system", "", "system prompt")
	tmplName := fs.String("template", "", "use this built-in chat template instead of the model's")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
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
	opts, seed := f.options()
	sess := generate.NewSession(in.st, generate.FromTokenizer(in.tok))
	var msgs []chat.Message
	if *system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: *system})
	}

	// Lines arrive on a channel so that the prompt can also wait for Ctrl-C.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupt)

	for {
		fmt.Fprint(e.stdout, "> ")
		var line string
		select {
		case l, ok := <-lines:
			if !ok {
				fmt.Fprintln(e.stdout)
				return nil
			}
			line = strings.TrimSpace(l)
		case <-interrupt:
			fmt.Fprintln(e.stdout)
			return nil
		}
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			done, err := chatCommand(e.stdout, line, &msgs, &opts, sess)
			if err != nil {
				fmt.Fprintln(e.stdout, err)
			}
			if done {
				return nil
			}
			continue
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: line})
		text, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: in.tok.AddBOS()})
		if err != nil {
			return fmt.Errorf("chat template: %w", err)
		}
		ids := in.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})

		// Ctrl-C (or SIGTERM) during the answer cancels only this turn; the
		// program's own context is cancelled by the first Ctrl-C, so the
		// turn deliberately does not inherit its cancellation.
		turn, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stopped := make(chan struct{})
		go func() {
			select {
			case <-interrupt:
				cancel()
			case <-stopped:
			}
		}()
		r, err := sess.Generate(turn, ids, opts, func(t generate.Token) error {
			_, err := io.WriteString(e.stdout, t.Text)
			return err
		})
		close(stopped)
		cancel()
		if errors.Is(err, generate.ErrPromptTooLong) {
			msgs = msgs[:len(msgs)-1]
			fmt.Fprintf(e.stdout, "%v\n(the conversation is too long for the context of %d tokens; /reset starts over)\n", err, in.st.Ctx())
			continue
		}
		if err != nil {
			return err
		}
		if r.Dropped > 0 {
			fmt.Fprintf(e.stderr, "warning: the conversation did not fit the context of %d; dropped its %d oldest tokens after the first\n", in.st.Ctx(), r.Dropped)
		}
		if r.Stop == generate.StopCancelled {
			fmt.Fprint(e.stdout, " [stopped]")
		}
		fmt.Fprintln(e.stdout)
		msgs = append(msgs, chat.Message{Role: "assistant", Content: r.Text})
		if *f.verbose {
			printTimings(e.stderr, r, seed)
		}
	}
}

// chatCommand runs one /command; done reports /bye.
func chatCommand(w io.Writer, line string, msgs *[]chat.Message, o *generate.Options, sess *generate.Session) (done bool, err error) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/bye", "/exit", "/quit":
		return true, nil
	case "/help", "/?":
		fmt.Fprint(w, chatHelp)
	case "/reset", "/clear":
		keep := (*msgs)[:0]
		for _, m := range *msgs {
			if m.Role == "system" {
				keep = append(keep, m)
			}
		}
		*msgs = keep
		sess.Reset()
		fmt.Fprintln(w, "(conversation cleared)")
	case "/system":
		rest := (*msgs)[:0]
		for _, m := range *msgs {
			if m.Role != "system" {
				rest = append(rest, m)
			}
		}
		if arg == "" {
			*msgs = rest
			fmt.Fprintln(w, "(system prompt removed)")
			return false, nil
		}
		*msgs = append([]chat.Message{{Role: "system", Content: arg}}, rest...)
		fmt.Fprintln(w, "(system prompt set)")
	case "/set":
		key, val, _ := strings.Cut(arg, " ")
		val = strings.TrimSpace(val)
		if err := setSampler(o, key, val); err != nil {
			return false, err
		}
		fmt.Fprintf(w, "(%s = %s)\n", key, val)
	default:
		return false, fmt.Errorf("unknown command %s (try /help)", name)
	}
	return false, nil
}

// setSampler changes one setting by its flag name.
func setSampler(o *generate.Options, key, val string) error {
	num, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return fmt.Errorf("/set %s: %q is not a number", key, val)
	}
	s := &o.Sampler
	switch key {
	case "temp", "temperature":
		s.Temperature = float32(num)
	case "top-k", "top_k":
		s.TopK = int(num)
	case "top-p", "top_p":
		s.TopP = float32(num)
	case "min-p", "min_p":
		s.MinP = float32(num)
	case "seed":
		s.Seed = uint64(num)
	case "n", "max-tokens":
		o.MaxTokens = int(num)
	case "repeat-penalty":
		s.RepeatPenalty = float32(num)
	case "repeat-last-n":
		s.RepeatLastN = int(num)
	default:
		return fmt.Errorf("/set: unknown setting %q (temp, top-k, top-p, min-p, seed, n, repeat-penalty, repeat-last-n)", key)
	}
	return s.Validate()
}
