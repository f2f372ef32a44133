// Package hf converts between Hugging Face checkpoints (safetensors,
// config.json, tokenizer.json or tokenizer.model, tokenizer_config.json) and
// GGUF, in both directions, for the architectures the model package runs:
// LlamaForCausalLM and MistralForCausalLM (llama), Qwen2ForCausalLM (qwen2),
// GPT2LMHeadModel (gpt2) and BertModel (bert), and LoRA adapters between
// PEFT's files and llama.cpp's GGUF adapter layout.
//
// Data flows one tensor at a time: Convert reads a checkpoint through
// safetensors (memory-mapped), renames each tensor to its GGUF name, undoes
// what the two layouts disagree on (the Q/K row order of rotary heads,
// GPT-2's transposed Conv1D weights, PyTorch's dimension order) row by row
// into a small buffer, and hands the rows to the GGUF writer. Export is the
// same path backwards. Nothing holds the model twice; a quantized output
// type goes through quant after a float GGUF is written.
//
// The facts followed (tensor names, the rotary permutation, metadata keys,
// which tensors stay F32, the tokenizer's GGUF keys) are those of llama.cpp's
// convert_hf_to_gguf.py and gguf-py/gguf/constants.py; docs/convert.md lists
// where gptgo differs.
package hf
