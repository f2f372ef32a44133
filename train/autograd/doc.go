// Package autograd is gptgo's gradient tape: coarse Transformer ops (Linear,
// Embedding, AddPositions, RMSNorm, LayerNorm, RoPE, causal GQA Attention,
// Split, SwiGLU, GELU, Add, CrossEntropy; for LoRA, FrozenLinear,
// FrozenEmbedding and AddLoRA in frozen.go), each a forward from package
// kernel and a hand-written backward, recorded in order and run in reverse
// by Backward.
//
// Data flows like this: parameters are Vars made once by NewParam or
// ParamFromTensor (float32
// values and a gradient buffer that persists across micro-batches);
// activations are Vars the ops return, living in buffers the Tape reuses
// step after step (Reset rewinds it, so after the first step a forward and
// backward allocate almost nothing). Backward seeds the loss's gradient and
// calls each op's backward in reverse; every backward ADDS into its inputs'
// gradients, so a Var used twice (tied embeddings, the residual stream)
// collects both contributions. The optimizer (package train) reads Grad.
//
// Memory: Blocks runs a model's layers one after another. With
// SetMemory(Memory{Checkpoint: true}) it keeps only each layer's input
// (optionally in bf16 or f16, Memory.Store) and reruns the layer in the
// backward on a segment of buffers that every layer reuses; the gradients
// are the plain tape's bit for bit (checkpoint.go).
//
// The package sits below model and train: model can build its one forward
// on these ops (gradients switched on by recording, off by NoGrad), and
// train drives it, without an import cycle (docs/training.md).
//
// Legend for shapes (outer axis first; the last axis is contiguous):
//
//	B sequences in a batch   T tokens per sequence   N = B·T rows
//	C model width   R output features of a Linear   V vocabulary   F feed-forward width
//	H query heads   KH key/value heads (H/KH query heads share one)   D head width
//
// A Linear weight is [R, C]: row r holds the weights of output r, which is
// exactly a GGUF F32 tensor with ne = [C, R], so weights move between the
// tape and GGUF files without transposing.
//
// Errors: a shape mismatch, a token or target outside the vocabulary, or a
// non-scalar loss is an error, not a panic. The first one sticks in the
// Tape (ops after it do nothing and return a placeholder) and is returned
// by Err and Backward, so a forward reads like PyTorch without a check per line.
package autograd
