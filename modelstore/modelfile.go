// Reference: Ollama's docs/modelfile.md (instructions FROM, PARAMETER,
// TEMPLATE, SYSTEM, LICENSE; "#" comments; """ multi-line strings; nothing
// case-sensitive but the arguments).

package modelstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Modelfile is a parsed Ollama Modelfile. Only what gptgo can honour is
// accepted: ADAPTER and MESSAGE are errors rather than silently dropped.
type Modelfile struct {
	From       string      // a GGUF file (relative to the Modelfile) or a model name
	Template   *string     // TEMPLATE, a Jinja chat template; nil when absent
	System     *string     // SYSTEM; nil when absent
	License    []string    // LICENSE texts (there may be several)
	Parameters []Parameter // PARAMETERs in file order, values validated and normalised
}

// Parameter is one PARAMETER line.
type Parameter struct {
	Name, Value string
	Line        int // 1-based line in the Modelfile, for messages
}

// ParseModelfile parses the text of a Modelfile. Errors name the line.
func ParseModelfile(text string) (*Modelfile, error) {
	mf := &Modelfile{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	seen := map[string]int{}
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		// Only the left is trimmed: a """ string keeps its first line whole.
		line := strings.TrimLeft(lines[i], " \t")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		word, rest := cutWord(line)
		inst := strings.ToUpper(word)
		errf := func(format string, a ...any) error {
			return fmt.Errorf("modelfile: line %d: %s: %s", lineNo, inst, fmt.Sprintf(format, a...))
		}
		if inst == "PARAMETER" {
			name, v := cutWord(rest)
			name = strings.ToLower(name)
			if name == "" {
				return nil, errf("no parameter name")
			}
			arg, next, err := argument(v, lines, i)
			if err != nil {
				return nil, errf("%s: %v", name, err)
			}
			i = next
			if arg == "" {
				return nil, errf("%s: no value", name)
			}
			norm, err := CheckParam(name, arg)
			if err != nil {
				return nil, errf("%v", err)
			}
			mf.Parameters = append(mf.Parameters, Parameter{Name: name, Value: norm, Line: lineNo})
			continue
		}
		arg, next, err := argument(rest, lines, i)
		if err != nil {
			return nil, errf("%v", err)
		}
		i = next
		switch inst {
		case "FROM", "TEMPLATE", "SYSTEM":
			if prev, dup := seen[inst]; dup {
				return nil, errf("given twice (first at line %d)", prev)
			}
			seen[inst] = lineNo
			switch inst {
			case "FROM":
				if arg == "" {
					return nil, errf("no model or file named")
				}
				mf.From = arg
			case "TEMPLATE":
				if err := CheckTemplate(arg); err != nil {
					return nil, errf("%v", err)
				}
				mf.Template = &arg
			case "SYSTEM":
				mf.System = &arg
			}
		case "LICENSE":
			mf.License = append(mf.License, arg)
		case "ADAPTER", "MESSAGE", "REQUIRES":
			return nil, errf("not supported by gptgo")
		default:
			return nil, fmt.Errorf("modelfile: line %d: unknown instruction %q (FROM, PARAMETER, TEMPLATE, SYSTEM and LICENSE are known)", lineNo, word)
		}
	}
	if mf.From == "" {
		return nil, errors.New("modelfile: no FROM line (FROM names the GGUF file or the model to start from)")
	}
	return mf, nil
}

// cutWord splits s at its first space or tab, trimming the spaces and tabs
// that follow.
func cutWord(s string) (word, rest string) {
	j := strings.IndexAny(s, " \t")
	if j < 0 {
		return strings.TrimRight(s, "\r"), ""
	}
	return s[:j], strings.TrimLeft(s[j:], " \t")
}

// argument reads an instruction's argument that starts with rest, on line
// index i of lines: a """ string (which may span lines and is kept
// verbatim), a "…" string on one line (the text between the first and the
// last quote), or the bare rest of the line. It returns the index of the
// last line it used.
func argument(rest string, lines []string, i int) (string, int, error) {
	if after, ok := strings.CutPrefix(rest, `"""`); ok {
		var b strings.Builder
		start := i + 1
		for {
			if j := strings.Index(after, `"""`); j >= 0 {
				b.WriteString(after[:j])
				if tail := strings.TrimSpace(after[j+3:]); tail != "" {
					return "", i, fmt.Errorf("text %q after the closing \"\"\"", tail)
				}
				return b.String(), i, nil
			}
			b.WriteString(after)
			i++
			if i >= len(lines) {
				return "", i, fmt.Errorf(`the """ string opened at line %d is never closed`, start)
			}
			b.WriteByte('\n')
			after = lines[i]
		}
	}
	rest = strings.TrimRight(rest, " \t\r")
	if strings.HasPrefix(rest, `"`) {
		if len(rest) < 2 || !strings.HasSuffix(rest, `"`) {
			return "", i, errors.New(`the "…" string is not closed on its line`)
		}
		return rest[1 : len(rest)-1], i, nil
	}
	return rest, i, nil
}

// CheckTemplate parses a chat template, and rejects Ollama's Go
// text/template syntax with a message that says what gptgo wants instead:
// its chat templates are Jinja, the language of tokenizer.chat_template, so
// that the file works in llama.cpp too.
func CheckTemplate(t string) error {
	if err := goTemplate(t); err != nil {
		return err
	}
	if _, err := chat.New(t, "", ""); err != nil {
		return fmt.Errorf("in the template: %w", err)
	}
	return nil
}

func goTemplate(t string) error {
	for _, v := range []string{".Prompt", ".Messages", ".System", ".Response", ".Tools"} {
		for _, open := range []string{"{{ ", "{{- ", "{{"} {
			if strings.Contains(t, open+v) || strings.Contains(t, open+"if "+v) || strings.Contains(t, open+"range "+v) {
				return fmt.Errorf("looks like an Ollama Go template (%s); gptgo templates are Jinja chat templates, as in a GGUF's tokenizer.chat_template (messages, add_generation_prompt)", v)
			}
		}
	}
	return nil
}

// ErrUnrepresentable is returned by Format for a value no Modelfile syntax
// can hold (a multi-line value that contains """ or begins with a quote).
var ErrUnrepresentable = errors.New("modelfile: value cannot be written in a Modelfile")

// Format writes mf as Modelfile text that ParseModelfile reads back to the
// same Modelfile (line numbers aside).
func (mf *Modelfile) Format() (string, error) {
	var b strings.Builder
	put := func(inst, v string) error {
		q, err := quote(v)
		if err != nil {
			return fmt.Errorf("%w: %s %.40q", ErrUnrepresentable, inst, v)
		}
		b.WriteString(inst + " " + q + "\n")
		return nil
	}
	if err := put("FROM", mf.From); err != nil {
		return "", err
	}
	if mf.Template != nil {
		if err := put("TEMPLATE", *mf.Template); err != nil {
			return "", err
		}
	}
	if mf.System != nil {
		if err := put("SYSTEM", *mf.System); err != nil {
			return "", err
		}
	}
	for _, p := range mf.Parameters {
		if err := put("PARAMETER "+p.Name, p.Value); err != nil {
			return "", err
		}
	}
	for _, l := range mf.License {
		if err := put("LICENSE", l); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// quote writes v so that argument reads it back: bare when that is
// unambiguous, "…" on one line, """…""" across lines.
func quote(v string) (string, error) {
	if !strings.Contains(v, "\n") {
		if v != "" && v == strings.TrimSpace(v) && !strings.HasPrefix(v, `"`) && !strings.HasPrefix(v, "#") {
			return v, nil
		}
		// "…" takes everything between the first and the last quote, so v may
		// hold quotes, but "+v must not open a """ string.
		if !strings.HasPrefix(v, `""`) && v != `"` && !strings.HasSuffix(v, "\r") {
			return `"` + v + `"`, nil
		}
	}
	// """…""" ends at the first """; lines are split at \n after \r\n
	// became \n.
	if strings.Contains(v, `"""`) || strings.HasSuffix(v, `"`) || strings.Contains(v, "\r\n") {
		return "", ErrUnrepresentable
	}
	return `"""` + v + `"""`, nil
}
