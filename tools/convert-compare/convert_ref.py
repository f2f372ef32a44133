# Runs llama.cpp's convert_hf_to_gguf.py (snapshot c392e5094) on a checkpoint. With --no-vocab the
# tokenizer step is skipped (its BPE paths need the transformers package, which this machine cannot get).
import sys
import os
LLAMA = os.environ.get("LLAMA", "/tmp/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
sys.path.insert(0, LLAMA)
no_vocab = "--no-vocab" in sys.argv
if no_vocab:
    sys.argv.remove("--no-vocab")
import torch
# torch 1.13 (Debian bookworm) lacks these dtypes; the converter only lists them in a table for
# safetensors slices, which this run does not read.
for attr in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
    if not hasattr(torch, attr):
        setattr(torch, attr, None)
_load = torch.load
def _load_no_mmap(*a, **k):  # torch 1.13's load has no mmap argument; the files are tiny
    k.pop("mmap", None)
    return _load(*a, **k)
torch.load = _load_no_mmap
import convert_hf_to_gguf as c
if no_vocab:
    c.Model.set_vocab = lambda self: None
    for name in dir(c):
        cls = getattr(c, name)
        if isinstance(cls, type) and issubclass(cls, c.Model) and "set_vocab" in cls.__dict__:
            cls.set_vocab = lambda self: None
sys.argv[0] = "convert_hf_to_gguf.py"
c.main()
