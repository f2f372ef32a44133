// Package data is gptgo's corpus pipeline: it turns raw text, JSON, web
// archives and HTML into clean, de-duplicated, privacy-scrubbed documents and
// then into token shards for the trainer.
//
// Data flow:
//
//	files ──Read──▶ Doc stream ──▶ Stage … Stage ──▶ docs.jsonl, shards, report.json
//	(txt, jsonl, json, gzip, WARC/WET, HTML)
//
// A Stage is plain functions over one document: Map runs on every core, Seq
// runs in input order and owns cross-document state (a Bloom filter, an LSH
// index, a shard writer), and Count asks for a first pass (two-pass line
// de-duplication). Pipeline batches documents, runs Map steps in parallel,
// restores order before each Seq step and tallies documents and bytes in and
// out of every stage with the reason each dropped document was dropped.
//
// The stages, in their default order: exact_dedup (hash of normalised text
// in a Bloom filter), language (whatlang trigram profiles), line_dedup
// (repeated lines or paragraphs across the corpus), quality (Gopher and C4
// rules, Chinese counted in characters), minhash (MinHash + banded LSH),
// pii (typed placeholders), tokenize (GPTGOTOK shards, see shard.go).
// Config holds every option; DefaultConfig shows every default.
// docs/data.md describes the formats and how the stages map onto a
// distributed engine; data/beampipe (build tag beam) runs them on Apache
// Beam with the same results.
package data
