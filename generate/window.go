// Reference: ollama server/prompt.go (chatPrompt: the oldest messages are left out until the rendered
// conversation fits the context, the system prompt always kept) and OpenAI's chat-completions message roles.

package generate

import (
	"fmt"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// A conversation's turn is a user message and everything up to the next
// user message (the assistant's answer, tool calls and their results), so
// that dropping a turn never leaves an answer without its question or a
// tool result without its call. Messages before the first user message
// (an assistant's greeting) form a turn of their own. System messages are
// in no turn: they are never dropped.

// Turns is the number of turns in msgs.
func Turns(msgs []chat.Message) int {
	return len(turnStarts(msgs))
}

// turnStarts gives the index in msgs of each turn's first message.
func turnStarts(msgs []chat.Message) []int {
	var starts []int
	for i, m := range msgs {
		switch {
		case m.Role == "system":
		case m.Role == "user" || len(starts) == 0:
			starts = append(starts, i)
		}
	}
	return starts
}

// DropTurns returns the conversation without its n oldest turns; system
// messages stay where they are. n is clamped to 0…Turns(msgs). The result
// is a new slice; msgs is not modified.
func DropTurns(msgs []chat.Message, n int) []chat.Message {
	starts := turnStarts(msgs)
	n = min(max(n, 0), len(starts))
	end := 0 // the messages before end that are not system are dropped
	switch {
	case n == len(starts) && n > 0:
		end = len(msgs)
	case n > 0:
		end = starts[n]
	}
	out := make([]chat.Message, 0, len(msgs))
	for i, m := range msgs {
		if i >= end || m.Role == "system" {
			out = append(out, m)
		}
	}
	return out
}

// FitTurns returns how many of the oldest turns of msgs to drop (with
// DropTurns) so that count of what is left is at most budget tokens.
// count renders a conversation and returns its length in tokens; it is
// called once when msgs fits, otherwise about log2(Turns) + 2 times (the
// search assumes that fewer turns never take more tokens, and the answer
// it returns is always one that count said fits).
//
// The newest turn is never dropped: when it does not fit even alone (with
// the system messages), FitTurns returns an error wrapping
// ErrPromptTooLong that gives its length and the budget. A conversation
// with no turn at all is measured as it is.
//
// The chat REPL calls it before each answer, with PromptBudget as the
// budget; an HTTP server can do the same for a request that asks to be
// truncated.
func FitTurns(msgs []chat.Message, count func([]chat.Message) (int, error), budget int) (int, error) {
	turns := Turns(msgs)
	fits := func(drop int) (bool, int, error) {
		n, err := count(DropTurns(msgs, drop))
		if err != nil {
			return false, n, err
		}
		return n <= budget, n, nil
	}
	ok, n, err := fits(0)
	if err != nil || ok {
		return 0, err
	}
	if turns <= 1 {
		return 0, tooLong(n, budget)
	}
	// Invariant: dropping lo turns does not fit, dropping hi does.
	lo, hi := 0, turns-1
	if ok, n, err = fits(hi); err != nil {
		return 0, err
	} else if !ok {
		return 0, tooLong(n, budget)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, _, err := fits(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

func tooLong(n, budget int) error {
	return fmt.Errorf("generate: %w: the newest message alone takes %d tokens with the system prompt and the template, over the %d the context leaves for it", ErrPromptTooLong, n, budget)
}

// PromptBudget is how many prompt tokens a context of ctx tokens can take
// while keeping room for an answer of maxTokens (when maxTokens ≤ 0, a
// quarter of the context, as TruncatePrompt keeps). The room is capped at
// half the context so that a large maxTokens does not leave the prompt
// nothing, and is at least one token, because a prompt must leave room for
// the first generated token.
func PromptBudget(ctx, maxTokens int) int {
	room := maxTokens
	if room <= 0 {
		room = ctx / 4
	}
	room = max(1, min(room, ctx/2))
	return max(0, ctx-room)
}
