// Reference: the file formats each loader documents (GGUF, tiktoken,
// Hugging Face tokenizer.json, SentencePiece ModelProto).

package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer from path, choosing the reader by the file's name:
// *.tiktoken (named after its encoding: cl100k_base.tiktoken …),
// *.json (Hugging Face tokenizer.json), *.model (SentencePiece), *.bin
// (llama2.c tokenizer.bin), anything else as GGUF.
func Load(path string) (*Tokenizer, error) {
	name := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasSuffix(name, ".tiktoken"):
		return loadTiktokenFile(path, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	case strings.HasSuffix(name, ".json"):
		return loadHFFile(path)
	case strings.HasSuffix(name, ".model"):
		return loadSPModelFile(path)
	case strings.HasSuffix(name, ".bin"):
		return loadLlama2cFile(path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return Open(path)
}
