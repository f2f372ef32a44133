// Package tensor owns gptgo's element types and block formats: DType with
// GGML's numbering, the exact byte layout of every quantized block, quantize
// and dequantize with llama.cpp's reference algorithms, and the registry
// (Format) that ties each type to its dot-product kernel.
//
// Data flows in from gguf (raw bytes and a DType) and out to model, which
// multiplies weights by activations through the kernels registered here.
package tensor
