// Reference: OpenAI API reference, POST /v1/completions (prompt, max_tokens,
// temperature, top_p, stop; choices[].text, finish_reason "length") and POST
// /v1/chat/completions (messages; choices[].message.content).

package data

import (
	"context"
	"errors"

	"github.com/gptgo/gptgo/internal/oaiclient"
)

// OpenAICompleter asks an OpenAI-compatible endpoint to continue prompts,
// by text completion (what Alpaca used) or, with Chat, as one user
// message to a chat model (for endpoints that serve only chat).
type OpenAICompleter struct {
	Client      oaiclient.Client
	Model       string
	Chat        bool
	MaxTokens   int      // per reply; 0: 3072
	Temperature float64  // 1.0 in Alpaca
	TopP        float64  // 1.0 in Alpaca
	Stop        []string // text completion only; Alpaca stops before task 20
}

// Complete sends one request.
func (c *OpenAICompleter) Complete(ctx context.Context, prompt string) (Completion, error) {
	maxTokens := c.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 3072
	}
	body := map[string]any{"model": c.Model, "max_tokens": maxTokens, "temperature": c.Temperature, "top_p": c.TopP}
	var reply struct {
		Choices []struct {
			Text    string `json:"text"`
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	path := "/completions"
	if c.Chat {
		path = "/chat/completions"
		body["messages"] = []map[string]string{{"role": "user", "content": prompt}}
	} else {
		body["prompt"] = prompt
		if len(c.Stop) > 0 {
			body["stop"] = c.Stop
		}
	}
	if err := c.Client.Post(ctx, path, body, &reply); err != nil {
		return Completion{}, err
	}
	if len(reply.Choices) == 0 {
		return Completion{}, errors.New(c.Client.URL(path) + ": a reply without choices")
	}
	ch := reply.Choices[0]
	text := ch.Text
	if c.Chat {
		text = ch.Message.Content
	}
	return Completion{Text: text, Truncated: ch.FinishReason == "length"}, nil
}
