package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gptgo/gptgo/agent"
)

// script is a stand-in model that answers from a fixed list; a real run
// uses agent.HTTPModel or agent.LocalModel in its place.
type script []agent.Reply

func (s *script) Complete(_ context.Context, req agent.Request) (*agent.Reply, error) {
	r := (*s)[0]
	*s = (*s)[1:]
	return &r, nil
}

// Example runs a task with two tools: the model reads a file and computes
// with the calculator in one answer (the calls run in parallel), then
// answers. The transcript records every step.
func Example() {
	dir, _ := os.MkdirTemp("", "agent-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "prices.txt"), []byte("apples 1/3 kg, pears 1/6 kg"), 0o644)

	tools, closeTools, err := agent.NewTools(agent.ToolConfig{Root: dir, Names: []string{"calculator", "read_file"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeTools()
	model := &script{
		{Calls: []agent.ToolCall{
			{Name: "read_file", Arguments: json.RawMessage(`{"path": "prices.txt"}`)},
			{Name: "calculator", Arguments: json.RawMessage(`{"expression": "1/3 + 1/6"}`)},
		}},
		{Content: "Together they weigh 1/2 kg."},
	}
	tr, _ := agent.CreateTranscript(filepath.Join(dir, "run.jsonl"))
	a := &agent.Agent{Model: model, Tools: tools, Transcript: tr}
	res, err := a.Run(context.Background(), "How much do the apples and pears weigh together?")
	tr.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Answer, "in", res.Steps, "steps")

	f, _ := os.Open(filepath.Join(dir, "run.jsonl"))
	defer f.Close()
	st, _ := agent.ReadTranscript(f, "run.jsonl")
	for _, m := range st.Messages[1:] {
		switch {
		case len(m.Calls) > 0:
			for _, c := range m.Calls {
				fmt.Printf("%s calls %s %s\n", m.Role, c.Name, c.Arguments)
			}
		default:
			fmt.Printf("%s: %s\n", m.Role, m.Content)
		}
	}
	// Output:
	// Together they weigh 1/2 kg. in 2 steps
	// user: How much do the apples and pears weigh together?
	// assistant calls read_file {"path":"prices.txt"}
	// assistant calls calculator {"expression":"1/3 + 1/6"}
	// tool: apples 1/3 kg, pears 1/6 kg
	// tool: 1/2 = 0.5
	// assistant: Together they weigh 1/2 kg.
}
