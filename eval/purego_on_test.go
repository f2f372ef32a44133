// Reference: golang.org/x/crypto's purego build tag (the plain-Go kernels, no assembly).

//go:build purego

package eval

// pureGo says the kernels are the plain-Go ones, about 50 times slower
// here: the llama.cpp comparisons then run on the embedded default model's
// hand-made files only (the kernel tests check that both builds compute
// the same bits).
const pureGo = true
