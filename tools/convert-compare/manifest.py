# Writes a GGUF file's manifest as JSON: every metadata key with its type and value (string arrays in
# full), and every tensor's type, shape and the SHA-256 of its bytes, read with llama.cpp's gguf-py.
# The Go test (cmd/gptgo/convert_llamacpp_test.go) builds the same manifest from gptgo's output.
# Usage: manifest.py FILE.gguf OUT.json [--skip-prefix P]...
import hashlib, json, sys
import os
LLAMA = os.environ.get("LLAMA", "/tmp/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
from gguf import GGUFReader, GGUFValueType
args = sys.argv[1:]
skip = []
while "--skip-prefix" in args:
    i = args.index("--skip-prefix"); skip.append(args[i + 1]); del args[i:i + 2]
r = GGUFReader(args[0])
keys = {}
for name, f in r.fields.items():
    if name.startswith("GGUF.") or any(name.startswith(p) for p in skip):
        continue
    t = f.types[0]
    if t == GGUFValueType.ARRAY:
        elem = f.types[-1]
        if elem == GGUFValueType.STRING:
            v = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        else:
            v = [f.parts[i].tolist()[0] for i in f.data]
        keys[name] = {"type": "array:" + elem.name.lower(), "value": v}
    elif t == GGUFValueType.STRING:
        keys[name] = {"type": "string", "value": bytes(f.parts[f.data[0]]).decode("utf-8")}
    else:
        keys[name] = {"type": t.name.lower(), "value": f.parts[f.data[0]].tolist()[0]}
tensors = {t.name: {"type": t.tensor_type.name, "shape": [int(d) for d in t.shape],
                    "sha256": hashlib.sha256(t.data.tobytes()).hexdigest()} for t in r.tensors}
json.dump({"keys": keys, "tensors": tensors, "skipped_key_prefixes": skip}, open(args[1], "w"), indent=1, ensure_ascii=False, sort_keys=True)
