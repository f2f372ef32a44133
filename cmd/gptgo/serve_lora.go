// Reference: llama.cpp tools/server (--lora FNAME for the served model) and Ollama's Modelfile ADAPTER (an
// adapter bound to one model name).

package main

import (
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/server"
)

// serveAdapters reads each --lora NAME=FILE[:SCALE] of `gptgo serve`: the
// adapter (LoRA or prompt tuning) runs with the model called NAME for
// every request to it. NAME must be a model of the store; the adapter is
// checked against it when the model loads.
func serveAdapters(store *modelstore.Store, specs []string) (server.Adapters, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := server.Adapters{}
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("--lora %q: want MODEL=FILE[:SCALE] (the model the adapter runs with)", spec)
		}
		e, err := store.Resolve(name)
		if err != nil {
			return nil, fmt.Errorf("--lora %q: %w", spec, err)
		}
		ads, err := readAdapters([]string{file}) // lora.go
		if err != nil {
			return nil, fmt.Errorf("--lora %q: %w", spec, err)
		}
		out[e.Name] = append(out[e.Name], ads...)
	}
	return out, nil
}
