// Reference: docs/rag.md (usage, figures and the on-disk format); issue #22.

// Package rag is gptgo's knowledge base: files become sections (Load:
// text, Markdown, HTML, CSV, JSONL, source code, DOCX, PDF), sections
// become chunks sized in the embedding model's tokens (Splitter), chunks
// get vectors (an Embedder), and a Store keeps them durable and searchable.
//
// Data flow of an ingest: Ingester.IngestFile → Load → Splitter.Split →
// Embedder.Embed → Store.Put, which appends one checksummed record to the
// write-ahead log and fsyncs it before the document enters memory and the
// indexes (BM25 with CJK bigrams, HNSW over unit vectors). A search runs
// BM25, dense or both fused (fusion.go: by reciprocal rank, or by a convex
// combination of normalised scores). Answering (answer.go)
// numbers the retrieved chunks as sources, tells the model that their text
// is data and not instructions, and checks that the [n] citations of the
// answer point at chunks it was given.
//
// DirStore is the embedded Store: one directory holding meta.json, a
// snapshot and a log, opened by one process at a time. Indexes are rebuilt
// from the documents on open, in document-id order, so that the same
// documents always give the same search results.
package rag
