// Reference: the Model Context Protocol specification (2025-06-18: tools/list, tools/call,
// CallToolResult.isError, tool annotations readOnlyHint; stdio and streamable HTTP transports) through
// the official Go SDK, github.com/modelcontextprotocol/go-sdk/mcp.

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// implementation names gptgo to MCP peers.
var implementation = &mcp.Implementation{Name: "gptgo", Version: "1"}

// ConnectMCP connects to the MCP server spec names and returns its tools:
// an http:// or https:// URL is a streamable-HTTP endpoint, anything else
// a command line started as a stdio server ("stdio:" prefix optional).
// MCP tools are side-effecting (confirmed before each call) unless the
// server marks them read-only. close ends the session (and the process).
func ConnectMCP(ctx context.Context, spec string) (tools []Tool, close func() error, err error) {
	var t mcp.Transport
	switch {
	case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
		t = &mcp.StreamableClientTransport{Endpoint: spec, MaxRetries: -1}
	default:
		args := strings.Fields(strings.TrimPrefix(spec, "stdio:"))
		if len(args) == 0 {
			return nil, nil, fmt.Errorf("agent: --mcp %q: no command", spec)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		t = &mcp.CommandTransport{Command: cmd}
	}
	return ConnectMCPTransport(ctx, t, spec)
}

// ConnectMCPTransport is ConnectMCP over a transport the caller built.
func ConnectMCPTransport(ctx context.Context, t mcp.Transport, name string) ([]Tool, func() error, error) {
	c := mcp.NewClient(implementation, nil)
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: MCP server %s: %w", name, err)
	}
	var tools []Tool
	for tl, err := range cs.Tools(ctx, nil) {
		if err != nil {
			cs.Close()
			return nil, nil, fmt.Errorf("agent: MCP server %s: listing tools: %w", name, err)
		}
		params, _ := json.Marshal(tl.InputSchema)
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage(`{"type":"object"}`)
		}
		readOnly := tl.Annotations != nil && tl.Annotations.ReadOnlyHint
		tools = append(tools, &mcpTool{spec: ToolSpec{Name: tl.Name, Description: tl.Description, Parameters: params}, readOnly: readOnly, cs: cs, server: name})
	}
	return tools, cs.Close, nil
}

type mcpTool struct {
	spec     ToolSpec
	readOnly bool
	cs       *mcp.ClientSession
	server   string
}

func (t *mcpTool) Spec() ToolSpec    { return t.spec }
func (t *mcpTool) SideEffects() bool { return !t.readOnly }

func (t *mcpTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	res, err := t.cs.CallTool(ctx, &mcp.CallToolParams{Name: t.spec.Name, Arguments: args})
	if err != nil {
		return "", fmt.Errorf("%s (MCP %s): %v", t.spec.Name, t.server, err)
	}
	text := contentText(res.Content)
	if res.IsError {
		return "", fmt.Errorf("%s: %s", t.spec.Name, text)
	}
	return text, nil
}

// contentText joins the text parts of a result; other kinds are named.
func contentText(cs []mcp.Content) string {
	var parts []string
	for _, c := range cs {
		switch c := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, c.Text)
		case *mcp.ImageContent:
			parts = append(parts, "[image "+c.MIMEType+"]")
		case *mcp.AudioContent:
			parts = append(parts, "[audio "+c.MIMEType+"]")
		default:
			b, _ := json.Marshal(c)
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n")
}

// NewMCPServer exposes tools as an MCP server. A tool error is a result
// with isError set, as the specification asks, so the calling model sees
// it; read-only tools carry readOnlyHint, the others destructiveHint, so
// the client knows which calls to confirm.
func NewMCPServer(tools Tools) *mcp.Server {
	s := mcp.NewServer(implementation, nil)
	for _, spec := range tools.Specs() {
		tool := tools[spec.Name]
		params := spec.Parameters
		var obj map[string]any
		if json.Unmarshal(params, &obj) != nil || obj["type"] != "object" {
			params = json.RawMessage(`{"type":"object"}`)
		}
		effects := tool.SideEffects()
		ann := &mcp.ToolAnnotations{ReadOnlyHint: !effects}
		if effects {
			t := true
			ann.DestructiveHint = &t
		}
		s.AddTool(&mcp.Tool{Name: spec.Name, Description: spec.Description, InputSchema: params, Annotations: ann},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				out, err := tool.Call(ctx, req.Params.Arguments)
				if err != nil {
					return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out}}}, nil
			})
	}
	return s
}

// GenerateTool lets MCP clients use a gptgo model: one completion of a
// prompt (with an optional system prompt), no tools.
func GenerateTool(m Model, maxTokens int) Tool {
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "generate",
			Description: "Generate text with the gptgo model: the answer to a prompt.",
			Parameters: schema(map[string]map[string]any{
				"prompt":     prop("string", "the user's message"),
				"system":     prop("string", "an optional system prompt"),
				"max_tokens": prop("integer", "most tokens to generate"),
			}, "prompt"),
		},
		Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
			var a struct {
				Prompt, System string
				MaxTokens      int `json:"max_tokens"`
			}
			if err := decodeArgs("generate", args, &a); err != nil {
				return "", err
			}
			var msgs []Message
			if a.System != "" {
				msgs = append(msgs, Message{Role: "system", Content: a.System})
			}
			msgs = append(msgs, Message{Role: "user", Content: a.Prompt})
			n := maxTokens
			if a.MaxTokens > 0 && (n <= 0 || a.MaxTokens < n) {
				n = a.MaxTokens
			}
			r, err := m.Complete(ctx, Request{Messages: msgs, MaxTokens: n})
			if err != nil {
				return "", fmt.Errorf("generate: %v", err)
			}
			return r.Content, nil
		},
	}
}
