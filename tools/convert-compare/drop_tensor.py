# Writes a copy of a checkpoint's model.safetensors without one tensor (a tied lm_head), with
# tie_word_embeddings set in config.json.
import json, struct, sys, os
src, dst, drop = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(src, "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    data = f.read()
meta = hdr.pop("__metadata__", None)
out, blobs, off = {}, [], 0
for name, info in hdr.items():
    if name == drop:
        continue
    a, b = info["data_offsets"]
    out[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [off, off + b - a]}
    blobs.append(data[a:b]); off += b - a
if meta is not None:
    out["__metadata__"] = meta
h = json.dumps(out).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(dst, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for b in blobs: f.write(b)
c = json.load(open(os.path.join(src, "config.json")))
c["tie_word_embeddings"] = True
json.dump(c, open(os.path.join(dst, "config.json"), "w"), indent=2)
