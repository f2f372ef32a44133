// Reference: llama.cpp tools/server (--lora FILE applied to the loaded model for every request); Lester et
// al. 2021 §2 for prompt tuning's virtual tokens, which generate.Session.Run and the batch
// scheduler put in front of each prompt.

package server

import (
	"fmt"

	"github.com/gptgo/gptgo/model"
)

// Adapters are the adapters a model runs with, unmerged, by the model's
// canonical name ("name:tag", modelstore.Entry.Name): LoRA adapters, or
// a prompt- or prefix-tuning adapter whose virtual tokens go in front of
// every prompt (`gptgo serve --lora NAME=FILE[:SCALE]`).
type Adapters map[string][]model.ScaledAdapter

// apply returns m running the adapters of the model called name, or m
// itself when it has none; on error m is closed. A prompt- or
// prefix-tuning adapter's virtual tokens go in front of every prompt on
// both paths: generate.Session.Run puts them there for the sessions, the
// batch scheduler's submit (sched.go) for its sequences.
func (a Adapters) apply(m *model.Model, name string) (*model.Model, error) {
	ads := a[name]
	if len(ads) == 0 {
		return m, nil
	}
	am, err := m.WithAdapters(ads...)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("adapter: %w", err)
	}
	return am, nil
}
