// Reference: issue #23 "MCP" (gptgo mcp exposes gptgo's own tools, knowledge-base search and
// generation, as a Model Context Protocol server); MCP stdio and streamable HTTP transports.

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gptgo/gptgo/agent"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func init() {
	register(&command{name: "mcp", summary: "serve gptgo's tools (kb search, generation, calculator, time) over MCP", usage: "[flags]", run: runMCP})
}

func runMCP(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "mcp", "[flags]\n\nServes gptgo's tools to MCP clients: calculator, time, generate (the model: --model FILE,\nthe embedded default model, or --url), and kb_search with --kb. Over stdio by default; with\n--http ADDR over streamable HTTP at http://ADDR/mcp.")
	f := addInferFlags(fs, 256)
	url := fs.String("url", "", "generate with the model at this OpenAI-compatible base URL instead of in-process")
	kb := fs.String("kb", "", "knowledge-base directory (gptgo kb) to offer kb_search over")
	fs.Lookup("model").Usage = "generate with this GGUF file or name of the models directory (default: the embedded model); with --url, the model's name there"
	addr := fs.String("http", "", "serve streamable HTTP on `ADDR` (e.g. 127.0.0.1:8765) instead of stdio")
	noGen := fs.Bool("no-generate", false, "do not load a model or offer generate")
	models := modelsFlag(fs)
	apiKey := fs.String("api-key", os.Getenv("OPENAI_API_KEY"), "bearer token for --url (default $OPENAI_API_KEY)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage
	}
	if err := f.validate(); err != nil {
		return err
	}
	tools := agent.Tools{}
	tools.Add(agent.Calculator(), agent.TimeTool(nil))
	if *kb != "" {
		s, emb, err := openKB(*kb, "", false)
		if err != nil {
			return err
		}
		defer emb.Close()
		defer s.Close()
		tools.Add(agent.KBSearch(s))
	}
	if !*noGen {
		m, _, closeModel, err := agentModel(e, &agentFlags{url: url, apiKey: apiKey, models: models}, f)
		if err != nil {
			return err
		}
		defer closeModel()
		opts, _ := f.options()
		tools.Add(agent.GenerateTool(m, opts.MaxTokens))
	}
	srv := agent.NewMCPServer(tools)
	if *addr == "" {
		err := srv.Run(ctx, &mcp.StdioTransport{})
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	hs := &http.Server{Handler: mux}
	fmt.Fprintf(e.stderr, "gptgo mcp: listening on http://%s/mcp\n", ln.Addr())
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
