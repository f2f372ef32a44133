// Command gptgo is the whole GPT stack in one binary: inspect and quantize
// GGUF files, run and chat with models, and (as the project grows) train,
// serve and build on them. `gptgo help` lists the commands.
//
// This is the only package that reads flags and the environment, prints
// progress and exits; every command is a function from arguments to error.
//
// See README.md for the quick start and the CLI reference, and
// docs/architecture.md for how the packages fit together.
package main
