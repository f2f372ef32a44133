# Regenerates golden.json: every template in templates/ rendered with every
# conversation in conversations.json by Python Jinja2 configured as Hugging
# Face transformers' apply_chat_template configures it. It is the independent
# implementation the Go renderer is checked against; the tests do not run it.
#   python3 gen_golden.py   (needs the jinja2 package)
import datetime, glob, json, os
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)

def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: NOW.strftime(f)

def hf_message(m, string_args=False):
    # The same shape chat.go's messageList builds.
    d = {"role": m["role"], "content": m["content"]}
    if m["content"] == "" and m.get("tool_calls"):
        d["content"] = None  # as chat.go: a pure tool-call turn has null content
    if m.get("tool_calls"):
        calls = []
        for tc in m["tool_calls"]:
            args = tc["arguments"]
            try:
                parsed = json.loads(args)
                if isinstance(parsed, dict) and not string_args:
                    args = parsed
            except ValueError:
                pass
            c = {}
            if tc.get("id"):
                c["id"] = tc["id"]
            c["type"] = "function"
            c["function"] = {"name": tc["name"], "arguments": args}
            calls.append(c)
        d["tool_calls"] = calls
    if m.get("tool_call_id"):
        d["tool_call_id"] = m["tool_call_id"]
    if m.get("name"):
        d["name"] = m["name"]
    return d

here = os.path.dirname(os.path.abspath(__file__))
convs = json.load(open(os.path.join(here, "conversations.json")))
out = []
for path in sorted(glob.glob(os.path.join(here, "templates", "*.jinja"))):
    src = open(path, encoding="utf-8").read()
    for conv in sorted(convs):
        c = convs[conv]
        has_calls = any(m.get("tool_calls") for m in c["messages"])
        # Tool-call arguments go in as mappings (Hugging Face's convention)
        # and, where there are calls, also as JSON text (OpenAI's).
        for agp, string_args in [(a, s) for a in (True, False) for s in ((False, True) if has_calls else (False,))]:
            ctx = {"messages": [hf_message(m, string_args) for m in c["messages"]], "add_generation_prompt": agp,
                   "bos_token": "<s>", "eos_token": "</s>"}
            if "tools" in c:
                ctx["tools"] = c["tools"]
            rec = {"template": os.path.basename(path), "conversation": conv, "add_generation_prompt": agp,
                   "string_args": string_args}
            try:
                rec["output"] = env.from_string(src).render(**ctx)
            except Exception as e:
                rec["error"] = f"{type(e).__name__}: {e}"
            out.append(rec)
with open(os.path.join(here, "golden.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(out), "renderings,", sum("error" in r for r in out), "errors")
