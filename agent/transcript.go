// Reference: JSON Lines (jsonlines.org): one JSON object per line; issue #23 "Limits and records"
// (every run writes a JSONL transcript of messages, calls, results and timings; --resume).

package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Event is one line of a transcript. Type says which fields are set:
//
//	start    Task, Tools           a run began
//	resume   Steps                 a run went on from this transcript
//	message  Message               a message joined the conversation
//	model    Usage, Millis         the model answered one turn
//	call     Call, Result, Failed, Refused, Millis   a tool call and its observation
//	plan     Plan                  the plan was written or revised
//	summary  From, To, Message     messages [From, To) were replaced by Message
//	end      Answer | Error, Steps, Usage   the run finished
type Event struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Task    string    `json:"task,omitempty"`
	Tools   []string  `json:"tools,omitempty"`
	Message *Message  `json:"message,omitempty"`
	Call    *ToolCall `json:"call,omitempty"`
	Result  string    `json:"result,omitempty"`
	Failed  bool      `json:"failed,omitempty"`
	Refused bool      `json:"refused,omitempty"`
	Millis  float64   `json:"ms,omitempty"`
	Plan    string    `json:"plan,omitempty"`
	From    int       `json:"from,omitempty"`
	To      int       `json:"to,omitempty"`
	Answer  string    `json:"answer,omitempty"`
	Error   string    `json:"error,omitempty"`
	Steps   int       `json:"steps,omitempty"`
	Usage   *Usage    `json:"usage,omitempty"`
}

// trace is the event as one readable line for --verbose ("" to skip).
func (e Event) trace() string {
	switch e.Type {
	case "start":
		return fmt.Sprintf("task: %s (tools: %s)", e.Task, strings.Join(e.Tools, ", "))
	case "resume":
		return fmt.Sprintf("resuming after %d steps", e.Steps)
	case "message":
		m := e.Message
		switch {
		case m.Role == "assistant" && len(m.Calls) > 0:
			var cs []string
			for _, c := range m.Calls {
				if c.Name == "" {
					cs = append(cs, "(an unreadable call)")
					continue
				}
				cs = append(cs, c.Name+string(c.Arguments))
			}
			s := "assistant calls " + strings.Join(cs, ", ")
			if m.Content != "" {
				s = "assistant: " + oneLine(m.Content, 200) + "\n  " + s
			}
			return s
		case m.Role == "assistant":
			return "assistant: " + oneLine(m.Content, 400)
		}
		return ""
	case "model":
		return fmt.Sprintf("  model: %d prompt + %d completion tokens, %.0f ms", e.Usage.Prompt, e.Usage.Completion, e.Millis)
	case "call":
		tag := "→"
		if e.Failed {
			tag = "✗"
		}
		return fmt.Sprintf("  %s %s %s (%.1f ms)", tag, e.Call.Name, oneLine(e.Result, 200), e.Millis)
	case "plan":
		return "plan:\n" + e.Plan
	case "summary":
		return fmt.Sprintf("summarised messages %d…%d", e.From, e.To-1)
	case "end":
		if e.Error != "" {
			return fmt.Sprintf("stopped after %d steps: %s", e.Steps, e.Error)
		}
		return fmt.Sprintf("done in %d steps, %d tokens", e.Steps, e.Usage.Prompt+e.Usage.Completion)
	}
	return ""
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = capText(s, n)
		s = strings.ReplaceAll(s, "\n", " ")
	}
	return s
}

// Transcript appends events to a JSONL file. Each line is written whole
// and synced, so a crash loses at most the event being written; a torn
// last line is skipped by ReadTranscript. (An append-only log rather than
// internal/atomicfile's whole-file replace: the run may be long and each
// event must survive it.)
type Transcript struct {
	mu   sync.Mutex
	f    *os.File
	path string
	err  error
}

// CreateTranscript opens path for appending (a resumed run goes on in the
// same file), creating it if needed.
func CreateTranscript(path string) (*Transcript, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("agent: transcript: %w", err)
	}
	return &Transcript{f: f, path: path}, nil
}

func (t *Transcript) write(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		_, err = t.f.Write(append(b, '\n'))
	}
	if err == nil {
		err = t.f.Sync()
	}
	if err != nil {
		t.err = fmt.Errorf("agent: transcript %s: %w", t.path, err)
	}
}

// Close closes the file and reports the first write error, if any.
func (t *Transcript) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.f.Close()
	return errors.Join(t.err, err)
}

// State is a conversation rebuilt from a transcript.
type State struct {
	Task     string
	Messages []Message
	Plan     string
	Steps    int
	Usage    Usage
	Seen     map[string]int // the repeat guard's counts
	Finished bool           // the last run ended with an answer
}

// ReadTranscript replays the events of a transcript into the conversation
// as it stood at its last event. A torn last line (a crash mid-write) is
// ignored; a bad line elsewhere is an error naming it.
func ReadTranscript(r io.Reader, name string) (*State, error) {
	st := &State{Seen: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var pending error
	for n := 1; sc.Scan(); n++ {
		if pending != nil {
			return nil, pending
		}
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			pending = fmt.Errorf("agent: transcript %s: line %d: %v", name, n, err)
			continue
		}
		switch e.Type {
		case "start":
			*st = State{Task: e.Task, Seen: map[string]int{}}
		case "message":
			if e.Message == nil {
				return nil, fmt.Errorf("agent: transcript %s: line %d: message event without a message", name, n)
			}
			st.Messages = append(st.Messages, *e.Message)
			if e.Message.Role == "assistant" && !strings.HasPrefix(lastUser(st.Messages), planPrompt) {
				st.Steps++
			}
			st.Finished = false
		case "model":
			if e.Usage != nil {
				st.Usage.Prompt += e.Usage.Prompt
				st.Usage.Completion += e.Usage.Completion
			}
		case "call":
			if e.Call != nil && !e.Refused {
				var obj map[string]json.RawMessage
				_ = json.Unmarshal(e.Call.Arguments, &obj)
				st.Seen[callKey(*e.Call, obj)]++
			}
		case "plan":
			st.Plan = e.Plan
		case "summary":
			if e.Message == nil || e.From < 0 || e.From > e.To || e.To > len(st.Messages) {
				return nil, fmt.Errorf("agent: transcript %s: line %d: summary of messages %d…%d, but there are %d", name, n, e.From, e.To, len(st.Messages))
			}
			st.Messages = append(append(append([]Message(nil), st.Messages[:e.From]...), *e.Message), st.Messages[e.To:]...)
		case "end":
			st.Finished = e.Error == ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("agent: transcript %s: %w", name, err)
	}
	if st.Task == "" && len(st.Messages) == 0 {
		return nil, fmt.Errorf("agent: transcript %s: no run in it", name)
	}
	return st, nil
}

// lastUser is the content of the message before the last one, when it is
// the user's (the plan prompt marks the plan's answer, which is no step).
func lastUser(msgs []Message) string {
	if len(msgs) < 2 || msgs[len(msgs)-2].Role != "user" {
		return ""
	}
	return msgs[len(msgs)-2].Content
}
