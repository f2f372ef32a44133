# Regenerates whitespace.json: random templates mixing text, whitespace and
# every tag kind with "-"/"+" modifiers, rendered by Python Jinja2 with
# Hugging Face's settings. The Go test only reads the result.
#   python3 gen_whitespace.py   (needs the jinja2 package)
import os, random, json, jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
random.seed(7)
texts = ["", " ", "  ", "\t", "\n", " \n", "\n  ", "a", "b ", " c", "x\ny", "\n\n", "  \n  ", "q  \n\t"]
def ws(): return random.choice(texts)
def lm(): return random.choice(["", "", "-", "+"]) 
def rm(): return random.choice(["", "", "-"])
exprs = ["1", "'s'", "x", "x ~ 'k'", "[1,2]|length", "none", "x|upper", "'  p '|trim", "loop.index if loop is defined else 0"]
def block(d):
    out = ""
    for _ in range(random.randint(1, 4)):
        out += ws()
        r = random.random()
        if r < 0.3 or d > 2:
            out += "{{" + random.choice(["", "-"]) + " " + random.choice(exprs) + " " + rm() + "}}"
        elif r < 0.45:
            out += "{%" + lm() + " if " + random.choice(["true", "false", "x"]) + " " + rm() + "%}" + block(d+1) + ws()
            if random.random() < 0.4:
                out += "{%" + lm() + " else " + rm() + "%}" + block(d+1) + ws()
            out += "{%" + lm() + " endif " + rm() + "%}"
        elif r < 0.6:
            out += "{%" + lm() + " for i in [1, 2] " + rm() + "%}" + block(d+1) + ws() + "{%" + lm() + " endfor " + rm() + "%}"
        elif r < 0.7:
            out += "{%" + lm() + " set y = 3 " + rm() + "%}"
        elif r < 0.8:
            out += "{#" + random.choice(["", "-"]) + " c " + random.choice(["", "-"]) + "#}"
        elif r < 0.85:
            out += "{%" + lm() + " raw " + rm() + "%}" + ws() + "{{ r }}" + ws() + "{%" + lm() + " endraw " + rm() + "%}"
        else:
            out += ws()
    return out
cases = []
for i in range(1000):
    src = block(0) + ws()
    try:
        out = env.from_string(src).render(x="X")
        cases.append({"src": src, "out": out})
    except Exception as e:
        cases.append({"src": src, "err": str(e)})
json.dump(cases, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "whitespace.json"), "w"), indent=0, ensure_ascii=False)
print(len(cases), sum('err' in c for c in cases))
