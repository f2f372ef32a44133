// Reference: the Berkeley Function Calling Leaderboard v4 data in ../shared/data/8-function-calling
// (simple, multiple, parallel and irrelevance sets, their possible answers); calls made through the
// official openai-go v3 client and validated with an independent JSON Schema implementation.

package server

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

var bfclAll = flag.Bool("bfcl-all", false, "TestBFCLThroughServer: every BFCL entry on every rotary reference model, not a sample")

// bfclStride is how far apart the sampled entries are without -bfcl-all.
const bfclStride = 40

// bfclCtx is the context the tiny models are served with: their metadata
// says 256 positions, too few for a tool list; their positions are rotary,
// so serve --ctx may go beyond (BFCL prompts with their tools are 350 to
// 3,070 tokens on their 512- and 1,024-token vocabularies).
const bfclCtx = 4096

// bfclMaxTokens bounds each answer; the grammar's budget makes a forced
// call end within it whatever the random weights draw.
const bfclMaxTokens = 256

// bfclEntry is one line of a BFCL file.
type bfclEntry struct {
	ID       string `json:"id"`
	Question [][]struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"question"`
	Function []struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Parameters  map[string]any `json:"parameters"`
	} `json:"function"`
}

func readBFCL(t *testing.T, set string) []bfclEntry {
	t.Helper()
	f, err := os.Open(testkit.Shared(t, "data", "8-function-calling", "BFCL_v4_"+set+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bfclEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var e bfclEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// toJSONSchema turns BFCL's Python-flavoured parameter schemas into JSON
// Schema, as BFCL's own OpenAI handler does before sending them: dict →
// object, float → number, tuple → array, any → no type; its "optional"
// flag is dropped.
func toJSONSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch k {
			case "optional":
				continue
			case "type":
				switch val {
				case "dict":
					val = "object"
				case "float":
					val = "number"
				case "tuple":
					val = "array"
				case "any":
					continue
				}
			case "properties":
				props := map[string]any{}
				if m, ok := val.(map[string]any); ok {
					for pk, pv := range m {
						props[pk] = toJSONSchema(pv)
					}
				}
				out[k] = props
				continue
			}
			out[k] = toJSONSchema(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = toJSONSchema(x[i])
		}
		return out
	}
	return v
}

// bfclRequest is e's question with e's functions as tools.
func bfclRequest(e bfclEntry, model string) (openai.ChatCompletionNewParams, map[string]string) {
	p := openai.ChatCompletionNewParams{Model: model, MaxTokens: openai.Int(bfclMaxTokens), Temperature: openai.Float(1), Seed: openai.Int(1)}
	for _, m := range e.Question[0] {
		switch m.Role {
		case "system":
			p.Messages = append(p.Messages, openai.SystemMessage(m.Content))
		case "assistant":
			p.Messages = append(p.Messages, openai.AssistantMessage(m.Content))
		default:
			p.Messages = append(p.Messages, openai.UserMessage(m.Content))
		}
	}
	schemas := map[string]string{}
	for _, fn := range e.Function {
		s := toJSONSchema(fn.Parameters).(map[string]any)
		b, _ := json.Marshal(s)
		schemas[fn.Name] = string(b)
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: fn.Name, Description: openai.String(fn.Description), Parameters: shared.FunctionParameters(s)}))
	}
	return p, schemas
}

// bfclServer serves the reference models with rotary positions (tiny-llama
// and tiny-qwen2; tiny-gpt2's learned positions end at 256, too few for
// any BFCL tool list) with a context of bfclCtx.
func bfclServer(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	names := []string{"tiny-qwen2-f32", "tiny-llama-f32"}
	for _, n := range names {
		b, err := os.ReadFile(testkit.Shared(t, "reference", "models", n+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n+".gguf"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := modelstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Models: store, Ctx: bfclCtx, Threads: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts.URL, names
}

// TestBFCLThroughServer: for BFCL's simple, multiple and parallel entries
// (every one on every model with -bfcl-all, the models side by side; else
// every bfclStride-th, alternating the models), a request forcing the
// entry's function by tool_choice (the possible answer's for multiple;
// with parallel_tool_calls for parallel) returns calls to that function
// whose arguments validate against its schema: 100%, on random-weight
// models. With tool_choice none over the irrelevance set, no answer is a
// call.
func TestBFCLThroughServer(t *testing.T) {
	url, models := bfclServer(t)
	c := client(url)
	sets := []string{"simple_python", "multiple", "parallel"}
	entries := map[string][]bfclEntry{}
	for _, set := range sets {
		entries[set] = readBFCL(t, set)
	}
	answers := readPossibleAnswers(t, "multiple") // the function BFCL expects, by id
	irr := readBFCL(t, "irrelevance")
	for mi, m := range models {
		// uses reports whether entry i runs on this model.
		uses := func(i int) bool {
			return *bfclAll || i%bfclStride == 0 && (i/bfclStride)%len(models) == mi
		}
		t.Run(m, func(t *testing.T) {
			if *bfclAll {
				t.Parallel() // each model has its own session
			}
			ctx := context.Background()
			start := time.Now()
			requests, calls := 0, 0
			for _, set := range sets {
				for i, e := range entries[set] {
					if !uses(i) {
						continue
					}
					p, schemas := bfclRequest(e, m)
					name := e.Function[0].Name
					if set == "multiple" {
						if name = answers[e.ID]; name == "" {
							t.Fatalf("%s: no possible answer", e.ID)
						}
					}
					p.ToolChoice = openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: name})
					if set == "parallel" {
						p.ParallelToolCalls = openai.Bool(true)
					}
					requests++
					r, err := c.Chat.Completions.New(ctx, p)
					if err != nil {
						t.Fatalf("%s: %v", e.ID, err)
					}
					ch := r.Choices[0]
					if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) == 0 {
						t.Errorf("%s: finish %q, %d calls, content %q (usage %+v)", e.ID, ch.FinishReason, len(ch.Message.ToolCalls), ch.Message.Content, r.Usage)
						continue
					}
					for _, tc := range ch.Message.ToolCalls {
						calls++
						if tc.Function.Name != name {
							t.Errorf("%s: call to %q, forced %q", e.ID, tc.Function.Name, name)
							continue
						}
						validates(t, schemaValidator(t, schemas[name]), tc.Function.Arguments)
					}
				}
			}
			t.Logf("%d forced requests, %d calls, all valid unless reported above, in %v", requests, calls, time.Since(start).Round(time.Millisecond))

			// Irrelevance: tool_choice none never calls, whatever the tools.
			start, requests = time.Now(), 0
			for i, e := range irr {
				if !uses(i) {
					continue
				}
				p, _ := bfclRequest(e, m)
				p.MaxTokens = openai.Int(24)
				p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}
				requests++
				r, err := c.Chat.Completions.New(ctx, p)
				if err != nil {
					t.Fatalf("%s: %v", e.ID, err)
				}
				if ch := r.Choices[0]; len(ch.Message.ToolCalls) > 0 || ch.FinishReason == "tool_calls" {
					t.Errorf("%s: tool_choice none gave %d calls, finish %q", e.ID, len(ch.Message.ToolCalls), ch.FinishReason)
				}
			}
			t.Logf("%d irrelevance requests with tool_choice none, no call unless reported above, in %v", requests, time.Since(start).Round(time.Millisecond))
		})
	}
}

// readPossibleAnswers is, by entry id, the name of the function set's
// possible-answer file expects to be called.
func readPossibleAnswers(t *testing.T, set string) map[string]string {
	t.Helper()
	f, err := os.Open(testkit.Shared(t, "data", "8-function-calling", "BFCL_v4_"+set+"_possible_answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var a struct {
			ID          string                       `json:"id"`
			GroundTruth []map[string]json.RawMessage `json:"ground_truth"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || len(a.GroundTruth) == 0 {
			t.Fatalf("%s possible answers: %v", set, err)
		}
		for name := range a.GroundTruth[0] {
			out[a.ID] = name
		}
	}
	return out
}
