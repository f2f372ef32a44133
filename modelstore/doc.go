// Package modelstore owns the models directory that `gptgo serve` and the
// model verbs (`gptgo list`, `show`, `rm`, `cp`, `create`) share: a folder of
// GGUF files, one model per file, plus the embedded default model, which is
// always listed as "default:latest".
//
// # Names on disk
//
// A model is named "name:tag" as Ollama names them; "name" alone means
// "name:latest". The name and the tag each match [A-Za-z0-9_][A-Za-z0-9_.-]*
// (at most 80 bytes), never contain "..", a slash or a backslash, so a name
// can never reach outside the directory. The file of a model is
//
//	name.gguf       for name:latest
//	name@tag.gguf   for any other tag
//
// "@" cannot occur in a name or a tag, so every file name maps back to one
// model and every model to one file name. Files whose names do not follow
// this scheme (say "x@latest.gguf", ".hidden.gguf", "a b.gguf") are not
// models and are left alone; so are atomicfile's temporary files. A file
// called default.gguf is shadowed by the embedded default model.
//
// # What a model file carries
//
// One format, GGUF. What an Ollama Modelfile adds to the weights is stored in
// the file's metadata, so that a model is one self-contained file that
// llama.cpp still loads:
//
//	tokenizer.chat_template  the TEMPLATE (a Jinja chat template)
//	gptgo.system             the SYSTEM prompt
//	gptgo.parameters         the PARAMETERs, as an array of "name value" strings in Modelfile order
//
// Create writes such a file from a Modelfile; List and Resolve read them back
// into an Entry. Every write is atomic (internal/atomicfile), so a crash
// never leaves half a model in the directory.
package modelstore
