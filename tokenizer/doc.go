// Package tokenizer turns text into token ids and back, the way llama.cpp
// does for the same vocabulary.
//
// It owns three algorithms: SentencePiece BPE (merges by token score, byte
// fallback, the ▁ dummy prefix; LLaMA 1/2, Mistral, Phi-3), byte-level BPE
// (merges by rank over GPT-2's byte-to-character encoding, after a
// pre-tokenizer that cuts the text into words; GPT-2, LLaMA-3, Qwen2,
// DeepSeek, Falcon, StarCoder …) and WordPiece (BERT embedding models).
//
// Data flow of Encode: the text is first partitioned around special tokens
// (control tokens such as <|im_start|> when EncodeOptions.ParseSpecial is
// set, user-defined tokens always); each remaining fragment goes through
// the algorithm; BOS/EOS are added as the vocabulary's metadata says.
// Decode maps each id to its bytes (TokenBytes) and concatenates them;
// StreamDecoder does the same one id at a time and never emits a broken
// UTF-8 sequence.
//
// Vocabularies come from GGUF metadata (FromGGUF, Open), from files of
// other ecosystems (tiktoken ranks, Hugging Face tokenizer.json,
// SentencePiece .model, GPT-2 vocab.json + merges.txt) or from memory (New).
// A Tokenizer is immutable and safe for concurrent use.
//
// The pre-tokenizers are hand-written scanners (pretok.go, presets.go)
// because the upstream regexes use lookahead and Unicode classes that Go's
// regexp lacks; a code-point class table (ucd.go) makes them fast.
package tokenizer
