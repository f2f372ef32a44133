// Reference: Apache Beam programming guide (beam.apache.org/documentation/programming-guide),
// Go SDK github.com/apache/beam/sdks/v2/go/pkg/beam.

// Package beampipe runs gptgo's corpus pipeline (package data) as an Apache
// Beam pipeline, so that a corpus too big for one machine is cleaned by the
// engines people already operate: prism in-process for development and
// tests, Flink, Spark or Dataflow for a cluster, with their runners' flags.
//
// Everything but this comment is behind the build tag beam (go build -tags
// beam): the Beam SDK and its gRPC, protobuf and cloud clients stay out of
// the default gptgo binary.
//
// Data flow (one Beam transform per line; every stage is the data package's
// per-document function, only the cross-document state becomes a shuffle):
//
//	files ──ParDo(read)──▶ Doc{Seq} ──▶ stages in the config's order:
//	  language, quality, pii   ParDo calling data's Map functions
//	  exact_dedup              GroupByKey(data.ExactHash); the smallest Seq of a key is kept
//	  line_dedup               (unit hash → Seq, unit) GroupByKey; later (mode first) or all
//	                           (mode all) copies CoGroupByKey'd back to their documents
//	  minhash                  (band, data.MinHashOptions.BandKey) GroupByKey; members of
//	                           buckets of two or more → one resolver that feeds them, in
//	                           input order, to data.LSH (the local keep rule, exactly)
//	  tokenize                 ParDo(Encode); token counts → one planner (data.ShardCutter)
//	                           → GroupByKey(shard) → each shard written by one worker
//	──▶ docs.jsonl, rejected.jsonl (one writer each, input order), report.json (a Combine)
//
// Seq is a document's position in the input (file index, then record), so
// every decision that the local runner makes by input order is made here by
// Seq after grouping, and the output does not depend on bundle order: the
// same documents are kept and the same shards written, byte for byte.
package beampipe
