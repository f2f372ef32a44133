// Package chat renders chat templates: it turns a conversation (system
// prompt, user and assistant turns, tool calls and results) into the exact
// prompt text a model was trained on, by running the Jinja template the
// model ships in its GGUF metadata (tokenizer.chat_template).
//
// Data flow: New (or FromGGUF, or Builtin) lexes and parses the template
// once into a tree and probes what it can render (system turns, tools,
// tool calls and results); Render rewrites the conversation for what it
// cannot (as llama.cpp does), converts messages, tools and extra variables
// into template values, and walks the tree, writing the prompt.
//
// The Jinja interpreter is our own and covers the subset that real chat
// templates use, with the semantics of Python Jinja2 as Hugging Face
// configures it (trim_blocks, lstrip_blocks, an immutable sandbox,
// raise_exception, strftime_now, tojson without ASCII escaping). It treats a
// template as hostile input: every error is returned with its line and
// column, and evaluation steps, output size, nesting and macro recursion
// are bounded, so a template can neither hang nor crash the process.
//
// Files: lex.go (delimiters, whitespace control, expression tokens),
// parse.go and parse_expr.go (statements, then the expression grammar),
// eval.go (scopes, loops, set, macros), ops.go (operators, subscripts,
// calls), builtins.go (globals and filters), methods.go (tests and Python
// methods), value.go (Python-like values, repr and JSON), chat.go (the
// API), polyfill.go (capability probes and conversation rewrites),
// builtin.go (built-in templates and family detection).
package chat
