// Package eval judges models: a benchmark harness (multiple choice by
// log-likelihood, generation tasks with exact-match, contains, regex and
// final-number scoring), perplexity computed the way llama.cpp's
// llama-perplexity computes it (with its KL-divergence mode), and an arena
// that ranks models from pairwise judgements with online Elo and a fitted
// Bradley–Terry model.
//
// Data flows one way: a task file is read into Items (formats.go), each
// Item's options are tokenized and scored by a Scorer over one model.State,
// which keeps the KV cache of the prefix the options share (scorer.go); the
// per-item results become per-task metrics with standard errors (stats.go).
// The CLI (cmd/gptgo eval, perplexity, arena) only parses flags and prints.
package eval
