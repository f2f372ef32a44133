// Reference: Stanford Alpaca's generate_instruction step (self-instruct
// through an OpenAI-compatible endpoint) and Vicuna's ShareGPT preparation
// in FastChat, as `gptgo data` subcommands.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/internal/oaiclient"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// runDataSelfInstruct generates Alpaca-format tasks from an endpoint. The
// output is rewritten (atomically) after every request, and a run pointed
// at an existing output goes on from it, so a stopped run loses at most
// the request in flight.
func runDataSelfInstruct(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "data self-instruct", "--url URL --model NAME --seeds FILE --prompt FILE -o OUT.json [flags]")
	url := fs.String("url", "", "OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434 (gptgo serve) or .../v1")
	name := fs.String("model", "", "model name the endpoint knows")
	apiKey := fs.String("api-key", os.Getenv("OPENAI_API_KEY"), "bearer token (default $OPENAI_API_KEY)")
	seeds := fs.String("seeds", "", "seed tasks: Alpaca's seed_tasks.jsonl or Alpaca records (e.g. ../shared/data/3-sft/alpaca_seed_tasks.jsonl)")
	promptPath := fs.String("prompt", "", "the requirements text sent first (e.g. ../shared/data/3-sft/alpaca_self_instruct_prompt.txt)")
	out := fs.String("o", "", "output: an Alpaca JSON array; an existing one is continued")
	target := fs.Int("n", 100, "tasks to keep")
	requests := fs.Int("requests", 0, "give up after this many requests (default n, at least 10)")
	examples := fs.Int("examples", 3, "seed tasks shown per request")
	useChat := fs.Bool("chat", false, "ask through /v1/chat/completions instead of /v1/completions")
	maxTokens := fs.Int("max-tokens", 3072, "tokens per reply")
	temp := fs.Float64("temperature", 1, "sampling temperature")
	topP := fs.Float64("top-p", 1, "nucleus sampling")
	threshold := fs.Float64("rouge", 0.7, "ROUGE-L above which a task is a near-duplicate of one kept")
	nonASCII := fs.Bool("non-ascii", false, "keep tasks that start with a non-ASCII character (prompts in other languages)")
	seed := fs.Uint64("seed", 0, "picks the seed tasks shown")
	quiet := fs.Bool("quiet", false, "no progress line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
	for _, f := range []struct{ flag, v string }{{"--url", *url}, {"--model", *name}, {"--seeds", *seeds}, {"--prompt", *promptPath}, {"-o", *out}} {
		if f.v == "" {
			return fmt.Errorf("data self-instruct needs %s", f.flag)
		}
	}
	switch {
	case *target <= 0:
		return fmt.Errorf("-n %d: must be at least 1", *target)
	case *examples <= 0:
		return fmt.Errorf("--examples %d: must be at least 1", *examples)
	case *maxTokens <= 0:
		return fmt.Errorf("--max-tokens %d: must be at least 1", *maxTokens)
	case !(*threshold > 0 && *threshold <= 1):
		return fmt.Errorf("--rouge %v: must be in (0, 1]", *threshold)
	case !(*temp >= 0 && *temp <= 2):
		return fmt.Errorf("--temperature %v: must be in [0, 2]", *temp)
	case !(*topP > 0 && *topP <= 1):
		return fmt.Errorf("--top-p %v: must be in (0, 1]", *topP)
	}
	seedTasks, err := data.ReadSeedTasks(*seeds)
	if err != nil {
		return err
	}
	prompt, err := os.ReadFile(*promptPath)
	if err != nil {
		return fmt.Errorf("--prompt: %w", err)
	}
	kept, err := data.ReadInstructions(*out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		kept = nil
	case err != nil:
		return fmt.Errorf("-o: %w (move it away to start afresh)", err)
	default:
		fmt.Fprintf(e.stderr, "continuing %s: %d tasks kept so far\n", *out, len(kept))
	}
	c := &data.OpenAICompleter{Client: oaiclient.Client{BaseURL: *url, APIKey: *apiKey}, Model: *name, Chat: *useChat,
		MaxTokens: *maxTokens, Temperature: *temp, TopP: *topP, Stop: []string{"\n20", "20.", "20 ."}}
	o := data.SelfInstructOptions{Prompt: string(prompt), Seeds: seedTasks, Examples: *examples, Target: *target,
		Requests: *requests, Threshold: *threshold, NonASCII: *nonASCII, Seed: *seed, Kept: kept,
		Progress: func(k []data.Instruction, r data.SelfInstructReport) error {
			if !*quiet {
				fmt.Fprintf(e.stderr, "\r%s", r)
			}
			return atomicfile.WriteBytes(*out, data.MarshalInstructions(k))
		}}
	kept, rep, err := data.SelfInstruct(ctx, c, o)
	if !*quiet && rep.Requests > 0 {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return fmt.Errorf("%w (%d tasks kept in %s)", err, len(kept), *out)
	}
	if werr := atomicfile.WriteBytes(*out, data.MarshalInstructions(kept)); werr != nil {
		return werr
	}
	fmt.Fprintf(e.stdout, "%s\nwrote %s\n", rep, *out)
	return nil
}

// runDataConversations prepares ShareGPT conversations for `train sft`.
func runDataConversations(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "data conversations", "INPUT... -o OUT.jsonl [--model MODEL] [--max-tokens N] [--lang en,zh]")
	out := fs.String("o", "", "output JSONL (ShareGPT records); the report goes to OUT.report.json")
	modelPath := fs.String("model", "", "the model the data is for: its tokenizer and chat template count the tokens (default: the embedded default model)")
	tmpl := fs.String("template", "", "built-in chat template to count with instead of the model's (e.g. chatml)")
	maxTokens := fs.Int("max-tokens", -1, "split conversations to this many tokens at turn boundaries (default: the model's context; 0: no split)")
	langs := fs.String("lang", "", "keep only these languages, comma-separated (e.g. en,zh)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errUsage
	}
	if *out == "" {
		return fmt.Errorf("data conversations needs -o OUT.jsonl")
	}
	o := data.ConversationOptions{}
	if *langs != "" {
		o.Languages = strings.Split(*langs, ",")
	}
	if *maxTokens != 0 {
		f, err := openGGUF(*modelPath)
		if err != nil {
			return err
		}
		defer f.Close()
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		var t *chat.Template
		if *tmpl != "" {
			t, err = chat.Builtin(*tmpl)
		} else {
			t, err = chat.FromGGUF(f)
		}
		if err != nil {
			return fmt.Errorf("--template: %w", err)
		}
		o.MaxTokens = *maxTokens
		if o.MaxTokens < 0 {
			n, _ := f.Uint(f.Arch() + ".context_length")
			if o.MaxTokens = int(min(n, 1<<30)); o.MaxTokens <= 0 {
				return fmt.Errorf("--model has no context length: give --max-tokens")
			}
		}
		enc := &train.Encoder{Template: t, Tok: tok}
		o.CountTokens = func(system string, turns []data.Turn) (int, error) {
			c := train.Conversation{Where: "conversation"}
			if system != "" {
				c.Messages = append(c.Messages, chat.Message{Role: "system", Content: system})
			}
			for _, t := range turns {
				role := "user"
				if t.From == "gpt" {
					role = "assistant"
				}
				c.Messages = append(c.Messages, chat.Message{Role: role, Content: t.Value})
			}
			x, err := enc.Encode(c)
			return len(x.Tokens), err
		}
	}
	var inputs []io.Reader
	for _, p := range pos {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	convs, rep, err := data.PrepareConversations(o, inputs...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := data.WriteShareGPT(&buf, convs); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(*out, buf.Bytes()); err != nil {
		return err
	}
	if err := rep.WriteJSON(*out + ".report.json"); err != nil {
		return err
	}
	if err := rep.WriteSummary(e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nwrote %s and %s.report.json\n", *out, *out)
	return nil
}
