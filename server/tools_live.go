// Reference: OpenAI API reference, chat completion chunks (choices[].delta.tool_calls: the first
// piece of a call carries index, id, type and function.name, later ones function.arguments
// fragments); Ollama's streamed /api/chat (message.tool_calls sent in the chunk where a call is
// complete); RFC 8259 for the JSON the scanner walks.

package server

import (
	"encoding/json"
	"strings"
)

// liveCalls reads tool calls while they are generated, so that a stream
// can send each call as it grows rather than after generation: the name
// once it is complete, then the arguments object in pieces, compacted on
// the fly exactly as grammar.ParseToolCalls compacts the finished answer
// (whitespace outside strings dropped), so the pieces join into the same
// text as the plain answer's arguments.
//
// It is fed the text from where the calls begin (the marker of formats
// that have one) and finds each call object by its first '{' (none of the
// formats' markers or separators holds one). It expects what the tool
// grammars produce: {"name": "…", "arguments"|"parameters": {…}}. Text of
// any other shape turns it off (off), and the finished answer's calls are
// then sent whole, as before.
type liveCalls struct {
	phase int    // liveSeek, liveHeader, liveArgs
	hdr   []byte // the call object so far, from its '{', while its header is read
	depth int    // nesting inside the arguments object
	str   bool   // inside a string of the arguments
	esc   bool   // after a backslash in that string
	off   bool   // text of another shape: stop reading

	calls []toolCallOut   // calls begun, arguments as sent so far
	done  int             // calls complete
	out   []toolCallDelta // pieces not taken yet
}

const (
	liveSeek   = iota // before a call object
	liveHeader        // inside a call object, before its arguments
	liveArgs          // inside the arguments object
)

// feed reads the next piece of the calls' text.
func (l *liveCalls) feed(s string) {
	var args []byte // compacted arguments from this piece
	flush := func() {
		if len(args) > 0 {
			i := len(l.calls) - 1
			l.calls[i].Function.Arguments += string(args)
			l.out = append(l.out, toolCallDelta{Index: i, Function: functionCallPart{Arguments: string(args)}})
			args = args[:0]
		}
	}
	for i := 0; i < len(s) && !l.off; i++ {
		b := s[i]
		switch l.phase {
		case liveSeek:
			if b == '{' {
				l.phase, l.hdr = liveHeader, append(l.hdr[:0], b)
			}
		case liveHeader:
			l.hdr = append(l.hdr, b)
			name, ok, more := callHeader(l.hdr)
			switch {
			case ok:
				l.calls = append(l.calls, toolCallOut{ID: newID("call_"), Type: "function", Function: functionCall{Name: name}})
				l.out = append(l.out, toolCallDelta{Index: len(l.calls) - 1, ID: l.calls[len(l.calls)-1].ID, Type: "function", Function: functionCallPart{Name: name}})
				l.phase, l.depth, l.str, l.esc = liveArgs, 1, false, false
				args = append(args, '{')
			case !more:
				l.off = true
			}
		case liveArgs:
			switch {
			case l.str:
				args = append(args, b)
				switch {
				case l.esc:
					l.esc = false
				case b == '\\':
					l.esc = true
				case b == '"':
					l.str = false
				}
			case b == ' ' || b == '\t' || b == '\n' || b == '\r':
				// insignificant whitespace, as json.Compact drops it
			default:
				args = append(args, b)
				switch b {
				case '"':
					l.str = true
				case '{', '[':
					l.depth++
				case '}', ']':
					l.depth--
				}
				if l.depth == 0 {
					flush()
					l.done++
					l.phase = liveSeek
				}
			}
		}
	}
	flush()
}

// take returns the pieces read since the last take.
func (l *liveCalls) take() []toolCallDelta {
	out := l.out
	l.out = nil
	return out
}

// callHeader reads the start of a call object, `{"name": "…",
// "arguments": ` (or "parameters"), up to the arguments' '{'. ok: it is
// complete, with the name; more: not yet, but it may still be; neither:
// the text has another shape.
func callHeader(h []byte) (name string, ok, more bool) {
	i := 0
	ws := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r') {
			i++
		}
	}
	// lit consumes w; it reports false when the text ends first (more)
	// or differs (set bad).
	bad := false
	lit := func(w string) bool {
		n := min(len(w), len(h)-i)
		if string(h[i:i+n]) != w[:n] {
			bad = true
			return false
		}
		i += n
		return n == len(w)
	}
	if !lit("{") {
		return "", false, !bad
	}
	ws()
	if !lit(`"name"`) {
		return "", false, !bad
	}
	ws()
	if !lit(":") {
		return "", false, !bad
	}
	ws()
	if !lit(`"`) {
		return "", false, !bad
	}
	start := i - 1
	for esc := false; ; i++ {
		if i == len(h) {
			return "", false, true
		}
		if esc {
			esc = false
		} else if h[i] == '\\' {
			esc = true
		} else if h[i] == '"' {
			i++
			break
		}
	}
	if json.Unmarshal(h[start:i], &name) != nil || name == "" {
		return "", false, false
	}
	ws()
	if !lit(",") {
		return "", false, !bad
	}
	ws()
	rest := string(h[i:])
	key := ""
	for _, k := range []string{`"arguments"`, `"parameters"`} {
		if strings.HasPrefix(rest, k) {
			key = k
		} else if strings.HasPrefix(k, rest) {
			return "", false, true
		}
	}
	if key == "" {
		return "", false, false
	}
	i += len(key)
	ws()
	if !lit(":") {
		return "", false, !bad
	}
	ws()
	if i == len(h) {
		return "", false, true
	}
	if h[i] != '{' || i != len(h)-1 {
		return "", false, false
	}
	return name, true, false
}

// same reports whether the calls read live are exactly calls (names and
// arguments), all complete.
func (l *liveCalls) same(calls []toolCallOut) bool {
	if l.off || l.done != len(l.calls) || len(calls) != len(l.calls) {
		return false
	}
	for i, c := range calls {
		if c.Function.Name != l.calls[i].Function.Name || c.Function.Arguments != l.calls[i].Function.Arguments {
			return false
		}
	}
	return true
}
