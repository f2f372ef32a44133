// Package model is gptgo's decoder-only Transformer: one implementation
// configured per architecture (llama — Llama 1/2/3, Mistral, TinyLlama —,
// qwen2 and gpt2), following llama2.c's layout:
//
//	Config   (config.go)   shapes and switches from the "<arch>.*" GGUF keys
//	Weights  (weights.go)  read-only, bound by GGUF name, memory-mapped
//	State    (state.go)    one conversation: KV cache and buffers, allocated once
//	forward  (forward.go)  embeddings → L × (norm, attention, norm, FFN) → norm → logits
//	Embed    (embed.go)    the same pass without the head, hidden states pooled into one vector
//
// Data flows from a gguf.File (or any Source of tensors) into a Model, which
// is shared and read-only; each State pushes tokens through it, Batch at a
// time, appending their keys and values to its cache. The arithmetic follows
// llama.cpp's CPU backend (F16 KV cache, queries and attention weights
// rounded to half precision before meeting it, attention sums in its
// kernels' order, ggml's RoPE angles, expf and half-precision GELU) so that
// logits agree with llama.cpp's to a few thousandths on float files and,
// where the weight dot products also match, to the bit on quantized ones.
//
// The zero Options give llama.cpp's defaults: an F16 KV cache (KVF32 asks
// for F32), the model's context up to DefaultCtx, all cores.
//
// Sampling and the generation loop live in package generate.
package model
