// Built-in templates and family detection; the prompt formats are those documented on each model's card (and llama.cpp src/llama-chat.cpp's list of families).

package chat

import (
	"fmt"
	"sort"
	"strings"
)

type builtinDef struct {
	source, bos, eos string
}

// builtins are written for this package in the style of the official
// templates; the tests pin their output for a multi-turn conversation.
var builtins = map[string]builtinDef{
	"chatml": {
		source: `{%- for m in messages -%}
{{- '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}`,
		eos: "<|im_end|>",
	},
	"llama2": {
		source: `{%- if messages and messages[0]['role'] == 'system' -%}
  {%- set system = messages[0]['content'] -%}
  {%- set turns = messages[1:] -%}
{%- else -%}
  {%- set system = '' -%}
  {%- set turns = messages -%}
{%- endif -%}
{%- for m in turns -%}
  {%- if m['role'] == 'user' -%}
    {%- set content = m['content'] -%}
    {%- if loop.first and system -%}
      {%- set content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content -%}
    {%- endif -%}
    {{- bos_token + '[INST] ' + content | trim + ' [/INST]' -}}
  {%- elif m['role'] == 'assistant' -%}
    {{- ' ' + m['content'] | trim + ' ' + eos_token -}}
  {%- endif -%}
{%- endfor -%}`,
		bos: "<s>", eos: "</s>",
	},
	"llama3": {
		source: `{{- bos_token -}}
{%- for m in messages -%}
{{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}`,
		bos: "<|begin_of_text|>", eos: "<|eot_id|>",
	},
	// Mistral's first instruct models have no system turn: Render folds
	// system text into the first user turn.
	"mistral": {
		source: `{{- bos_token -}}
{%- for m in messages -%}
  {%- if m['role'] == 'system' -%}{{- raise_exception('System role not supported') -}}{%- endif -%}
  {%- if m['role'] == 'user' -%}{{- '[INST] ' + m['content'] + ' [/INST]' -}}
  {%- elif m['role'] == 'assistant' -%}{{- m['content'] + eos_token -}}
  {%- endif -%}
{%- endfor -%}`,
		bos: "<s>", eos: "</s>",
	},
	"phi3": {
		source: `{%- for m in messages -%}
{{- '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- endif -%}`,
		bos: "<s>", eos: "<|end|>",
	},
	"gemma": {
		source: `{{- bos_token -}}
{%- for m in messages -%}
  {%- if m['role'] == 'system' -%}{{- raise_exception('System role not supported') -}}{%- endif -%}
  {%- set role = 'model' if m['role'] == 'assistant' else m['role'] -%}
  {{- '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}`,
		bos: "<bos>", eos: "<eos>",
	},
	"zephyr": {
		source: `{%- for m in messages -%}
{{- '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- endif -%}`,
		eos: "</s>",
	},
}

// BuiltinNames lists the names Builtin accepts, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Builtin returns a well-known template by name ("chatml", "llama2",
// "llama3", "mistral", "phi3", "gemma", "zephyr") with that family's usual
// BOS and EOS strings.
func Builtin(name string) (*Template, error) {
	d, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("chat: no built-in template %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return builtin(name, d.bos, d.eos)
}

// builtin instantiates a built-in with the given tokens, or the family's
// defaults where they are empty.
func builtin(name, bos, eos string) (*Template, error) {
	d, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("chat: no built-in template %q", name)
	}
	if bos == "" {
		bos = d.bos
	}
	if eos == "" {
		eos = d.eos
	}
	t, err := New(d.source, bos, eos)
	if err != nil {
		return nil, fmt.Errorf("chat: built-in %q: %w", name, err)
	}
	t.name = name
	return t, nil
}

// Detect names the well-known family a template source belongs to, by the
// marker strings each family's prompt format uses, or "" when none matches.
// The names are llama.cpp's where it has one, so that users can compare;
// Builtin accepts the common ones. Order matters: several families share
// markers, and the more specific test comes first.
func Detect(source string) string {
	has := func(s string) bool { return strings.Contains(source, s) }
	if _, ok := builtins[source]; ok {
		return source // a bare family name, as llama.cpp accepts
	}
	for name, d := range builtins {
		if d.source == source {
			return name
		}
	}
	switch {
	case has("<|im_start|>"):
		if has("<|im_sep|>") {
			return "phi4"
		}
		return "chatml"
	case has("[INST]"):
		switch {
		case has("[SYSTEM_PROMPT]"):
			return "mistral-v7"
		case has("' [INST] ' + system_message"), has("[AVAILABLE_TOOLS]"):
			if has(" [INST]") {
				return "mistral-v1"
			}
			if has(`"[INST]"`) {
				return "mistral-v3-tekken"
			}
			return "mistral-v3"
		case has("<<SYS>>"), has("bos_token + '[INST]"), has("content.strip()"):
			return "llama2"
		}
		return "mistral"
	case has("<|assistant|>") && has("<|end|>"):
		return "phi3"
	case has("<|assistant|>") && has("<|user|>"):
		if has("</s>") {
			return "falcon3"
		}
		return "glmedge"
	case has("<|user|>") && has("<|endoftext|>"):
		return "zephyr"
	case has("bos_token + message['role']"):
		return "monarch"
	case has("<start_of_turn>"):
		return "gemma"
	case has(`'\n\nAssistant: ' + eos_token`):
		return "orion"
	case has("GPT4 Correct "):
		return "openchat"
	case has("USER: ") && has("ASSISTANT: "):
		if has("SYSTEM: ") {
			return "vicuna-orca"
		}
		return "vicuna"
	case has("### Instruction:") && has("<|EOT|>"):
		return "deepseek"
	case has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>"):
		return "command-r"
	case has("<|start_header_id|>") && has("<|end_header_id|>"):
		return "llama3"
	case has("[gMASK]sop"):
		return "chatglm3"
	case has("[gMASK]<sop>"):
		return "chatglm4"
	case has("<用户>"):
		return "minicpm"
	case has("'Assistant: ' + message['content'] + eos_token"):
		return "deepseek2"
	case has("<｜Assistant｜>") && has("<｜User｜>"):
		return "deepseek3"
	case has("[|system|]") && has("[|assistant|]"):
		return "exaone3"
	case has("<|start_of_role|>"):
		return "granite"
	case has("additional_special_tokens[0]"):
		return "gigachat"
	case has("<|role_start|>"):
		return "megrez"
	}
	return ""
}
