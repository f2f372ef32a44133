// Package atomicfile writes files so that no reader, and no crash, ever sees
// half of one: the bytes go to a temporary file in the target's directory,
// which is synced and renamed over the target only when the writer commits.
// GGUF files, checkpoints, token shards, data-pipeline outputs and
// vocabularies are all written through it.
package atomicfile
