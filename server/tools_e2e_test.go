// Reference: OpenAI's function calling through the official openai-go v3 client (tools, tool_choice,
// parallel_tool_calls, streamed tool-call deltas); arguments validated with an independent JSON
// Schema implementation.

package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// e2eTools is one small tool: the default model's context is 256 tokens,
// and its template (no tools variable) lists the tools as indented JSON in
// the prompt, about 170 tokens for this one.
var e2eTools = []openai.ChatCompletionToolUnionParam{
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "add",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer"}}, "required": []any{"a"}}}),
}

var e2eSchemas = map[string]string{
	"add": `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`,
}

func toolParams(choice openai.ChatCompletionToolChoiceOptionUnionParam, seed int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       "default",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("2+3?")},
		Tools:       e2eTools,
		ToolChoice:  choice,
		MaxTokens:   openai.Int(60),
		Temperature: openai.Float(1),
		Seed:        openai.Int(seed),
	}
}

func checkToolCalls(t *testing.T, calls []openai.ChatCompletionMessageToolCallUnion, only string) {
	t.Helper()
	for _, c := range calls {
		if c.Type != "function" || !strings.HasPrefix(c.ID, "call_") {
			t.Errorf("call %+v", c)
		}
		s, ok := e2eSchemas[c.Function.Name]
		if !ok || only != "" && c.Function.Name != only {
			t.Errorf("call to %q", c.Function.Name)
			continue
		}
		validates(t, schemaValidator(t, s), c.Function.Arguments)
	}
}

// TestOpenAITools: required and a named function force calls whose
// arguments validate; auto answers in text or calls; none never calls;
// the streamed deltas assemble into the same calls as the plain answer.
func TestOpenAITools(t *testing.T) {
	_, url := startServer(t, Config{}) // the default model: a 256-token context, so small tools
	c := client(url)
	ctx := context.Background()
	called := 0
	for seed := range int64(3) {
		r, err := c.Chat.Completions.New(ctx, toolParams(openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, seed))
		if err != nil {
			t.Fatal(err)
		}
		ch := r.Choices[0]
		if ch.FinishReason == "length" {
			continue
		}
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) == 0 {
			t.Fatalf("required: finish %q, %d calls, content %q", ch.FinishReason, len(ch.Message.ToolCalls), ch.Message.Content)
		}
		checkToolCalls(t, ch.Message.ToolCalls, "")
		called++

		// The same request streamed: deltas with index, id and name first,
		// arguments in pieces, joining into the same calls.
		p := toolParams(openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, seed)
		s := c.Chat.Completions.NewStreaming(ctx, p)
		acc := openai.ChatCompletionAccumulator{}
		finish := ""
		for s.Next() {
			chunk := s.Current()
			acc.AddChunk(chunk)
			for _, cc := range chunk.Choices {
				for _, d := range cc.Delta.ToolCalls {
					if d.ID != "" && d.Function.Name == "" {
						t.Errorf("delta with an id but no name: %+v", d)
					}
				}
				if cc.FinishReason != "" {
					finish = cc.FinishReason
				}
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		got := acc.Choices[0].Message.ToolCalls
		if finish != "tool_calls" || len(got) != len(ch.Message.ToolCalls) {
			t.Fatalf("stream: finish %q, %d calls, want %d", finish, len(got), len(ch.Message.ToolCalls))
		}
		for i := range got {
			if got[i].Function.Name != ch.Message.ToolCalls[i].Function.Name || got[i].Function.Arguments != ch.Message.ToolCalls[i].Function.Arguments {
				t.Errorf("stream call %d: %s %s, plain %s %s", i, got[i].Function.Name, got[i].Function.Arguments, ch.Message.ToolCalls[i].Function.Name, ch.Message.ToolCalls[i].Function.Arguments)
			}
		}
	}
	if called == 0 {
		t.Error("no forced call ended within max_tokens")
	}
	named := openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "add"})
	p := toolParams(named, 7)
	p.ParallelToolCalls = openai.Bool(false)
	r, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if ch := r.Choices[0]; ch.FinishReason != "length" {
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
			t.Errorf("named, not parallel: finish %q, %d calls", ch.FinishReason, len(ch.Message.ToolCalls))
		}
		checkToolCalls(t, ch.Message.ToolCalls, "add")
	}
	for seed := range int64(3) {
		r, err := c.Chat.Completions.New(ctx, toolParams(openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}, seed))
		if err != nil {
			t.Fatal(err)
		}
		if ch := r.Choices[0]; len(ch.Message.ToolCalls) != 0 || ch.FinishReason == "tool_calls" {
			t.Errorf("none: %d calls, finish %q", len(ch.Message.ToolCalls), ch.FinishReason)
		}
		r, err = c.Chat.Completions.New(ctx, toolParams(openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}, seed))
		if err != nil {
			t.Fatal(err)
		}
		checkToolCalls(t, r.Choices[0].Message.ToolCalls, "")
	}
	// A tool result goes back through the template.
	msgs := []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage("2+3?"),
		{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
			ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "add", Arguments: `{"a":2}`}}}}}},
		openai.ToolMessage("5", "call_1"),
	}
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "default", Messages: msgs, MaxTokens: openai.Int(8)}); err != nil {
		var ae *openai.Error
		if errors.As(err, &ae) {
			t.Fatalf("tool result turn: %s", ae.Message)
		}
		t.Fatalf("tool result turn: %v", err)
	}
}
