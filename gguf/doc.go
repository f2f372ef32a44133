// Package gguf reads and writes GGUF files, the one file format of gptgo and
// llama.cpp: typed metadata, tensor infos, and tensor data that stays in the
// memory-mapped file. It validates everything a file controls and computes
// nothing.
package gguf
