# Rewrites a checkpoint's model.safetensors as pytorch_model.bin (torch.save), for llama.cpp's
# converter on a machine without the safetensors Python package. Reads the safetensors header itself.
import json, struct, sys, os, numpy as np, torch
src, dst = sys.argv[1], sys.argv[2]
with open(os.path.join(src, "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    base = 8 + n
    data = f.read()
dt = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}
out = {}
for name, info in hdr.items():
    if name == "__metadata__":
        continue
    a, b = info["data_offsets"]
    if info["dtype"] == "BF16":
        u = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
        arr = u.view(np.float32).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy()).to(torch.bfloat16)
    else:
        arr = np.frombuffer(data[a:b], dtype=dt[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
torch.save(out, os.path.join(dst, "pytorch_model.bin"))
