// Package quant turns a GGUF model into a smaller one: it owns the file
// types (llama.cpp's LLAMA_FTYPE mixes such as Q4_K_M), the per-tensor rules
// that pick each tensor's dtype, and the driver that reads a file, converts
// its tensors with the block quantizers of package tensor, and writes the
// result through gguf.WriteFile.
//
// Data flows: gguf.File → Plan (one dtype per tensor, in llama.cpp's tensor
// order) → per tensor: dequantize to float32 → tensor.Quantize on row ranges
// split across threads → gguf.Write. The rules follow src/llama-quant.cpp
// (llama_tensor_get_type and llama_model_quantize_impl) so that quantizing
// the same input gives the same file as llama-quantize.
package quant
