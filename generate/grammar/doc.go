// Package grammar constrains generation to a formal language: a JSON
// Schema, free JSON, or a llama.cpp GBNF grammar. It owns no model and no
// sampler; generate asks it, at each step, which tokens may come next.
//
// Data flows in three stages. A front end (ParseGBNF, FromJSONSchema,
// JSONObject) builds Rules: named expressions over code-point classes,
// literals, sequences, alternatives and repetition. Compile flattens them
// into a Grammar, a read-only table of rules whose alternatives are runs of
// elements (a character class, a rule reference, or the end), after
// rejecting left recursion so that every parse step terminates. A Matcher
// is one output's parse state over a Grammar: a set of pushdown stacks (as
// llama.cpp's grammar sampler keeps them), stored as shared, hash-consed
// linked lists so that copying a state is copying a few pointers, plus the
// bytes of an incomplete UTF-8 character. It advances byte by byte.
//
// A Vocab is built once per tokenizer: the exact bytes each token adds to
// the decoded text, in a flat trie laid out in preorder. Matcher.Mask walks
// that trie depth first, advancing a copy of the state one byte per trie
// edge; when a byte is refused, the whole subtree (every token with that
// prefix) is skipped in one jump. End-of-generation tokens are allowed only
// in an accepting state. Masks are cached per parse state, so the long runs
// inside a JSON string, where the state repeats, cost one lookup a step.
package grammar
