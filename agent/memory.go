// Reference: issue #23 "Planning and memory" (short-term memory is the conversation window, old
// turns summarised when it nears the context), after LangChain's ConversationSummaryBufferMemory
// idea (keep recent turns verbatim, fold older ones into a running summary).

package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

const summaryPrompt = "Summarise the conversation above for your own later use: the task, what each tool call found (keep exact numbers, names and paths), what is done and what is left. Write only the summary."

// summaryPrefix starts the message that replaces the summarised turns.
const summaryPrefix = "Summary of the earlier steps:\n"

// summarise folds every message between the task and the latest
// KeepRecent into one summary written by the model. The cut never falls
// between an assistant's calls and their results, which a model's chat
// template would refuse or misread. When even the summary request does
// not fit the context, the old messages are dropped with a note instead.
// It reports whether the conversation shrank.
func (r *run) summarise(ctx context.Context, urgent bool) (bool, error) {
	keep := r.a.KeepRecent
	if keep <= 0 {
		keep = 4
	}
	if urgent {
		keep = 1 // the context is full: keep only the latest answer and its results
	}
	head := 2 // system prompt and task
	cut := len(r.msgs) - keep
	for cut > head && r.msgs[cut].Role == "tool" {
		cut--
	}
	if cut-head < 2 {
		return false, nil // too little to fold
	}
	ask := append(append([]Message(nil), r.msgs[:cut]...), Message{Role: "user", Content: summaryPrompt})
	var text string
	reply, err := r.complete(ctx, ask, nil)
	switch {
	case errors.Is(err, ErrContextFull):
		text = fmt.Sprintf("[%d earlier messages were dropped to fit the model's context.]", cut-head)
	case err != nil:
		return false, fmt.Errorf("agent: summarising %d messages: %w", cut-head, err)
	default:
		text = summaryPrefix + strings.TrimSpace(reply.Content)
	}
	if r.plan != "" {
		text += "\nCurrent plan:\n" + r.plan
	}
	sum := Message{Role: "user", Content: text}
	msgs := append(append(append([]Message(nil), r.msgs[:head]...), sum), r.msgs[cut:]...)
	r.record(Event{Type: "summary", From: head, To: cut, Message: &sum})
	r.msgs = msgs
	return true, nil
}
