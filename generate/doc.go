// Package generate turns a model into text: a Session runs the prefill →
// sample → decode loop over a model.State, remembering which tokens its KV
// cache holds so that the next turn of a chat only prefills what is new.
//
// A Sampler draws each token with llama.cpp's chain: repetition, frequency
// and presence penalties over the last n tokens, then top-k, top-p and
// min-p, then temperature and a seeded draw (temperature ≤ 0 is greedy).
// Generation ends at an end-of-generation token, a stop string (held back
// while streaming, so no part of it is ever shown), MaxTokens, a full
// context, or a cancelled context.Context. A prompt that does not fit the
// context is an error unless the caller opts in to truncation, which
// reports how many tokens it dropped.
package generate
