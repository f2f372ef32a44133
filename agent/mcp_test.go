package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMain turns the test binary into a stdio MCP server, built with the
// SDK, when the MCP test re-executes it.
func TestMain(m *testing.M) {
	if os.Getenv("GPTGO_TEST_MCP_SERVER") == "1" {
		s := mcp.NewServer(&mcp.Implementation{Name: "test-server", Version: "1"}, nil)
		type addIn struct {
			A int `json:"a"`
			B int `json:"b"`
		}
		mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "adds two integers", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
			func(ctx context.Context, req *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil, nil
			})
		mcp.AddTool(s, &mcp.Tool{Name: "touch", Description: "pretends to change something"},
			func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
				return nil, nil, fmt.Errorf("touch failed on purpose")
			})
		if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMCPClientStdio(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "GPTGO_TEST_MCP_SERVER=1")
	ctx := context.Background()
	tools, closeMCP, err := ConnectMCPTransport(ctx, &mcp.CommandTransport{Command: cmd}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer closeMCP()
	ts := Tools{}
	if err := ts.Add(tools...); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts["add"] == nil || ts["add"].SideEffects() || !ts["touch"].SideEffects() {
		t.Fatalf("tools %v", ts.Specs())
	}
	if !strings.Contains(string(ts["add"].Spec().Parameters), `"a"`) {
		t.Fatalf("add's schema %s", ts["add"].Spec().Parameters)
	}
	// Through the agent: the read-only tool runs, the other is an error
	// the model sees.
	var obs []string
	m := &scripted{turns: []func(Request) *Reply{
		calls(call("add", `{"a":2,"b":40}`), call("touch", `{}`)),
		func(r Request) *Reply { obs = lastTools(r); return &Reply{Content: "42"} },
	}}
	if _, err := (&Agent{Model: m, Tools: ts, Yes: true}).Run(ctx, "add"); err != nil {
		t.Fatal(err)
	}
	if len(obs) != 2 || obs[0] != "42" || !strings.Contains(obs[1], "touch failed on purpose") {
		t.Fatalf("observations %q", obs)
	}
}

// TestMCPServerRoundTrip serves gptgo tools over streamable HTTP on
// loopback and drives them with the SDK's client, through ConnectMCP.
func TestMCPServerRoundTrip(t *testing.T) {
	ts := basicTools(t)
	ts.Add(GenerateTool(&scripted{turns: []func(Request) *Reply{func(r Request) *Reply {
		return &Reply{Content: "echo: " + r.Messages[len(r.Messages)-1].Content}
	}}}, 16))
	s := NewMCPServer(ts)
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	defer srv.Close()
	ctx := context.Background()
	tools, closeMCP, err := ConnectMCP(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer closeMCP()
	got := Tools{}
	got.Add(tools...)
	if len(got) != 3 {
		t.Fatalf("tools %v", got.Specs())
	}
	out, err := got["calculator"].Call(ctx, json.RawMessage(`{"expression":"1/3+1/6"}`))
	if err != nil || out != "1/2 = 0.5" {
		t.Fatalf("calculator over MCP: %q %v", out, err)
	}
	if _, err := got["calculator"].Call(ctx, json.RawMessage(`{"expression":"1/0"}`)); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("error over MCP: %v", err)
	}
	if out, err := got["generate"].Call(ctx, json.RawMessage(`{"prompt":"hi"}`)); err != nil || out != "echo: hi" {
		t.Fatalf("generate over MCP: %q %v", out, err)
	}
}
