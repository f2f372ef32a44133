// Reference: issue #23 "Planning" (the model writes a numbered plan; the loop tracks and revises
// it), after Wang et al., "Plan-and-Solve Prompting" (2023).

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// planTool lets the model revise its plan; the agent keeps the latest.
var planTool = ToolSpec{
	Name:        "update_plan",
	Description: "Replace your numbered plan with a revised one, e.g. when a step is done or turned out wrong. Mark finished steps with [done].",
	Parameters:  schema(map[string]map[string]any{"plan": prop("string", "the whole revised numbered plan")}, "plan"),
}

const planPrompt = "Before acting, write a short numbered plan (one line per step) for the task. Write only the plan."

// makePlan asks for the plan with no tools offered, and keeps it in the
// conversation as the assistant's own message, so that every later turn
// sees it.
func (r *run) makePlan(ctx context.Context) error {
	ask := append(append([]Message(nil), r.msgs...), Message{Role: "user", Content: planPrompt})
	reply, err := r.complete(ctx, ask, nil)
	if err != nil {
		return fmt.Errorf("agent: plan step: %w", err)
	}
	r.plan = strings.TrimSpace(reply.Content)
	r.add(Message{Role: "user", Content: planPrompt})
	r.add(Message{Role: "assistant", Content: r.plan})
	r.record(Event{Type: "plan", Plan: r.plan})
	return nil
}

func (r *run) updatePlan(c ToolCall) outcome {
	var a struct{ Plan string }
	if err := decodeArgs(planTool.Name, c.Arguments, &a); err != nil {
		return outcome{text: "error: " + err.Error(), failed: true}
	}
	if strings.TrimSpace(a.Plan) == "" {
		return outcome{text: "error: update_plan: the plan is empty", failed: true}
	}
	r.plan = strings.TrimSpace(a.Plan)
	r.record(Event{Type: "plan", Plan: r.plan})
	b, _ := json.Marshal(r.plan)
	return outcome{text: "plan updated: " + string(b)}
}
