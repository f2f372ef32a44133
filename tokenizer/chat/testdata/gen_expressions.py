# Regenerates expressions.json: random expressions over literals and
# variables (operators, filters, tests, methods, slices, conditionals),
# rendered by Python Jinja2 with Hugging Face's settings; only those Jinja2
# renders are kept. The Go test only reads the result.
#   python3 gen_expressions.py   (needs the jinja2 package)
import os, random, json, jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
random.seed(11)
atoms = ["0", "1", "2", "-3", "2.5", "0.1", "'a'", "'Ab c'", "''", "'x,y'", "none", "true", "false", "[]", "[1, 2]", "['b', 'a']", "{'k': 1}", "{}", "s", "n", "l", "d", "u"]
bin_ops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "and", "or", "in", "not in", "**"]
filters = ["length", "upper", "lower", "trim", "string", "tojson", "list", "first", "last", "join", "default('D')", "int", "float", "abs", "title", "capitalize", "sort", "join('-')", "replace('a', 'Z')", "count", "sum", "min", "max", "round", "wordcount"]
tests = ["defined", "none", "string", "number", "mapping", "iterable", "sequence", "odd", "even", "true", "false", "boolean", "integer", "float", "lower", "upper", "in [1, 'a']"]
methods = ["strip()", "upper()", "split()", "split(',')", "startswith('a')", "endswith('c')", "replace('b', 'q')", "lstrip('A')", "title()", "find('b')", "count('a')"]
def expr(d=0):
    r = random.random()
    if d > 3 or r < 0.3:
        return random.choice(atoms)
    if r < 0.5:
        return "(" + expr(d+1) + " " + random.choice(bin_ops) + " " + expr(d+1) + ")"
    if r < 0.62:
        return expr(d+1) + " | " + random.choice(filters)
    if r < 0.7:
        return "(" + expr(d+1) + " is " + random.choice(["", "not "]) + random.choice(tests) + ")"
    if r < 0.78:
        return "(" + random.choice(["'Ab c'", "s", "'a,b'"]) + ")." + random.choice(methods)
    if r < 0.84:
        return "(not " + expr(d+1) + ")"
    if r < 0.9:
        return "(" + expr(d+1) + " if " + expr(d+1) + " else " + expr(d+1) + ")"
    if r < 0.95:
        return random.choice(["l", "s", "[1, 2, 3]", "'hello'"]) + "[" + random.choice(["0", "-1", "1:", ":-1", "::-1", "5", "1:2"]) + "]"
    return "[" + expr(d+1) + ", " + expr(d+1) + "]"
# The Go test passes the same variables.
ctx = {"s": "Ab c", "n": 7, "l": [3, 1, 2], "d": {"z": 1, "a": 2}}
cases = []
ok = 0
while ok < 1500:
    src = "{{ " + expr() + " }}"
    try:
        out = env.from_string(src).render(**ctx)
        cases.append({"src": src, "out": out}); ok += 1
    except Exception as e:
        pass
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expressions.json"), "w") as f:
    json.dump(cases, f, indent=0, ensure_ascii=False)
print(len(cases))
