// Reference: issue #23 (agents: plan → call → observe loop, memory, limits, safe tools, MCP) and
// ../shared/ARCHITECTURE.md ("agent/: tools with JSON schemas, the plan → call → observe loop,
// memory, limits"; "agent.Model: in-process model or any OpenAI-compatible endpoint").

// Package agent runs a task with a language model and tools.
//
// Data flow: an [Agent] sends the conversation ([Message]s) and the tools'
// JSON Schemas ([ToolSpec]) to a [Model]; the model answers with text or
// with tool calls; the agent checks each call against its limits, the
// repeat guard and, for side-effecting tools, the confirmation callback,
// runs the calls of one answer in parallel, and appends each result as an
// observation. It loops until the model answers without a call or a limit
// ([Limits]) is hit. Every event is appended to a JSONL [Transcript], from
// which [ReadTranscript] and [Agent.Resume] rebuild the conversation. Near
// the end of the context (or on [ErrContextFull]) older turns are
// summarised; with a knowledge base, remember/recall keep notes across
// runs.
//
// Two models satisfy [Model]: [HTTPModel] (any OpenAI-compatible endpoint;
// native tool calls when the server takes them and they fit, the ReAct
// text protocol otherwise) and [LocalModel] (a gptgo model in-process, its
// calls constrained by a grammar so that a small model cannot derail the
// format).
//
// [NewTools] builds the built-in tools from a [ToolConfig]; the package's
// Example shows a whole run and docs/agents.md the CLI.
//
// Tools are data-in, data-out: a tool result is only ever an observation
// for the model, never an instruction to the agent, so text inside a file,
// web page or knowledge-base chunk cannot widen what the agent may do. The
// permissions (root directory, allowed hosts, shell, confirmation) are
// fixed when the tools are built.
//
// MCP: [ConnectMCP] adds the tools of a Model Context Protocol server
// (stdio or streamable HTTP) and [NewMCPServer] exposes a tool set as one.
package agent
