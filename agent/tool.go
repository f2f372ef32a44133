// Reference: OpenAI's function-calling guide (a tool is a name, a description and a JSON Schema of
// its arguments) and issue #23 "Tools" (side-effecting tools ask for confirmation).

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// Tool is one capability the model may call. Call gets the arguments as
// the model wrote them (a JSON object, already checked to parse) and
// returns the observation text; an error is fed back to the model as an
// observation too, so it can correct itself.
type Tool interface {
	Spec() ToolSpec
	// SideEffects reports whether a call changes the world (writes a file,
	// runs a command): such calls need confirmation unless the user said
	// --yes.
	SideEffects() bool
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

// FuncTool is a Tool made of a spec and a function.
type FuncTool struct {
	ToolSpec
	Effects bool
	Fn      func(ctx context.Context, args json.RawMessage) (string, error)
}

func (t *FuncTool) Spec() ToolSpec    { return t.ToolSpec }
func (t *FuncTool) SideEffects() bool { return t.Effects }
func (t *FuncTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	return t.Fn(ctx, args)
}

// Tools is a set of tools by name. It is fixed before a run starts: nothing
// a tool returns adds to it or changes a tool's permissions.
type Tools map[string]Tool

// Add puts tools into the set; a name given twice is an error.
func (ts Tools) Add(tools ...Tool) error {
	for _, t := range tools {
		name := t.Spec().Name
		if name == "" {
			return fmt.Errorf("agent: a tool has no name")
		}
		if _, dup := ts[name]; dup {
			return fmt.Errorf("agent: tool %q added twice", name)
		}
		ts[name] = t
	}
	return nil
}

// Specs lists the tools' specs by name, so that prompts are reproducible.
func (ts Tools) Specs() []ToolSpec {
	specs := make([]ToolSpec, 0, len(ts))
	for _, t := range ts {
		specs = append(specs, t.Spec())
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs
}

// decodeArgs unmarshals a call's arguments strictly into v, naming the tool.
func decodeArgs(tool string, args json.RawMessage, v any) error {
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	d := json.NewDecoder(bytesReader(args))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s: bad arguments %s: %v", tool, args, err)
	}
	return nil
}

// schema builds an object schema from "name": "type description" pairs;
// required lists the members that must be present.
func schema(props map[string]map[string]any, required ...string) json.RawMessage {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	b, _ := json.Marshal(s)
	return b
}

func prop(typ, desc string) map[string]any { return map[string]any{"type": typ, "description": desc} }
