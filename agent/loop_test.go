package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a deterministic stand-in model: each turn is answered by
// the next function of its script, which also sees the request.
type scripted struct {
	mu    sync.Mutex
	turns []func(Request) *Reply
	reqs  []Request
}

func (s *scripted) Complete(_ context.Context, req Request) (*Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	if len(s.turns) == 0 {
		return nil, errors.New("scripted: script exhausted")
	}
	f := s.turns[0]
	s.turns = s.turns[1:]
	r := f(req)
	if r.Usage == (Usage{}) {
		r.Usage = Usage{Prompt: 10, Completion: 5}
	}
	return r, nil
}

func call(name, args string) ToolCall {
	return ToolCall{Name: name, Arguments: json.RawMessage(args)}
}

func calls(cs ...ToolCall) func(Request) *Reply {
	return func(Request) *Reply { return &Reply{Calls: cs} }
}

func answer(text string) func(Request) *Reply {
	return func(Request) *Reply { return &Reply{Content: text} }
}

// lastTool returns the observations of the request's trailing tool messages.
func lastTools(req Request) []string {
	var out []string
	for i := len(req.Messages) - 1; i >= 0 && req.Messages[i].Role == "tool"; i-- {
		out = append([]string{req.Messages[i].Content}, out...)
	}
	return out
}

func basicTools(t *testing.T) Tools {
	ts := Tools{}
	if err := ts.Add(Calculator(), TimeTool(func() time.Time { return time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC) })); err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestMultiStep(t *testing.T) {
	var seen []string
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("calculator", `{"expression":"0.1+0.2"}`)),
		func(r Request) *Reply {
			seen = append(seen, lastTools(r)...)
			return &Reply{Calls: []ToolCall{call("time", `{}`)}}
		},
		func(r Request) *Reply {
			seen = append(seen, lastTools(r)...)
			return &Reply{Content: "0.3 on Sunday"}
		},
	}}
	var buf bytes.Buffer
	dir := t.TempDir()
	tr, err := CreateTranscript(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{Model: m, Tools: basicTools(t), Transcript: tr, Trace: func(s string) { fmt.Fprintln(&buf, s) }}
	res, err := a.Run(context.Background(), "add and tell the day")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if res.Answer != "0.3 on Sunday" || res.Steps != 3 {
		t.Fatalf("answer %q after %d steps", res.Answer, res.Steps)
	}
	if len(seen) != 2 || seen[0] != "3/10 = 0.3" || !strings.HasPrefix(seen[1], "2026-12-06T13:00:00Z") {
		t.Fatalf("observations %q", seen)
	}
	if res.Usage != (Usage{Prompt: 30, Completion: 15}) {
		t.Fatalf("usage %+v", res.Usage)
	}
	if len(m.reqs[0].Tools) != 2 {
		t.Fatalf("the model was shown %d tools", len(m.reqs[0].Tools))
	}
	if !strings.Contains(buf.String(), "calculator") || !strings.Contains(buf.String(), "done in 3 steps") {
		t.Fatalf("trace:\n%s", buf.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "t.jsonl"))
	types := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("transcript line %q: %v", line, err)
		}
		types[e.Type]++
	}
	if types["start"] != 1 || types["call"] != 2 || types["model"] != 3 || types["end"] != 1 || types["message"] != 7 {
		t.Fatalf("transcript events %v", types)
	}
}

// TestParallelCalls: both calls of one answer must be in flight at once,
// or the barrier times out and the test fails.
func TestParallelCalls(t *testing.T) {
	var inFlight, peak atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	slow := &FuncTool{ToolSpec: ToolSpec{Name: "slow", Parameters: json.RawMessage(`{"type":"object"}`)},
		Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			if n > peak.Load() {
				peak.Store(n)
			}
			if n == 2 {
				once.Do(func() { close(both) })
			}
			select {
			case <-both:
				return "ok " + string(args), nil
			case <-time.After(5 * time.Second):
				return "", errors.New("the other call never started")
			}
		}}
	ts := Tools{}
	ts.Add(slow)
	var obs []string
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("slow", `{"i":1}`), call("slow", `{"i":2}`)),
		func(r Request) *Reply { obs = lastTools(r); return &Reply{Content: "done"} },
	}}
	a := &Agent{Model: m, Tools: ts}
	if _, err := a.Run(context.Background(), "two at once"); err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 2 || len(obs) != 2 || obs[0] != `ok {"i":1}` || obs[1] != `ok {"i":2}` {
		t.Fatalf("peak %d, observations %q (in call order expected)", peak.Load(), obs)
	}
}

func TestToolErrorsFedBack(t *testing.T) {
	var obs []string
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("calculator", `{"expression":"1/0"}`), call("nope", `{}`), call("calculator", `[1]`), call("calculator", `{"expr":"1"}`)),
		func(r Request) *Reply { obs = lastTools(r); return &Reply{Content: "sorry"} },
	}}
	a := &Agent{Model: m, Tools: basicTools(t)}
	res, err := a.Run(context.Background(), "divide")
	if err != nil || res.Answer != "sorry" {
		t.Fatalf("%v %v", res, err)
	}
	want := []string{"division by zero", `no tool "nope"`, "not a JSON object", "unknown field"}
	for i, w := range want {
		if !strings.HasPrefix(obs[i], "error: ") || !strings.Contains(obs[i], w) {
			t.Errorf("observation %d = %q, want an error with %q", i, obs[i], w)
		}
	}
}

func TestLimits(t *testing.T) {
	loop := func(n int) []func(Request) *Reply {
		var s []func(Request) *Reply
		for i := range n {
			s = append(s, calls(call("calculator", fmt.Sprintf(`{"expression":"%d"}`, i))))
		}
		return s
	}
	a := &Agent{Model: &scripted{turns: loop(10)}, Tools: basicTools(t), Limits: Limits{Steps: 3}}
	res, err := a.Run(context.Background(), "forever")
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "3 steps") || res.Steps != 3 {
		t.Fatalf("steps: %v after %d", err, res.Steps)
	}
	a = &Agent{Model: &scripted{turns: loop(10)}, Tools: basicTools(t), Limits: Limits{Tokens: 40}}
	res, err = a.Run(context.Background(), "forever")
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "tokens") || res.Steps != 3 {
		t.Fatalf("tokens: %v after %d", err, res.Steps)
	}
	sleepy := &FuncTool{ToolSpec: ToolSpec{Name: "sleep"}, Fn: func(ctx context.Context, _ json.RawMessage) (string, error) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(5 * time.Second):
			return "slept", nil
		}
	}}
	ts := Tools{}
	ts.Add(sleepy)
	t0 := time.Now()
	a = &Agent{Model: &scripted{turns: []func(Request) *Reply{calls(call("sleep", `{}`)), answer("x")}}, Tools: ts, Limits: Limits{Time: 100 * time.Millisecond}}
	_, err = a.Run(context.Background(), "sleep")
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "wall time") || time.Since(t0) > 3*time.Second {
		t.Fatalf("time: %v after %v", err, time.Since(t0))
	}
}

func TestRepeatGuard(t *testing.T) {
	var runs atomic.Int32
	count := &FuncTool{ToolSpec: ToolSpec{Name: "count"}, Fn: func(context.Context, json.RawMessage) (string, error) {
		return fmt.Sprint(runs.Add(1)), nil
	}}
	ts := Tools{}
	ts.Add(count)
	var third []string
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("count", `{"a":1,"b":2}`)),
		calls(call("count", `{"b": 2, "a": 1}`)), // the same call, spelled differently
		calls(call("count", `{"a":1,"b":2}`)),
		func(r Request) *Reply { third = lastTools(r); return &Reply{Content: "stop"} },
	}}
	a := &Agent{Model: m, Tools: ts}
	if _, err := a.Run(context.Background(), "count"); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 2 || len(third) != 1 || !strings.Contains(third[0], "already called 2 times") {
		t.Fatalf("ran %d times; third observation %q", runs.Load(), third)
	}
}

func TestSummarisation(t *testing.T) {
	big := func(p int) func(Request) *Reply {
		return func(Request) *Reply {
			return &Reply{Calls: []ToolCall{call("calculator", fmt.Sprintf(`{"expression":"%d*2"}`, p))}, Usage: Usage{Prompt: p, Completion: 1}}
		}
	}
	var sumReq, after Request
	m := &scripted{turns: []func(Request) *Reply{
		big(10), big(20), big(30),
		big(90), // passes 3/4 of 100: the agent summarises next
		func(r Request) *Reply { sumReq = r; return &Reply{Content: "found 20, 40 and 60"} },
		func(r Request) *Reply { after = r; return &Reply{Content: "180"} },
	}}
	a := &Agent{Model: m, Tools: basicTools(t), Context: 100, KeepRecent: 2}
	res, err := a.Run(context.Background(), "double things")
	if err != nil || res.Answer != "180" {
		t.Fatalf("%v %v", res, err)
	}
	if len(sumReq.Tools) != 0 || !strings.Contains(sumReq.Messages[len(sumReq.Messages)-1].Content, "Summarise") {
		t.Fatalf("summary request: %+v", sumReq)
	}
	// system, task, summary, then the last call and its result.
	if len(after.Messages) != 5 || !strings.HasPrefix(after.Messages[2].Content, summaryPrefix+"found 20, 40 and 60") ||
		after.Messages[3].Role != "assistant" || after.Messages[4].Content != "180" {
		for _, m := range after.Messages {
			t.Logf("%s: %s %v", m.Role, m.Content, m.Calls)
		}
		t.Fatalf("after summarising: %d messages", len(after.Messages))
	}
}

func TestResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.jsonl")
	tr, err := CreateTranscript(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("calculator", `{"expression":"6*7"}`)),
		calls(call("calculator", `{"expression":"6*7"}`)),
		calls(call("calculator", `{"expression":"1+1"}`)),
	}}
	a := &Agent{Model: m, Tools: basicTools(t), Transcript: tr, Limits: Limits{Steps: 2}}
	if _, err := a.Run(context.Background(), "compute"); !errors.Is(err, ErrLimit) {
		t.Fatalf("first run: %v", err)
	}
	tr.Close()
	// A torn last line, as a crash mid-write leaves it, is skipped.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"mess`)
	f.Close()
	b, _ := os.Open(path)
	st, err := ReadTranscript(b, path)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Task != "compute" || st.Steps != 2 || len(st.Messages) != 6 || st.Usage.Prompt != 20 {
		t.Fatalf("state: task %q, %d steps, %d messages, usage %+v", st.Task, st.Steps, len(st.Messages), st.Usage)
	}
	var got Request
	m2 := &scripted{turns: []func(Request) *Reply{
		calls(call("calculator", `{"expression":"6*7"}`)), // a third identical call: the guard remembers
		func(r Request) *Reply { got = r; return &Reply{Content: "42"} },
	}}
	tr2, _ := CreateTranscript(path)
	a2 := &Agent{Model: m2, Tools: basicTools(t), Transcript: tr2}
	res, err := a2.Resume(context.Background(), st)
	tr2.Close()
	if err != nil || res.Answer != "42" || res.Steps != 4 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	obs := lastTools(got)
	if len(obs) != 1 || !strings.Contains(obs[0], "already called 2 times") || got.Messages[1].Content != "compute" {
		t.Fatalf("resumed conversation: %q", obs)
	}
}

func TestPlanStep(t *testing.T) {
	var planReq, revised Request
	m := &scripted{turns: []func(Request) *Reply{
		func(r Request) *Reply { planReq = r; return &Reply{Content: "1. compute\n2. answer"} },
		calls(call("update_plan", `{"plan":"1. compute [done]\n2. answer"}`)),
		func(r Request) *Reply { revised = r; return &Reply{Content: "ok"} },
	}}
	a := &Agent{Model: m, Tools: basicTools(t), Plan: true}
	res, err := a.Run(context.Background(), "plan it")
	if err != nil {
		t.Fatal(err)
	}
	if len(planReq.Tools) != 0 || res.Plan != "1. compute [done]\n2. answer" || res.Steps != 2 {
		t.Fatalf("plan %q, steps %d", res.Plan, res.Steps)
	}
	if obs := lastTools(revised); len(obs) != 1 || !strings.HasPrefix(obs[0], "plan updated") {
		t.Fatalf("update_plan observation %q", obs)
	}
}

func TestParseReAct(t *testing.T) {
	c, calls, err := parseReAct("Thought: add\nAction: {\"name\": \"calculator\",\n \"arguments\": {\"expression\": \"1+1\"}}\nObservation: 3")
	if err != nil || c != "add" || len(calls) != 1 || calls[0].Name != "calculator" || string(calls[0].Arguments) != `{"expression": "1+1"}` {
		t.Fatalf("%q %+v %v", c, calls, err)
	}
	if c, calls, _ := parseReAct("Thought: done\nFinal Answer: 2"); c != "2" || calls != nil {
		t.Fatalf("final: %q %v", c, calls)
	}
	if _, _, err := parseReAct("Thought: x\nAction: {\"name\""); err == nil {
		t.Fatal("a cut action parsed")
	}
	msgs := reactMessages([]Message{{Role: "system", Content: "S"}, {Role: "user", Content: "U"},
		{Role: "assistant", Calls: []ToolCall{call("a", `{}`), call("b", `{"x":1}`)}},
		{Role: "tool", Content: "1"}, {Role: "tool", Content: "2"}}, []ToolSpec{{Name: "a"}})
	if len(msgs) != 4 || !strings.Contains(msgs[0].Content, "Final Answer:") || msgs[3].Content != "Observation: 1\nObservation: 2" ||
		!strings.Contains(msgs[2].Content, `Action: {"name":"b","arguments":{"x":1}}`) {
		t.Fatalf("%+v", msgs)
	}
}

// fitting is a model with a context of max messages: a longer request is
// ErrContextFull, as a server's context_length_exceeded is.
type fitting struct {
	max       int
	noSummary bool // summary requests do not fit either
	turns     int
	reqs      []Request
}

func (f *fitting) Complete(_ context.Context, req Request) (*Reply, error) {
	f.reqs = append(f.reqs, req)
	if len(req.Messages) > f.max || req.Tools == nil && f.noSummary {
		return nil, fmt.Errorf("%w: %d messages", ErrContextFull, len(req.Messages))
	}
	if req.Tools == nil {
		return &Reply{Content: "the sums so far"}, nil
	}
	f.turns++
	if f.turns == 6 {
		return &Reply{Content: "done"}, nil
	}
	return &Reply{Calls: []ToolCall{call("calculator", fmt.Sprintf(`{"expression":"%d+1"}`, f.turns))}}, nil
}

func TestContextFullShrinks(t *testing.T) {
	for _, drop := range []bool{false, true} { // the summary request fits, or old turns are dropped
		max := 6
		m := &fitting{max: max, noSummary: drop}
		res, err := (&Agent{Model: m, Tools: basicTools(t), KeepRecent: 2}).Run(context.Background(), "count")
		if err != nil || res.Answer != "done" {
			t.Fatalf("drop %v: %+v %v", drop, res, err)
		}
		want := summaryPrefix + "the sums so far"
		if drop {
			want = "[3 earlier messages were dropped"
		}
		found := false
		for _, msg := range res.Messages {
			found = found || strings.HasPrefix(msg.Content, want)
		}
		if !found {
			for _, msg := range res.Messages {
				t.Logf("%s: %q %v", msg.Role, msg.Content, msg.Calls)
			}
			t.Fatalf("drop %v: no message starting %q", drop, want)
		}
	}
	// Nothing left to fold: the error stands.
	m := &fitting{max: 1}
	if _, err := (&Agent{Model: m, Tools: basicTools(t)}).Run(context.Background(), "count"); !errors.Is(err, ErrContextFull) {
		t.Fatalf("err %v", err)
	}
}

// TestResumeRunsUnansweredCalls: a transcript cut between two results of
// one answer goes on with the missing call only, and new ids do not clash.
func TestResumeRunsUnansweredCalls(t *testing.T) {
	st := &State{Task: "t", Seen: map[string]int{}, Steps: 1, Messages: []Message{
		{Role: "system", Content: "s"}, {Role: "user", Content: "t"},
		{Role: "assistant", Calls: []ToolCall{{ID: "call_7", Name: "calculator", Arguments: json.RawMessage(`{"expression":"1+1"}`)},
			{ID: "call_8", Name: "calculator", Arguments: json.RawMessage(`{"expression":"2+2"}`)}}},
		{Role: "tool", CallID: "call_7", Name: "calculator", Content: "2"},
	}}
	var got Request
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("calculator", `{"expression":"3+3"}`)),
		func(r Request) *Reply { got = r; return &Reply{Content: "done"} },
	}}
	res, err := (&Agent{Model: m, Tools: basicTools(t)}).Resume(context.Background(), st)
	if err != nil || res.Answer != "done" {
		t.Fatalf("%+v %v", res, err)
	}
	msgs := got.Messages
	if len(msgs) != 7 || msgs[4].CallID != "call_8" || msgs[4].Content != "4" || msgs[5].Calls[0].ID != "call_9" || msgs[6].Content != "6" {
		for _, m := range msgs {
			t.Logf("%s %s %q %v", m.Role, m.CallID, m.Content, m.Calls)
		}
		t.Fatal("unexpected conversation after resume")
	}
}

// hanging never answers until its context ends.
type hanging struct{}

func (hanging) Complete(ctx context.Context, _ Request) (*Reply, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestWallTimeCoversThePlan: --max-time bounds the plan step too, and a
// slow model is a limit, not a bare deadline error.
func TestWallTimeCoversThePlan(t *testing.T) {
	for _, plan := range []bool{true, false} {
		t0 := time.Now()
		_, err := (&Agent{Model: hanging{}, Tools: basicTools(t), Plan: plan, Limits: Limits{Time: 50 * time.Millisecond}}).Run(context.Background(), "x")
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "--max-time") || time.Since(t0) > 2*time.Second {
			t.Fatalf("plan %v: %v after %v", plan, err, time.Since(t0))
		}
	}
}
