// Reference: OpenAI's streamed chat completions as the official openai-go v3 client accumulates
// them (ChatCompletionAccumulator); BFCL entries as the tools.

package server

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
)

// TestToolCallsStreamLive: a forced call streamed through the official
// client accumulates into the same calls as the same request answered
// plainly, for a single call and for parallel calls; a long call's
// arguments come in more than one fragment, and fragments come while the
// model still generates — a chunk carrying a later token's logprobs
// follows an arguments fragment, which a stream sending the calls after
// generation never shows.
func TestToolCallsStreamLive(t *testing.T) {
	url, models := bfclServer(t)
	c := client(url)
	ctx := context.Background()
	simple := readBFCL(t, "simple_python")[0]
	parallel := readBFCL(t, "parallel")
	// Parallel entries whose arguments are numbers only: a random model
	// never closes a string, so a string argument runs until the budget
	// closes it, leaving no room for a second call.
	pnum := []bfclEntry{parallel[7], parallel[19], parallel[4]}
	multi := 0 // streamed answers with more than one call
	for _, tc := range []struct {
		name    string
		entries []bfclEntry
		par     bool
	}{{"single", []bfclEntry{simple}, false}, {"parallel", pnum, true}} {
		order := models
		if tc.par { // tiny-llama is the likelier to call twice
			order = []string{models[1], models[0]}
		}
		for _, model := range order {
			for k, seed := 0, int64(0); k < len(tc.entries) && seed < 4; seed++ {
				if tc.par && multi > 0 {
					break
				}
				entry := tc.entries[k]
				p, _ := bfclRequest(entry, model)
				p.Seed = openai.Int(seed)
				p.ToolChoice = openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: entry.Function[0].Name})
				p.ParallelToolCalls = openai.Bool(tc.par)
				p.Logprobs = openai.Bool(true)
				plain, err := c.Chat.Completions.New(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				want := plain.Choices[0].Message.ToolCalls
				if plain.Choices[0].FinishReason != "tool_calls" || len(want) == 0 || !tc.par && len(want) != 1 {
					t.Fatalf("%s %s on %s: finish %q, %d calls", tc.name, entry.ID, model, plain.Choices[0].FinishReason, len(want))
				}
				if tc.par && len(want) < 2 {
					if seed == 3 {
						k, seed = k+1, -1 // the next entry
					}
					continue
				}
				checkStreamedCalls(t, c, p, want, entry.ID+" on "+model)
				if len(want) > 1 {
					multi++
				}
				if !tc.par {
					break
				}
			}
		}
	}
	if multi == 0 {
		t.Error("no parallel answer with more than one call was streamed")
	}
}

// checkStreamedCalls streams p and checks its accumulated calls against
// the plain answer's (want), the fragments and the live proof.
func checkStreamedCalls(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams, want []openai.ChatCompletionMessageToolCallUnion, what string) {
	t.Helper()
	ctx := context.Background()
	s := c.Chat.Completions.NewStreaming(ctx, p)
	acc := openai.ChatCompletionAccumulator{}
	fragments := map[int64]int{}
	argsSeen, liveProof := false, false
	for s.Next() {
		chunk := s.Current()
		acc.AddChunk(chunk)
		for _, cc := range chunk.Choices {
			if argsSeen && len(cc.Logprobs.Content) > 0 {
				liveProof = true
			}
			for _, d := range cc.Delta.ToolCalls {
				if d.Function.Arguments != "" {
					fragments[d.Index]++
					argsSeen = true
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	got := acc.Choices[0].Message.ToolCalls
	if acc.Choices[0].FinishReason != "tool_calls" || len(got) != len(want) {
		t.Fatalf("%s: streamed finish %q, %d calls; plain %d", what, acc.Choices[0].FinishReason, len(got), len(want))
	}
	for i := range got {
		if got[i].Function.Name != want[i].Function.Name || got[i].Function.Arguments != want[i].Function.Arguments || got[i].ID == "" || got[i].Type != "function" {
			t.Errorf("%s call %d: streamed %s %s (id %q), plain %s %s", what, i, got[i].Function.Name, got[i].Function.Arguments, got[i].ID, want[i].Function.Name, want[i].Function.Arguments)
		}
		if len(want[i].Function.Arguments) > 16 && fragments[int64(i)] < 2 {
			t.Errorf("%s call %d: %d bytes of arguments in %d fragments", what, i, len(want[i].Function.Arguments), fragments[int64(i)])
		}
	}
	if !liveProof {
		t.Errorf("%s: no token's logprobs followed an arguments fragment: the calls were not streamed live", what)
	}
	t.Logf("%s: %d calls, argument fragments per call %v", what, len(got), fragments)
}
