// Reference: OpenAI API reference, chat completions (https://platform.openai.com/docs/api-reference/chat)
// and its streaming chunks; the WHATWG "server-sent events" event-stream format; Ollama's OLLAMA_HOST
// (a bare host:port means http, port 11434 by default).

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// chatHost decides where chat's model lives: --host when given (an empty
// --host= forces the local model), else $GPTGO_HOST unless a model file is
// named on the command line. "" means: load the model here.
func chatHost(fs *flag.FlagSet, path string) string {
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "host" })
	if explicit {
		return fs.Lookup("host").Value.String()
	}
	if path != "" && (strings.HasSuffix(strings.ToLower(path), ".gguf") || isGGUF(path)) {
		return ""
	}
	return os.Getenv("GPTGO_HOST")
}

// localOnlyFlags are chat's flags that size or choose a model loaded here;
// with --host the server decides them, so giving one is an error rather
// than a setting silently dropped.
var localOnlyFlags = map[string]string{
	"ctx": "the server sizes its sessions (gptgo serve --ctx)", "batch": "the server batches prompts",
	"threads": "the server has its own threads (gptgo serve --threads)", "kv-type": "the server chooses its KV cache",
	"template": "the server applies the model's chat template", "ignore-eos": "the OpenAI API has no such setting",
}

// remoteSettings maps chat's setting names (flags and /set) to the fields of
// an OpenAI chat request (top_k, min_p and the repeat ones are llama.cpp's
// extensions, which gptgo serve accepts too).
var remoteSettings = map[string]string{
	"temp": "temperature", "top-k": "top_k", "top-p": "top_p", "min-p": "min_p",
	"repeat-penalty": "repeat_penalty", "repeat-last-n": "repeat_last_n",
	"frequency-penalty": "frequency_penalty", "presence-penalty": "presence_penalty",
	"seed": "seed", "n": "max_tokens",
}

// remoteChat is a conversation held here and answered by a server.
type remoteChat struct {
	e       *env
	client  *http.Client
	base    string // the server's URL, without a trailing "/" or "/v1"
	key     string // sent as "Authorization: Bearer"; "" sends none
	model   string
	opts    generate.Options // the settings' values, as the local chat keeps them
	chosen  map[string]bool  // the settings the user gave (flags or /set): only these are sent, so the model's own defaults on the server hold otherwise
	stops   []string
	verbose bool
	msgs    []chat.Message // the conversation so far (the system prompt first, if any)
	signals chan os.Signal
}

// wireMessage is a message as the OpenAI API takes it.
type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatRemote runs chat's REPL against a running gptgo (or any
// OpenAI-compatible) server at host: each turn is a streaming POST
// /v1/chat/completions, printed as it arrives; Ctrl-C stops the answer
// (closing the request, so the server stops generating). The model is the
// one positional argument in rest, a name on the server (without one: its
// "default", else the first it lists); file is a model file named here
// (--model or a .gguf argument), which makes no sense with a server.
// Sampler flags given on the command line are sent; the load flags are
// refused. The API key is $GPTGO_API_KEY, else $OPENAI_API_KEY.
func chatRemote(ctx context.Context, e *env, host, file, system string, rest []string, fs *flag.FlagSet) error {
	base, err := remoteBase(host)
	if err != nil {
		return err
	}
	if file != "" {
		return fmt.Errorf("--host: %s is a model file here; with --host, MODEL is the name of a model on the server (gptgo list there)", file)
	}
	if len(rest) > 1 {
		return errUsage
	}
	model := ""
	if len(rest) == 1 {
		model = rest[0]
	}
	c := &remoteChat{e: e, client: &http.Client{}, base: base, model: model, chosen: map[string]bool{}}
	c.key = os.Getenv("GPTGO_API_KEY")
	if c.key == "" {
		c.key = os.Getenv("OPENAI_API_KEY")
	}
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if why, ok := localOnlyFlags[f.Name]; ok {
			bad = append(bad, fmt.Sprintf("--%s (%s)", f.Name, why))
		}
		if _, ok := remoteSettings[f.Name]; ok {
			c.chosen[f.Name] = true
		}
		switch f.Name {
		case "stop":
			c.stops = *f.Value.(*stringList)
		case "truncate":
			fmt.Fprintln(e.stderr, "note: chat drops whole oldest turns by itself when the context is full; --truncate is not used")
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("with --host these flags do not apply: %s", strings.Join(bad, ", "))
	}
	if v, ok := fs.Lookup("verbose").Value.(flag.Getter); ok {
		c.verbose, _ = v.Get().(bool)
	}
	// The flags hold the settings' values (defaults included) in the local
	// chat's form, so that /set changes and checks them as it does there.
	for _, s := range chatSettings {
		if err := s.set(&c.opts, fs.Lookup(s.name).Value.String()); err != nil {
			return fmt.Errorf("--%s: %v", s.name, err)
		}
	}
	if err := c.opts.Sampler.Validate(); err != nil {
		return err
	}
	if system != "" {
		c.msgs = append(c.msgs, chat.Message{Role: "system", Content: system})
	}
	if err := c.pickModel(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s on %s · /help for commands, /bye to leave\n", c.model, c.base)

	lines, err := newChatLines(e, fs.Lookup("history").Value.String())
	if err != nil {
		return err
	}
	defer func() {
		if err := lines.close(); err != nil {
			fmt.Fprintf(e.stderr, "warning: %v\n", err)
		}
	}()
	c.signals = make(chan os.Signal, 1)
	signal.Notify(c.signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(c.signals)
	return promptLoop(ctx, e, lines, c.signals, c)
}

// remoteBase turns --host into the server's base URL: "host:port" and
// "host" mean http (port 11434 when none is given, as Ollama reads
// OLLAMA_HOST); a trailing "/" or "/v1" is dropped, since both gptgo's and
// OpenAI's documentation give base URLs both ways.
func remoteBase(host string) (string, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return "", errors.New("--host: empty (want http://HOST:PORT or HOST:PORT)")
	}
	if !strings.Contains(h, "://") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "11434")
		}
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--host %q: not a server address (want http://HOST:PORT or HOST:PORT)", host)
	}
	// A listen address (":8080", "0.0.0.0:11434", "[::]:11434", as
	// GPTGO_HOST holds for gptgo serve) is dialled on the loopback.
	switch u.Hostname() {
	case "", "0.0.0.0":
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	case "::":
		u.Host = net.JoinHostPort("::1", u.Port())
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1")
	u.RawPath = ""
	return strings.TrimRight(u.String(), "/"), nil
}

// do sends one request with the key and returns the response, or an error
// that names the server and carries the server's own message.
func (c *remoteChat) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("--host %s: %w", c.base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("--host %s: %w (is gptgo serve running there?)", c.base, err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		return nil, httpError(c.base+path, res)
	}
	return res, nil
}

// remoteStatusError is a server's answer other than 2xx.
type remoteStatusError struct {
	status int
	code   string // OpenAI's error code, e.g. context_length_exceeded
	msg    string
}

func (e *remoteStatusError) Error() string { return e.msg }

// httpError reads an error response: OpenAI's {"error":{"message"}},
// Ollama's {"error":"..."}, or the start of the body as text.
func httpError(where string, res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	msg, code := strings.TrimSpace(string(b)), ""
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Error) > 0 {
		var o struct {
			Message string
			Code    any
		}
		var s string
		if json.Unmarshal(env.Error, &o) == nil && o.Message != "" {
			msg = o.Message
			if c, ok := o.Code.(string); ok {
				code = c
			}
		} else if json.Unmarshal(env.Error, &s) == nil && s != "" {
			msg = s
		}
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	hint := ""
	if res.StatusCode == http.StatusUnauthorized {
		hint = " (set GPTGO_API_KEY to the server's --api-key)"
	}
	return &remoteStatusError{res.StatusCode, code, fmt.Sprintf("%s: %s: %s%s", where, res.Status, msg, hint)}
}

// pickModel checks the server and the model: GET /v1/models must answer,
// and list the model asked for; without one, "default" (gptgo's embedded
// model) or else the first listed.
func (c *remoteChat) pickModel(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.do(ctx, http.MethodGet, "/v1/models", nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&list); err != nil {
		return fmt.Errorf("--host %s: GET /v1/models: %v (not an OpenAI-compatible server?)", c.base, err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	switch {
	case len(ids) == 0:
		return fmt.Errorf("--host %s: the server lists no models", c.base)
	case c.model == "" && slices.Contains(ids, "default:latest"):
		c.model = "default:latest" // gptgo's embedded model, in the store's name:tag form
	case c.model == "" && slices.Contains(ids, "default"):
		c.model = "default"
	case c.model == "":
		c.model = ids[0]
	case !slices.Contains(ids, c.model) && !slices.Contains(ids, c.model+":latest"):
		return fmt.Errorf("--host %s: no model %q there (it has: %s)", c.base, c.model, strings.Join(ids, ", "))
	}
	return nil
}

// request is the body of one turn: the conversation msgs, streaming with
// the usage at the end, and the settings the user chose.
func (c *remoteChat) request(msgs []chat.Message) ([]byte, error) {
	wire := make([]wireMessage, len(msgs))
	for i, m := range msgs {
		wire[i] = wireMessage{m.Role, m.Content}
	}
	body := map[string]any{
		"model": c.model, "messages": wire, "stream": true,
		"stream_options": map[string]bool{"include_usage": true},
	}
	o := c.opts
	vals := map[string]any{
		"temp": o.Sampler.Temperature, "top-k": o.Sampler.TopK, "top-p": o.Sampler.TopP, "min-p": o.Sampler.MinP,
		"repeat-penalty": o.Sampler.RepeatPenalty, "repeat-last-n": o.Sampler.RepeatLastN,
		"frequency-penalty": o.Sampler.FrequencyPenalty, "presence-penalty": o.Sampler.PresencePenalty,
		"seed": o.Sampler.Seed, "n": o.MaxTokens,
	}
	for name, field := range remoteSettings {
		if !c.chosen[name] || (name == "n" && o.MaxTokens < 0) {
			continue // -1 tokens is "until the context is full": the server's default
		}
		body[field] = vals[name]
	}
	if len(c.stops) > 0 {
		body["stop"] = c.stops
	}
	return json.Marshal(body)
}

// answer sends the conversation with the new message and prints the answer
// as it streams. When the server says the conversation does not fit the
// model's context (OpenAI's context_length_exceeded), the oldest turns are
// dropped one by one, the system prompt kept, and a note on stderr says so
// before the answer, as the local chat does. Another refusal (4xx) is
// explained and the chat goes on without the message; an unreachable
// server ends the chat.
func (c *remoteChat) answer(ctx context.Context, lines chatLines, text string) error {
	msgs := append(c.msgs[:len(c.msgs):len(c.msgs)], chat.Message{Role: "user", Content: text})
	// As in the local chat, Ctrl-C during the answer cancels only this
	// turn, not the program.
	turn, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-c.signals:
			cancel()
		case <-stopped:
		}
	}()
	start := time.Now()
	var res *http.Response
	dropped := 0
	for {
		body, err := c.request(msgs)
		if err != nil {
			return err
		}
		res, err = c.do(turn, http.MethodPost, "/v1/chat/completions", body)
		var se *remoteStatusError
		if errors.As(err, &se) && se.code == "context_length_exceeded" && generate.Turns(msgs) > 1 {
			// The server refuses before queueing, so trying again is cheap.
			msgs = generate.DropTurns(msgs, 1)
			dropped++
			continue
		}
		switch {
		case errors.As(err, &se) && se.status/100 == 4 && se.status != http.StatusUnauthorized && se.status != http.StatusNotFound:
			lines.endPrompt()
			fmt.Fprintf(c.e.stdout, "%v\n(the message was left out of the conversation; /reset starts over)\n", err)
			return nil
		case errors.Is(err, context.Canceled):
			lines.endPrompt()
			fmt.Fprintln(c.e.stdout, "[stopped]")
			return nil
		case err != nil:
			return err
		}
		break
	}
	defer res.Body.Close()
	if dropped > 0 {
		lines.endPrompt()
		fmt.Fprintf(c.e.stderr, "[context full: dropped the %s]\n", plural(dropped, "oldest turn", "%d oldest turns"))
	}
	var answer strings.Builder
	st, err := readChatStream(res.Body, func(s string) error {
		answer.WriteString(s)
		_, err := io.WriteString(c.e.stdout, s)
		return err
	})
	if err != nil && turn.Err() == nil {
		// A failure inside the stream: the partial answer is shown but
		// not kept, and neither is the message, so the next turn does not
		// build on them.
		fmt.Fprintf(c.e.stdout, "\nerror: %v\n(the message was left out of the conversation)\n", err)
		return nil
	}
	if turn.Err() != nil {
		fmt.Fprint(c.e.stdout, " [stopped]")
	}
	fmt.Fprintln(c.e.stdout)
	if st.finish == "length" && !c.chosen["n"] {
		fmt.Fprintln(c.e.stderr, "[the answer reached the server's token limit]")
	}
	c.msgs = append(msgs, chat.Message{Role: "assistant", Content: answer.String()})
	if c.verbose {
		c.printTimings(st, start)
	}
	return nil
}

func (c *remoteChat) printTimings(st chatStreamResult, start time.Time) {
	if st.first.IsZero() {
		return
	}
	ttft := st.first.Sub(start)
	gen := st.last.Sub(st.first).Seconds()
	fmt.Fprintf(c.e.stderr, "prompt %d tokens, answer %d tokens; first token after %.0f ms", st.promptTokens, st.completionTokens, ttft.Seconds()*1000)
	if st.completionTokens > 1 && gen > 0 {
		fmt.Fprintf(c.e.stderr, ", then %.1f tokens/s", float64(st.completionTokens-1)/gen)
	}
	fmt.Fprintln(c.e.stderr)
}

// chatStreamResult is what a stream says besides its text.
type chatStreamResult struct {
	finish                         string // the last finish_reason
	promptTokens, completionTokens int    // from the usage chunk, when sent
	first, last                    time.Time
	done                           bool // "data: [DONE]" arrived
}

// readChatStream reads an OpenAI chat completions event stream, calling
// text with each piece of the answer (choice 0). An error event ends it
// with that error; so does a stream cut before "data: [DONE]" or a
// finish_reason (a server that died mid-answer).
func readChatStream(r io.Reader, text func(string) error) (chatStreamResult, error) {
	var st chatStreamResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	var data []string
	event := ""
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line != "" {
			field, val, _ := strings.Cut(line, ":")
			val = strings.TrimPrefix(val, " ")
			switch field {
			case "data":
				data = append(data, val)
			case "event":
				event = val
			}
			continue
		}
		if len(data) == 0 {
			continue
		}
		payload := strings.Join(data, "\n")
		data, event = data[:0], ""
		if payload == "[DONE]" {
			st.done = true
			return st, nil
		}
		var chunk struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(payload), &chunk); err != nil {
			return st, fmt.Errorf("the server sent a chunk that is not JSON: %.200q", payload)
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" || event == "error" {
			var e struct{ Message string }
			if json.Unmarshal(chunk.Error, &e) != nil || e.Message == "" {
				e.Message = string(chunk.Error)
			}
			return st, fmt.Errorf("the server stopped the answer: %s", e.Message)
		}
		if chunk.Usage != nil {
			st.promptTokens, st.completionTokens = chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.Delta.Content != nil && *ch.Delta.Content != "" {
				now := time.Now()
				if st.first.IsZero() {
					st.first = now
				}
				st.last = now
				if err := text(*ch.Delta.Content); err != nil {
					return st, err
				}
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				st.finish = *ch.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	if st.finish == "" {
		return st, errors.New("the stream ended before the answer did")
	}
	return st, nil // some servers end without [DONE] after a finish_reason
}

const remoteChatHelp = `Commands:
  /reset             forget the conversation (the system prompt stays)
  /system TEXT       set the system prompt (/system alone removes it)
  /set NAME VALUE    change a setting, sent with each request from then on:
                     temp, top-k, top-p, min-p, repeat-penalty, repeat-last-n,
                     frequency-penalty, presence-penalty, seed, n
  /set               show the settings that are sent
  /bye               leave (so do Ctrl-D and end of input)
When the conversation outgrows the model's context on the server, its
oldest turns are dropped (the system prompt stays) and a note on stderr
says so.
Ctrl-C stops the current answer; at the prompt it leaves.
`

// command runs one /command; done reports /bye.
func (c *remoteChat) command(line string) (done bool, err error) {
	w := c.e.stdout
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/bye", "/exit", "/quit":
		return true, nil
	case "/help", "/?":
		fmt.Fprint(w, remoteChatHelp)
	case "/reset", "/clear":
		keep := c.msgs[:0]
		for _, m := range c.msgs {
			if m.Role == "system" {
				keep = append(keep, m)
			}
		}
		c.msgs = keep
		fmt.Fprintln(w, "(conversation cleared)")
	case "/system":
		var rest []chat.Message
		for _, m := range c.msgs {
			if m.Role != "system" {
				rest = append(rest, m)
			}
		}
		c.msgs = rest
		if arg == "" {
			fmt.Fprintln(w, "(system prompt removed)")
			return false, nil
		}
		c.msgs = append([]chat.Message{{Role: "system", Content: arg}}, rest...)
		fmt.Fprintln(w, "(system prompt set)")
	case "/set":
		if arg == "" {
			body, _ := c.request(nil)
			var m map[string]any
			json.Unmarshal(body, &m)
			for _, s := range chatSettings {
				if f, ok := m[remoteSettings[s.name]]; ok {
					fmt.Fprintf(w, "  %-18s %v\n", s.name, f)
				}
			}
			fmt.Fprintln(w, "  (the others are the server's defaults for the model)")
			return false, nil
		}
		key, val, _ := strings.Cut(arg, " ")
		val = strings.TrimSpace(val)
		if err := setChatOption(&c.opts, key, val); err != nil {
			return false, err
		}
		for _, s := range chatSettings {
			if key == s.name || key == s.alias {
				c.chosen[s.name] = true
			}
		}
		fmt.Fprintf(w, "(%s = %s)\n", key, val)
	default:
		return false, fmt.Errorf("unknown command %s (try /help)", name)
	}
	return false, nil
}
