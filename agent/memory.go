// Reference: issue #23 "Planning and memory" (short-term memory is the conversation window, old
// turns summarised when it nears the context), after LangChain's ConversationSummaryBufferMemory
// idea (keep recent turns verbatim, fold older ones into a running summary).

package agent

import (
	"context"
	"fmt"
	"strings"
)

const summaryPrompt = "Summarise the conversation above for your own later use: the task, what each tool call found (keep exact numbers, names and paths), what is done and what is left. Write only the summary."

// summaryPrefix starts the message that replaces the summarised turns.
const summaryPrefix = "Summary of the earlier steps:\n"

// summarise folds every message between the task and the latest
// KeepRecent into one summary written by the model. The cut never falls
// between an assistant's calls and their results, which a model's chat
// template would refuse or misread.
func (r *run) summarise(ctx context.Context) error {
	keep := r.a.KeepRecent
	if keep <= 0 {
		keep = 4
	}
	head := 2 // system prompt and task
	cut := len(r.msgs) - keep
	for cut > head && r.msgs[cut].Role == "tool" {
		cut--
	}
	if cut-head < 2 {
		return nil // too little to fold; the model's own window handles the rest
	}
	ask := append(append([]Message(nil), r.msgs[:cut]...), Message{Role: "user", Content: summaryPrompt})
	reply, err := r.complete(ctx, ask, nil)
	if err != nil {
		return fmt.Errorf("agent: summarising %d messages: %w", cut-head, err)
	}
	text := summaryPrefix + strings.TrimSpace(reply.Content)
	if r.plan != "" {
		text += "\nCurrent plan:\n" + r.plan
	}
	sum := Message{Role: "user", Content: text}
	msgs := append(append(append([]Message(nil), r.msgs[:head]...), sum), r.msgs[cut:]...)
	r.record(Event{Type: "summary", From: head, To: cut, Message: &sum})
	r.msgs = msgs
	return nil
}
