// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the tensors' bytes. Files are memory
// mapped and every header field is checked against the file before a byte
// of data is handed out; a checkpoint split into shards is opened whole
// through its model.safetensors.index.json. The package knows nothing of
// models: it moves named, typed byte ranges (convert/ maps them to GGUF).
package safetensors
