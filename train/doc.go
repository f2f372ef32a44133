// Package train drives gptgo's training: the AdamW optimizer with
// per-parameter weight-decay flags, nanoGPT's warmup + cosine learning-rate
// schedule, gradient clipping by global norm, gradient accumulation over
// micro-batches, checkpoints that resume exactly, a loader of training
// windows over token shards (package data's GPTGOTOK format), and Pretrain,
// the loop that puts them together for any Model (its parameters and a
// loss recorded on a tape). SFT runs the same loop (Train) on
// conversations: sftdata.go reads them, sftencode.go renders and tokenizes
// them with the assistant's tokens marked, sftbatch.go packs them, and
// sft.go ties these to the loop.
//
// The gradients come from the tape in train/autograd: a forward built of
// its ops, then Tape.Backward, leaves each parameter's gradient in its Grad
// buffer; a step here reads those buffers and updates the values in place.
// One step of pretraining (what Pretrain does, with evaluation and
// checkpoints around it) reads:
//
//	x, y := loader.Next()                      // [B·T] inputs and next-token targets
//	tape.Reset()
//	loss := forward(tape, x, y)                // the model's ops on the tape
//	tape.Backward(loss, 1)
//	norm, err := train.ClipGradNorm(params, 1) // optional
//	opt.Step(sched.LR(step))
//	opt.ZeroGrad()
//
// Legend (as in autograd): B sequences per batch, T tokens per sequence,
// N = B·T rows, C width, V vocabulary.
package train
